// Mongrel2's X extended reply bodies (MONGREL2.md §3.2) as the acceptor reads them.
import test from 'ava'
import { encode } from '../../shared/protocol/tnetstring.js'
import { kCancel, kCredits, kPing, parseExtended } from '../../workers/acceptor/extended.js'

test('ctl keep-alive, cancel (wins over keep-alive), credits', (t) => {
  t.is(parseExtended(encode(['ctl', { 'keep-alive': true }])), kPing)
  t.is(parseExtended(Buffer.from('27:3:ctl,17:10:keep-alive,0:~}]')), kPing)
  t.is(parseExtended(encode(['ctl', { cancel: '' }])), kCancel)
  t.is(parseExtended(encode(['ctl', { 'keep-alive': true, cancel: true }])), kCancel)
  t.is(parseExtended(encode(['ctl', { credits: 1024 }])), kCredits)
  t.is(parseExtended(encode(['ctl', {}])), kCredits)
})

test('anything else is refused with a reason (its connections are closed)', (t) => {
  t.regex(parseExtended(encode(['sendfile', '/etc/passwd'])) as string, /unknown key "sendfile"/)
  t.regex(parseExtended(encode(['ctl', 'keep-alive'])) as string, /not a dict/)
  t.regex(parseExtended(encode(['ctl', ['keep-alive']])) as string, /not a dict/)
  t.regex(parseExtended(encode(['ctl'])) as string, /list of 2/)
  t.regex(parseExtended(encode({ ctl: {} })) as string, /list of 2/)
  t.regex(parseExtended(encode([1, {}])) as string, /key is not a string/)
  t.regex(parseExtended(Buffer.concat([encode(['ctl', {}]), Buffer.from('x')])) as string, /extra bytes/)
  t.is(typeof parseExtended(Buffer.from('12:not a tnet')), 'string')
  t.is(typeof parseExtended(Buffer.alloc(0)), 'string')
})
