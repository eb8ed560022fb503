import test from 'ava'
import { ProtocolError } from '../../../shared/errors.js'
import { decimalLength, decode, encode, encodedLength, write, writeDecimal } from '../../../shared/protocol/netstring.js'

const b = (s: string): Buffer => Buffer.from(s, 'latin1')

test('encode writes LEN:BYTES, with the byte length', (t) => {
  t.is(encode(b('hello world!')).toString('latin1'), '12:hello world!,')
  t.is(encode(Buffer.alloc(0)).toString('latin1'), '0:,')
  // "é" is 2 bytes in UTF-8: LEN counts bytes, not characters
  t.deepEqual(encode(Buffer.from('é')), Buffer.from('2:é,'))
})

test('encodedLength counts prefix, payload and terminator', (t) => {
  t.is(encodedLength(0), 3)
  t.is(encodedLength(9), 12)
  t.is(encodedLength(10), 14)
  t.is(encodedLength(123456), 6 + 1 + 123456 + 1)
  for (const n of [0, 1, 9, 10, 99, 100, 12345]) t.is(encode(Buffer.alloc(n)).length, encodedLength(n))
})

test('write places the netstring at an offset and returns the offset after it', (t) => {
  const buf = Buffer.alloc(12, 0x2e)
  const end = write(buf, 2, b('abc'))
  t.is(end, 2 + 6)
  t.is(buf.toString('latin1'), '..3:abc,....')
})

test('decimal helpers agree with String()', (t) => {
  const buf = Buffer.alloc(16)
  for (const n of [0, 7, 10, 99, 100, 65535, 999999999, 1000000000, 4294967295]) {
    t.is(decimalLength(n), String(n).length)
    const end = writeDecimal(buf, 3, n)
    t.is(buf.toString('latin1', 3, end), String(n))
  }
})

test('decode returns a view and the offset after the comma', (t) => {
  const buf = b('xx5:hello,0:,')
  const first = decode(buf, 2)
  t.is(first.value.toString(), 'hello')
  t.is(first.end, 10)
  // a view, not a copy
  t.is(first.value.buffer, buf.buffer)
  buf[4] = 0x48
  t.is(first.value.toString(), 'Hello')
  const second = decode(buf, first.end)
  t.is(second.value.length, 0)
  t.is(second.end, buf.length)
})

test('decode round-trips binary payloads', (t) => {
  const payload = Buffer.from([0, 1, 0x2c, 0x3a, 255, 0x20])
  const { value, end } = decode(encode(payload))
  t.deepEqual(value, payload)
  t.is(end, encodedLength(payload.length))
})

const lengthCases: Array<[string, string]> = [
  ['01:a,', 'leading zero'],
  ['00:,', 'double zero'],
  ['a:', 'non-digit'],
  [':,', 'empty length'],
  ['-1:a,', 'negative'],
  [' 1:a,', 'leading space'],
  ['1234567890:', 'ten digits'],
  ['1x:a,', 'junk after digit']
]
for (const [input, what] of lengthCases) {
  test(`decode rejects a bad length prefix: ${what}`, (t) => {
    const err = t.throws(() => decode(b(input)), { instanceOf: ProtocolError, code: 'SWB_ERR_NETSTRING_LENGTH' })
    t.regex(err!.message, /LEN must be 1-9 ASCII digits/)
  })
}

const shortCases: Array<[string, string]> = [
  ['', 'empty input'],
  ['12', 'input ends in the prefix'],
  ['5:abc', 'payload cut'],
  ['3:abc', 'terminator missing at the end'],
  ['999999999:abc', 'nine-digit length with little data']
]
for (const [input, what] of shortCases) {
  test(`decode reports a short input: ${what}`, (t) => {
    t.throws(() => decode(b(input)), { instanceOf: ProtocolError, code: 'SWB_ERR_NETSTRING_SHORT' })
  })
}

test('decode rejects a missing terminator', (t) => {
  const err = t.throws(() => decode(b('3:abcd')), { instanceOf: ProtocolError, code: 'SWB_ERR_NETSTRING_TERMINATOR' })
  t.is((err as ProtocolError).offset, 5)
  t.throws(() => decode(b('0:x')), { code: 'SWB_ERR_NETSTRING_TERMINATOR' })
})

test('decode reports the offset of the bad prefix', (t) => {
  const err = t.throws(() => decode(b('2:ab,01:x,'), 5), { instanceOf: ProtocolError })
  t.is((err as ProtocolError).offset, 5)
})
