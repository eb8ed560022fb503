import test from 'ava'
import { edgesOf, type EdgeInfo, type MachineDef } from '../../../shared/fsm/machine.js'
import { toDot, toMermaid, toText } from '../../../shared/fsm/render.js'

const LAMP = {
  name: 'lamp',
  states: ['Off', 'On', 'Dim', 'Dead', 'Fault'],
  events: ['PRESS', 'TURN', 'UNPLUG'],
  initial: 'Off',
  final: 'Dead',
  error: 'Fault',
  table: {
    Off: { PRESS: ['light', 'On'], UNPLUG: ['unplug', 'Dead'] },
    On: { PRESS: ['dark', 'Off'], TURN: ['dim', 'Dim'] },
    Dim: { TURN: ['dim', 'Dim'], PRESS: ['dark', 'Off'] }
  }
} as const satisfies MachineDef

const kDotEdge = /^ {2}(\w+) -> (\w+) \[label="(\w+) \/ (\w+)"\];$/
const kMermaidEdge = /^ {2}(\w+) --> (\w+) : (\w+) \/ (\w+)$/

/** Reads edge lines back out of a diagram: what a reviewer sees must be the table. */
function parseEdges (text: string, re: RegExp): EdgeInfo[] {
  const out: EdgeInfo[] = []
  for (const line of text.split('\n')) {
    const m = re.exec(line)
    if (m !== null) out.push({ from: m[1]!, to: m[2]!, event: m[3]!, action: m[4]! })
  }
  return out
}

/** The table walked directly, independent of edgesOf. */
function tableEdges (def: MachineDef): EdgeInfo[] {
  const out: EdgeInfo[] = []
  for (const [from, row] of Object.entries(def.table)) {
    for (const [event, edge] of Object.entries(row ?? {})) {
      if (edge !== undefined) out.push({ from, event, action: edge[0], to: edge[1] })
    }
  }
  return out
}

const sortKey = (e: EdgeInfo): string => `${e.from} ${e.event} ${e.action} ${e.to}`
const sorted = (edges: EdgeInfo[]): string[] => edges.map(sortKey).sort()

test('DOT has one edge line per table edge, in table order', t => {
  const dot = toDot(LAMP)
  t.deepEqual(parseEdges(dot, kDotEdge), edgesOf(LAMP))
  t.deepEqual(sorted(parseEdges(dot, kDotEdge)), sorted(tableEdges(LAMP)))
  t.is(parseEdges(dot, kDotEdge).length, 6)
})

test('DOT marks the initial, final and error states and is one closed digraph', t => {
  const lines = toDot(LAMP).trimEnd().split('\n')
  t.is(lines[0], '// lamp: 5 states, 3 events, 6 edges')
  t.is(lines[1], 'digraph lamp {')
  t.is(lines.at(-1), '}')
  t.true(lines.includes('  __initial -> Off;'))
  t.true(lines.includes('  Dead [shape=doublecircle];'))
  t.true(lines.includes('  Fault [style="rounded,dashed", label="Fault\\n(any unlisted event)"];'))
  // every statement inside the graph ends with ';'
  for (const line of lines.slice(2, -1)) t.regex(line, /;$/)
})

test('Mermaid has one edge line per table edge, in table order', t => {
  const md = toMermaid(LAMP)
  t.deepEqual(parseEdges(md, kMermaidEdge), edgesOf(LAMP))
  t.deepEqual(sorted(parseEdges(md, kMermaidEdge)), sorted(tableEdges(LAMP)))
})

test('Mermaid is a stateDiagram-v2 with entry and exit markers and the error note', t => {
  const lines = toMermaid(LAMP).trimEnd().split('\n')
  t.is(lines[0], '%% lamp: 5 states, 3 events, 6 edges')
  t.is(lines[1], 'stateDiagram-v2')
  t.is(lines[2], '  [*] --> Off')
  t.true(lines.includes('  Dead --> [*]'))
  t.true(lines.includes('  note right of Fault : entered on any (state, event) pair not in the table'))
  // no edge leaves the final or the error state
  t.false(lines.some(l => /^ {2}(Dead|Fault) --> \w/.test(l)))
})

test('rendering refuses an invalid definition', t => {
  const bad = { ...LAMP, table: { Off: { PRESS: ['light', 'Nowhere'] } } } as unknown as MachineDef
  t.throws(() => toDot(bad), { code: 'SWB_ERR_FSM_DEFINITION' })
  t.throws(() => toMermaid(bad), { code: 'SWB_ERR_FSM_DEFINITION' })
})

test('toText: a header naming initial, final and error states, then one row per edge of the table', (t) => {
  const text = toText(LAMP)
  const lines = text.trimEnd().split('\n')
  t.is(lines[0], 'lamp: 5 states, 3 events, 6 edges; starts in Off, ends in Dead; any (state, event) pair not listed goes to Fault')
  t.regex(lines[2]!, /^from\s+event\s+action\s+to$/)
  const rows = lines.slice(3).map((l) => l.split(/\s+/)).map(([from, event, action, to]) => ({ from: from!, event: event!, action: action!, to: to! }))
  t.deepEqual(rows, edgesOf(LAMP))
  // Columns line up: every row's event starts where the header's does.
  const at = lines[2]!.indexOf('event')
  for (const l of lines.slice(3)) {
    t.is(l[at - 1], ' ')
    t.not(l[at], ' ')
  }
})
