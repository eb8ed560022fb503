/**
 * The one seam to uWebSockets.js. Loads the native binary for this platform and Node ABI
 * directly and throws if it is missing: the package root would silently fall back to a
 * slow pure-JS shim built on `ws`, which has no cork, pub/sub or backpressure.
 */
import { createRequire } from 'node:module'
import type * as UwsTypes from 'uWebSockets.js'
import { NativeLoadError } from './errors.js'

export type {
  HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket, RecognizedString
} from 'uWebSockets.js'

/** What this build has at runtime but its typings lack. */
export interface UwsExtras {
  LIBUS_LISTEN_EXCLUSIVE_PORT: number
}
export type Uws = typeof UwsTypes & UwsExtras

function load (): Uws {
  const binary = `uWebSockets.js/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`
  if (process.env.UWS_USE_FALLBACK) {
    throw new NativeLoadError('SWB_ERR_UWS_FALLBACK', 'UWS_USE_FALLBACK is set; Switchboard refuses the slow ws-based shim: unset it')
  }
  try {
    return createRequire(import.meta.url)(binary) as Uws
  } catch (cause) {
    throw new NativeLoadError('SWB_ERR_UWS_NATIVE',
      `uWebSockets.js native binary not available (${binary}); this build supports Node 16/18/20 on linux/darwin/win32. Use Node 20.`,
      { cause })
  }
}

export const uws: Uws = load()

/** `app.listen(host, port, options, cb)` and `app.close()` exist at runtime; typed here. */
export interface ListenableApp {
  listen(host: string, port: number, options: number, cb: (socket: UwsTypes.us_listen_socket | false) => void): unknown
  close(): void
}
