/** Contender 1: raw uWS.js answering in-process (the ceiling for any uWS.js front end). */
import { nodeServer } from './node-proc.js'

export const uwsRaw = nodeServer('uws-raw', 'perf/servers/uws-hello.ts')
