import test from 'ava'
import { ProtocolError, SwitchboardError } from '../../../shared/errors.js'
import { encodeReply, parseReply } from '../../../shared/protocol/reply.js'

const b = (s: string): Buffer => Buffer.from(s, 'latin1')
const kUuid = '5a9a6354-fc33-4468-8ccd-5d736737dad7'
const kBareUuid = '5a9a6354fc3344688ccd5d736737dad7'

// Golden vectors from Mongrel2's tests/handler_parser_tests.c (TEST: must parse with N targets).
const accepted: Array<[string, number[], string, string]> = [
  [`${kUuid} 2:12, The body`, [12], 'The body', 'T1'],
  [`${kUuid} 11:0 1 2 3 4 5, The body`, [0, 1, 2, 3, 4, 5], 'The body', 'T2'],
  [`${kUuid} 5:12 34, Another body.`, [12, 34], 'Another body.', 'T3'],
  [`${kBareUuid} 5:12 34, `, [12, 34], '', 'EMPTY']
]
for (const [input, ids, body, name] of accepted) {
  test(`parses Mongrel2 vector ${name}`, (t) => {
    const msg = b(input)
    const reply = parseReply(msg)
    t.deepEqual(reply.ids, ids)
    t.is(reply.body.toString('latin1'), body)
    t.is(reply.sender.toString('latin1'), input.slice(0, input.indexOf(' ')))
    t.false(reply.extended)
    // views, not copies
    t.is(reply.body.buffer, msg.buffer)
    t.is(reply.sender.buffer, msg.buffer)
  })
}

// TEST_FAIL vectors of the same file, with the error class Switchboard reports.
const rejected: Array<[string, string, string]> = [
  ['this.is.wrong 5:12 34, ', 'SWB_ERR_REPLY_SENDER', 'BAD UUID'],
  [`${kBareUuid} 10:12 34, `, 'SWB_ERR_REPLY_LENGTH', 'TOO LONG NETSTRING'],
  [`${kBareUuid} 3:12 34, `, 'SWB_ERR_REPLY_LENGTH', 'TOO SHORT NETSTRING'],
  [`${kBareUuid} 5:12 34,`, 'SWB_ERR_REPLY_FORMAT', 'NO TRAILING SPACE'],
  [' 5:12 34,', 'SWB_ERR_REPLY_SENDER', 'NO UUID']
]
for (const [input, code, name] of rejected) {
  test(`rejects Mongrel2 vector ${name}`, (t) => {
    const err = t.throws(() => parseReply(b(input)), { instanceOf: ProtocolError, code })
    t.regex(err!.message, /^reply: /)
  })
}

test('the short forms from the brief', (t) => {
  t.deepEqual(parseReply(b('UUID 2:12, body')).ids, [12])
  t.deepEqual(parseReply(b('UUID 11:0 1 2 3 4 5, body')).ids, [0, 1, 2, 3, 4, 5])
  const empty = parseReply(b('UUID 1:1, '))
  t.deepEqual(empty.ids, [1])
  t.is(empty.body.length, 0)
  t.throws(() => parseReply(b('this.is.wrong 1:1, x')), { code: 'SWB_ERR_REPLY_SENDER' })
})

test('length errors say whether the prefix is too long or too short', (t) => {
  t.regex(t.throws(() => parseReply(b('U 10:12 34, x')))!.message, /too long/)
  t.regex(t.throws(() => parseReply(b('U 3:12 34, x')))!.message, /too short/)
})

test('a trailing space inside the id list is allowed (Identifier = digit+ " "?)', (t) => {
  t.deepEqual(parseReply(b('U 6:12 34 , b')).ids, [12, 34])
})

test('the X marker makes an extended reply; LEN counts it', (t) => {
  const reply = parseReply(b('UUID 7:X 1 2 3, 17:3:ctl,5:1:a,0:,}]'))
  t.true(reply.extended)
  t.deepEqual(reply.ids, [1, 2, 3])
  t.is(reply.body.toString('latin1'), '17:3:ctl,5:1:a,0:,}]')
  t.throws(() => parseReply(b('UUID 5:X 1 2 3, x')), { code: 'SWB_ERR_REPLY_LENGTH' })
})

