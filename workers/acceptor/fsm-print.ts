/**
 * Prints the exchange machine as a diagram:
 *   node --import tsx workers/acceptor/fsm-print.ts dot | dot -Tsvg > exchange.svg
 *   npm run fsm -- mermaid
 */
import { toDot, toMermaid } from '../../shared/fsm/render.js'
import { EXCHANGE } from './exchange-fsm.js'

const kUsage = `usage: node --import tsx workers/acceptor/fsm-print.ts dot|mermaid
  dot      Graphviz DOT (pipe into \`dot -Tsvg\`)
  mermaid  Mermaid stateDiagram-v2
`
const args = process.argv.slice(2)
const format = args[0]

if (args.length === 1 && format === 'dot') process.stdout.write(toDot(EXCHANGE))
else if (args.length === 1 && format === 'mermaid') process.stdout.write(toMermaid(EXCHANGE))
else {
  if (format !== undefined) process.stderr.write(`fsm-print: unknown arguments: ${args.join(' ')}\n`)
  process.stderr.write(kUsage)
  process.exitCode = 2
}
