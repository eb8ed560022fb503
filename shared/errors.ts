/**
 * Typed errors. Every error Switchboard raises carries a stable `code`
 * (`SWB_ERR_<AREA>_<WHAT>`) so callers and tests match on codes, never on text.
 * Throw only for programmer errors, bad config and bad wire input at a boundary;
 * expected hot-path failures (client gone, unknown id) are FSM events and log lines.
 */
export class SwitchboardError extends Error {
  readonly code: string
  constructor (code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** Malformed bytes on a wire: netstrings, tnetstrings, requests, replies. */
export class ProtocolError extends SwitchboardError {
  /** Byte offset in the input where the problem was found. */
  readonly offset: number
  constructor (code: string, message: string, offset = 0) {
    super(code, message)
    this.offset = offset
  }
}

/** A config file or environment variable that breaks a rule; `problems` lists every one found. */
export class ConfigError extends SwitchboardError {
  readonly problems: readonly string[]
  constructor (problems: readonly string[]) {
    super('SWB_ERR_CONFIG_INVALID', `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`)
    this.problems = problems
  }
}

/** A handler's reply or response that cannot be written to the client (answered with 502). */
export class ResponseError extends SwitchboardError {}

/** uWebSockets.js native binary missing or the slow fallback requested. */
export class NativeLoadError extends SwitchboardError {}
