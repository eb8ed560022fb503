/**
 * Switchboard configuration: embedded defaults, one optional file, SWITCHBOARD_* env
 * overrides, validation that reports every problem, a deep-frozen result.
 * Reference: docs/configuration.md.
 *
 * @example
 * import { loadConfig } from '../shared/config/index.js'
 * const config = await loadConfig()   // exits the caller's way on ConfigError
 */
export type {
  AcceptorConfig, BrokerConfig, Config, ConfigInput, HandlerConfig, HeaderProtocol, HostConfig,
  RouteConfig, RouteInput, ServiceConfig
} from './types.js'
export { defaults, kDefaultRouteTimeoutMs } from './defaults.js'
export { validateConfig, type ConfigSources } from './validate.js'
export {
  envOverrides, loadConfig, resolveConfig, serviceEnvPrefix, serviceEnvSuffixes,
  type EnvOverride, type LoadOptions
} from './load.js'
