/**
 * Prints a machine definition as a diagram, from the same data the machine compiles:
 * Graphviz DOT (`| dot -Tsvg`) or Mermaid `stateDiagram-v2` (renders on GitHub).
 * Every edge is one line, labelled `EVENT / action`; the initial state gets an entry
 * arrow, the final state is marked, and the error state is drawn apart with a note
 * (it has no edges: any pair the table lacks leads to it).
 */
import { edgesOf, MachineDefError, validateMachine, type MachineDef } from './machine.js'

function check (def: MachineDef): void {
  // Names are identifiers once valid, so nothing below needs escaping.
  const problems = validateMachine(def)
  if (problems.length > 0) throw new MachineDefError(String(def.name), problems)
}

function summary (def: MachineDef): string {
  return `${def.name}: ${def.states.length} states, ${def.events.length} events, ${edgesOf(def).length} edges`
}

/** Graphviz DOT; edge lines read `  From -> To [label="EVENT / action"];`. */
export function toDot (def: MachineDef): string {
  check(def)
  const lines = [
    `// ${summary(def)}`,
    `digraph ${def.name} {`,
    '  rankdir=LR;',
    '  node [shape=box, style=rounded, fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=10];',
    '  __initial [shape=point, label=""];',
    `  __initial -> ${def.initial};`,
    `  ${def.final} [shape=doublecircle];`,
    `  ${def.error} [style="rounded,dashed", label="${def.error}\\n(any unlisted event)"];`
  ]
  for (const e of edgesOf(def)) lines.push(`  ${e.from} -> ${e.to} [label="${e.event} / ${e.action}"];`)
  lines.push('}')
  return lines.join('\n') + '\n'
}

/** Mermaid stateDiagram-v2; edge lines read `  From --> To : EVENT / action`. */
export function toMermaid (def: MachineDef): string {
  check(def)
  const lines = [
    `%% ${summary(def)}`,
    'stateDiagram-v2',
    `  [*] --> ${def.initial}`
  ]
  for (const e of edgesOf(def)) lines.push(`  ${e.from} --> ${e.to} : ${e.event} / ${e.action}`)
  lines.push(
    `  ${def.final} --> [*]`,
    `  ${def.error}`,
    `  note right of ${def.error} : entered on any (state, event) pair not in the table`
  )
  return lines.join('\n') + '\n'
}

/** A plain table, one edge a row (`from  event  action  to`), for reading in a terminal. */
export function toText (def: MachineDef): string {
  check(def)
  const rows = [['from', 'event', 'action', 'to'], ...edgesOf(def).map((e) => [e.from, e.event, e.action, e.to])]
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)))
  const lines = [
    `${summary(def)}; starts in ${def.initial}, ends in ${def.final}; any (state, event) pair not listed goes to ${def.error}`,
    '',
    ...rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  '))
  ]
  return lines.join('\n') + '\n'
}
