/**
 * Prints the exchange machine: a table by default, or a diagram:
 *   npm run fsm                       # text table, one edge a row
 *   npm run fsm -- mermaid            # Mermaid stateDiagram-v2 (renders on GitHub)
 *   npm run fsm -- dot | dot -Tsvg > exchange.svg
 */
import { toDot, toMermaid, toText } from '../../shared/fsm/render.js'
import { EXCHANGE } from './exchange-fsm.js'

const kUsage = `usage: npm run fsm [-- text|mermaid|dot]
  text     a table of every edge: from, event, action, to (the default)
  mermaid  Mermaid stateDiagram-v2 (paste into a GitHub comment or mermaid.live)
  dot      Graphviz DOT (pipe into \`dot -Tsvg > exchange.svg\`)
`
const args = process.argv.slice(2)
const format = args.length === 0 ? 'text' : args[0]

if (args.length <= 1 && format === 'text') process.stdout.write(toText(EXCHANGE) + `\n${kUsage}`)
else if (args.length === 1 && format === 'dot') process.stdout.write(toDot(EXCHANGE))
else if (args.length === 1 && format === 'mermaid') process.stdout.write(toMermaid(EXCHANGE))
else if (args.length === 1 && (format === '--help' || format === '-h')) process.stdout.write(kUsage)
else {
  process.stderr.write(`fsm-print: unknown arguments: ${args.join(' ')}\n${kUsage}`)
  process.exitCode = 2
}
