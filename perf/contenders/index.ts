/**
 * Every contender, in table order. Add one by writing a `Contender` object and listing it
 * here; its `name` is what `ONLY=` selects and what the ratio anchors refer to.
 */
import type { Contender } from '../lib/contender.js'
import { mongrel2 } from './mongrel2.js'
import { nodeHttp } from './node-http.js'
import { sbM2, sbTs1, sbTs2 } from './switchboard.js'
import { uwsRaw } from './uws-raw.js'

export const contenders: readonly Contender[] = [
  uwsRaw,
  nodeHttp,
  mongrel2,
  sbM2,
  sbTs1,
  sbTs2
]
