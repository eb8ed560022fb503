/** Contender 2: node:http answering in-process (what a Node user would run instead). */
import { nodeServer } from './node-proc.js'

export const nodeHttp = nodeServer('node-http', 'perf/servers/node-http-hello.ts')
