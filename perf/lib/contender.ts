/**
 * The one interface every benchmark contender implements. Adding a contender is one
 * object in `perf/contenders/<name>.ts` plus one line in `perf/contenders/index.ts`.
 *
 * ```ts
 * export const myContender: Contender = {
 *   name: 'my-server',
 *   async start () {
 *     const port = await freePort()
 *     const proc = spawnProc('my-server', process.execPath, ['--import', 'tsx', 'x.ts'], { PORT: String(port) })
 *     const url = `http://127.0.0.1:${port}/`
 *     await waitForHello(url, 10_000, [proc]).catch(async (err) => { await proc.stop(); throw err })
 *     return { url, pids: { server: proc.pid }, stop: () => proc.stop() }
 *   }
 * }
 * ```
 */

/** A running contender: where to send load, which processes to sample, how to end it. */
export interface Started {
  /** e.g. `http://127.0.0.1:PORT/`; must answer `200` with the 12-byte body `Hello World\n`. */
  url: string
  /** Process role → PID; the CPU of each is sampled from /proc/<pid>/stat during every wrk run. */
  pids: Record<string, number>
  /** Stops every process by PID and removes temp files; must not throw on processes already gone. */
  stop(): Promise<void>
}

export interface Contender {
  /** Short kebab-case name: table row label and `ONLY=` filter key. */
  name: string
  /** Starts fresh processes and resolves once the contender answers correctly. */
  start(): Promise<Started>
}