test('128 ids pass with the default limit, 129 are rejected; the limit is configurable', (t) => {
  const list = (n: number) => Array.from({ length: n }, (_, i) => i + 1).join(' ')
  const msg = (n: number) => b(`UUID ${list(n).length}:${list(n)}, x`)
  t.is(parseReply(msg(128)).ids.length, 128)
  const err = t.throws(() => parseReply(msg(129)), { instanceOf: ProtocolError, code: 'SWB_ERR_REPLY_IDS' })
  t.regex(err!.message, /more than 128 ids/)
  t.throws(() => parseReply(msg(3), 2), { code: 'SWB_ERR_REPLY_IDS' })
  t.is(parseReply(msg(300), 300).ids.length, 300)
})

const idErrors: Array<[string, string]> = [
  ['UUID 0:, x', 'zero ids'],
  ['UUID 2:X , x', 'X with no ids'],
  ['UUID 3:1a2, x', 'non-numeric id'],
  ['UUID 5:12  4, x', 'double space'],
  ['UUID 3: 12, x', 'leading space'],
  ['UUID 10:4294967296, x', 'id beyond uint32'],
  ['UUID 1:X, x', 'bare X']
]
for (const [input, what] of idErrors) {
  test(`rejects bad id lists: ${what}`, (t) => {
    t.throws(() => parseReply(b(input)), { instanceOf: ProtocolError, code: 'SWB_ERR_REPLY_IDS' })
  })
}

const formatErrors: Array<[string, string, string]> = [
  ['', 'SWB_ERR_REPLY_SENDER', 'empty frame'],
  ['UUID', 'SWB_ERR_REPLY_SENDER', 'no space after the UUID'],
  ['UU\u00e9D 1:1, x', 'SWB_ERR_REPLY_SENDER', 'non-ASCII UUID byte'],
  ['UUID :1, x', 'SWB_ERR_REPLY_LENGTH', 'missing length digits'],
  ['UUID 1;1, x', 'SWB_ERR_REPLY_LENGTH', 'missing colon'],
  ['UUID 1234567890:1, x', 'SWB_ERR_REPLY_LENGTH', 'ten-digit length'],
  ['UUID 1:1 x', 'SWB_ERR_REPLY_FORMAT', 'no comma at all'],
  ['UUID 1:1,x', 'SWB_ERR_REPLY_FORMAT', 'no space after the comma']
]
for (const [input, code, what] of formatErrors) {
  test(`rejects malformed frames: ${what}`, (t) => {
    t.throws(() => parseReply(b(input)), { instanceOf: ProtocolError, code })
  })
}

test('ids are parsed up to uint32 max', (t) => {
  t.deepEqual(parseReply(b('U 10:4294967295, ')).ids, [4294967295])
})

test('encodeReply writes the grammar parseReply reads', (t) => {
  t.is(encodeReply('UUID', [12, 34], b('hi')).toString('latin1'), 'UUID 5:12 34, hi')
  t.is(encodeReply(b('UUID'), [1], Buffer.alloc(0)).toString('latin1'), 'UUID 1:1, ')
  t.is(encodeReply('UUID', [1, 22, 333], b('x'), true).toString('latin1'), 'UUID 10:X 1 22 333, x')
  const ids = Array.from({ length: 128 }, (_, i) => i * 33_554_431)
  const body = Buffer.from([0, 1, 2, 0x2c, 0x20])
  const reply = parseReply(encodeReply('54c6755b-9628-40a4-9a2d-cc82a816345e', ids, body, true))
  t.deepEqual(reply.ids, ids)
  t.deepEqual(reply.body, body)
  t.true(reply.extended)
  t.is(reply.sender.toString(), '54c6755b-9628-40a4-9a2d-cc82a816345e')
})

test('encodeReply refuses empty or invalid id lists', (t) => {
  t.throws(() => encodeReply('U', [], b('x')), { instanceOf: SwitchboardError, code: 'SWB_ERR_REPLY_IDS' })
  t.throws(() => encodeReply('U', [-1], b('x')), { code: 'SWB_ERR_REPLY_IDS' })
  t.throws(() => encodeReply('U', [1.5], b('x')), { code: 'SWB_ERR_REPLY_IDS' })
})
