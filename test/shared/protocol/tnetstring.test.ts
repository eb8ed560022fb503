import test from 'ava'
import { ProtocolError, SwitchboardError } from '../../../shared/errors.js'
import { decode, decodeBytes, encode, type TnetValue } from '../../../shared/protocol/tnetstring.js'

const b = (s: string): Buffer => Buffer.from(s, 'latin1')
const enc = (v: TnetValue): string => encode(v).toString('latin1')

test('encode: scalars', (t) => {
  t.is(enc('hello'), '5:hello,')
  t.is(enc(''), '0:,')
  t.is(enc(b('\x00,:')), '3:\x00,:,')
  t.is(enc(42), '2:42#')
  t.is(enc(-7), '2:-7#')
  t.is(enc(0), '1:0#')
  t.is(enc(2.5), '3:2.5^')
  t.is(enc(true), '4:true!')
  t.is(enc(false), '5:false!')
  t.is(enc(null), '0:~')
})

test('encode: UTF-8 strings count bytes', (t) => {
  t.deepEqual(encode('héllo'), Buffer.from('6:héllo,'))
})

test('encode: containers (control-port style request)', (t) => {
  // Mongrel2's control port takes [command, {args}]
  t.is(enc(['status', { what: 'net' }]), '26:6:status,13:4:what,3:net,}]')
  t.is(enc({ a: [1, 'x'] }), '15:1:a,8:1:1#1:x,]}')
  t.is(enc([]), '0:]')
  t.is(enc({}), '0:}')
  // dict keys keep insertion order; undefined members are skipped like JSON does
  t.is(enc({ z: 1, a: 2, u: undefined } as unknown as TnetValue), '16:1:z,1:1#1:a,1:2#}')
})

test('encode: refuses values tnetstrings cannot hold', (t) => {
  t.throws(() => encode(NaN), { instanceOf: SwitchboardError, code: 'SWB_ERR_TNETSTRING_VALUE' })
  t.throws(() => encode([Infinity]), { code: 'SWB_ERR_TNETSTRING_VALUE' })
  t.throws(() => encode((() => 1) as unknown as TnetValue), { code: 'SWB_ERR_TNETSTRING_VALUE' })
  const cyclic: TnetValue[] = []
  cyclic.push(cyclic)
  t.throws(() => encode(cyclic), { code: 'SWB_ERR_TNETSTRING_VALUE' })
})

test('decode: every type', (t) => {
  t.deepEqual(decode(b('5:hello,')), { value: 'hello', end: 8 })
  t.is(decode(b('2:42#')).value, 42)
  t.is(decode(b('3:-42#')).value, -42)
  t.is(decode(b('3:2.5^')).value, 2.5)
  t.is(decode(b('4:1e-3^')).value, 0.001)
  t.true(Number.isNaN(decode(b('3:nan^')).value))
  t.is(decode(b('4:-inf^')).value, -Infinity)
  t.is(decode(b('4:true!')).value, true)
  t.is(decode(b('5:false!')).value, false)
  t.is(decode(b('0:~')).value, null)
  t.deepEqual(decode(b('26:6:status,13:4:what,3:net,}]')).value, ['status', { what: 'net' }])
  t.deepEqual(decode(Buffer.from('6:héllo,')).value, 'héllo')
})

test('decode: starts at an offset and reports the end', (t) => {
  const buf = b('junk1:a,2:bc,')
  const first = decode(buf, 4)
  t.deepEqual(first, { value: 'a', end: 8 })
  t.deepEqual(decode(buf, first.end), { value: 'bc', end: buf.length })
})

test('decodeBytes: string values are Buffer views, keys stay strings', (t) => {
  const buf = b('16:1:k,2:\xff\x00,1:l,0:]}')
  const { value } = decodeBytes(buf)
  const dict = value as { k: Buffer, l: TnetValue[] }
  t.deepEqual(Object.keys(dict), ['k', 'l'])
  t.true(Buffer.isBuffer(dict.k))
  t.deepEqual([...dict.k], [0xff, 0])
  t.is(dict.k.buffer, buf.buffer)
})

test('round trip of a nested value', (t) => {
  const value: TnetValue = { name: 'switchboard', n: 3, ok: true, none: null, list: ['a', -1, 1.25, [{ deep: 'é' }]], empty: {} }
  t.deepEqual(decode(encode(value)).value, value)
})

test('decode: a "__proto__" key is an own property, not a prototype change', (t) => {
  // a computed key makes an own "__proto__" property, so the encoder writes it like any key
  const wire = encode({ ['__proto__']: { polluted: 'yes' } } as unknown as TnetValue)
  t.is(wire.toString('latin1'), '33:9:__proto__,17:8:polluted,3:yes,}}')
  const dict = decode(wire).value as Record<string, unknown>
  t.is(Object.getPrototypeOf(dict), Object.prototype)
  t.deepEqual(Object.keys(dict), ['__proto__'])
  t.is((dict as { polluted?: unknown }).polluted, undefined)
  t.deepEqual(Object.getOwnPropertyDescriptor(dict, '__proto__')?.value, { polluted: 'yes' })
})

const errors: Array<[string, string, string]> = [
  ['5:hello?', 'SWB_ERR_TNETSTRING_TYPE', 'unknown tag'],
  ['2:4x#', 'SWB_ERR_TNETSTRING_INT', 'bad int'],
  ['0:#', 'SWB_ERR_TNETSTRING_INT', 'empty int'],
  ['1:-#', 'SWB_ERR_TNETSTRING_INT', 'bare minus'],
  ['17:99999999999999999#', 'SWB_ERR_TNETSTRING_INT', 'unsafe int'],
  ['3:1.x^', 'SWB_ERR_TNETSTRING_FLOAT', 'bad float'],
  ['0:^', 'SWB_ERR_TNETSTRING_FLOAT', 'empty float'],
  ['4:True!', 'SWB_ERR_TNETSTRING_BOOL', 'capitalised bool'],
  ['1:1!', 'SWB_ERR_TNETSTRING_BOOL', 'numeric bool'],
  ['1:x~', 'SWB_ERR_TNETSTRING_NULL', 'non-empty null'],
  ['8:1:1#1:a,}', 'SWB_ERR_TNETSTRING_DICT', 'int key'],
  ['4:1:a,}', 'SWB_ERR_TNETSTRING_DICT', 'key without value'],
  ['6:5:abc,]', 'SWB_ERR_TNETSTRING_SHORT', 'child overruns its container'],
  ['01:a,', 'SWB_ERR_TNETSTRING_LENGTH', 'leading zero'],
  ['x:a,', 'SWB_ERR_TNETSTRING_LENGTH', 'non-digit length'],
  ['3:ab', 'SWB_ERR_TNETSTRING_SHORT', 'truncated']
]
for (const [input, code, what] of errors) {
  test(`decode rejects: ${what}`, (t) => {
    const err = t.throws(() => decode(b(input)), { instanceOf: ProtocolError, code })
    t.regex(err!.message, /^tnetstring: /)
  })
}

test('decode: hostile nesting fails as a ProtocolError, not a stack overflow', (t) => {
  let s = '0:]'
  for (let i = 0; i < 200; i++) s = `${s.length}:${s}]`
  t.throws(() => decode(b(s)), { instanceOf: ProtocolError, code: 'SWB_ERR_TNETSTRING_DEPTH' })
  let ok = '0:]'
  for (let i = 0; i < 50; i++) ok = `${ok.length}:${ok}]`
  t.notThrows(() => decode(b(ok)))
})
