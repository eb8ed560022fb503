import test from 'ava'
import { ProtocolError } from '../../../shared/errors.js'
import { encodeZmqItem, parseHttpBody, parseItem, parseZmqMessage } from '../../../shared/protocol/pushpin.js'
import type { PublishItem } from '../../../shared/protocol/publish.js'
import { encode } from '../../../shared/protocol/tnetstring.js'

const b = (s: string): Buffer => Buffer.from(s)
const body = (doc: unknown): Buffer => b(JSON.stringify(doc))

// Messages Debian's pushpin-publish 1.36 sent to a PULL socket (`--spec tcp://…`), byte for byte.
const kPushpinPublish = {
  plain: '155:7:channel,3:ch1,7:formats,124:11:http-stream,19:7:content,6:hello\n,}13:http-response,29:4:body,6:hello\n,4:code,3:200#}10:ws-message,18:7:content,5:hello,}}}',
  ids: '196:7:prev-id,2:a0,2:id,2:a1,7:channel,3:ch2,7:formats,140:10:ws-message,14:7:content,1:c,}11:http-stream,15:7:content,2:c\n,}13:http-response,53:4:body,2:c\n,4:code,3:201#7:headers,14:10:3:X-A,1:b,]]}}}',
  close: '101:7:channel,3:ch3,7:formats,71:10:ws-message,17:6:action,5:close,}11:http-stream,17:6:action,5:close,}}}',
  hint: '137:7:formats,106:11:http-stream,16:6:action,4:hint,}13:http-response,16:6:action,4:hint,}10:ws-message,16:6:action,4:hint,}}7:channel,3:ch4,}',
  meta: '182:7:formats,110:10:ws-message,14:7:content,1:x,}11:http-stream,14:7:content,1:x,}13:http-response,24:4:code,3:200#4:body,1:x,}}7:channel,3:ch5,6:no-seq,4:true!4:meta,14:6:sender,2:me,}}'
}

function item (over: Partial<PublishItem>): PublishItem {
  return { channel: 'c', id: null, prevId: null, httpResponse: null, httpStream: null, wsMessage: null, ...over }
}

test('pushpin-publish 1.36 messages (bare tnetstrings) parse into items', (t) => {
  t.deepEqual(parseZmqMessage([b(kPushpinPublish.plain)]), item({
    channel: 'ch1',
    httpResponse: { code: 200, reason: '', headers: [], body: b('hello\n') },
    httpStream: { content: b('hello\n'), close: false },
    wsMessage: { content: b('hello'), binary: false, close: false, code: 0 }
  }))
  const ids = parseZmqMessage([b(kPushpinPublish.ids)])
  t.is(ids.id, 'a1')
  t.is(ids.prevId, 'a0')
  t.deepEqual(ids.httpResponse, { code: 201, reason: '', headers: [['X-A', 'b']], body: b('c\n') })
  t.deepEqual(parseZmqMessage([b(kPushpinPublish.close)]), item({
    channel: 'ch3', httpStream: { content: Buffer.alloc(0), close: true }, wsMessage: { content: Buffer.alloc(0), binary: false, close: true, code: 0 }
  }))
  t.is(parseZmqMessage([b(kPushpinPublish.meta)]).channel, 'ch5', 'meta and no-seq are accepted')
  const hint = t.throws(() => parseZmqMessage([b(kPushpinPublish.hint)]), { instanceOf: ProtocolError })
  t.is(hint.code, 'SWB_ERR_PUSHPIN_ITEM')
  t.regex(hint.message, /formats\.http-response\.action "hint" is not supported/)
})

test("'T' + tnetstring and 'J' + JSON messages parse too; encodeZmqItem round-trips", (t) => {
  const it = item({
    channel: 'room', id: '2', prevId: '1',
    httpResponse: { code: 202, reason: 'Fine', headers: [['A', '1'], ['A', '2']], body: b('r') },
    httpStream: { content: Buffer.from([0, 255]), close: false },
    wsMessage: { content: Buffer.from([1, 2]), binary: true, close: false, code: 0 }
  })
  const bare = encodeZmqItem(it)
  t.deepEqual(parseZmqMessage([bare]), it)
  t.deepEqual(parseZmqMessage([Buffer.concat([b('T'), bare])]), it)
  const closing = item({ wsMessage: { content: Buffer.alloc(0), binary: false, close: true, code: 4001 }, httpStream: { content: Buffer.alloc(0), close: true } })
  t.deepEqual(parseZmqMessage([encodeZmqItem(closing)]), closing)
  const json = parseZmqMessage([b('J' + JSON.stringify({ channel: 'j', formats: { 'ws-message': { 'content-bin': Buffer.from('hi').toString('base64') } } }))])
  t.deepEqual(json.wsMessage, { content: b('hi'), binary: true, close: false, code: 0 })
})

test('HTTP items: defaults, body-bin/content-bin as base64, object headers, top-level formats', (t) => {
  const [a, c] = parseHttpBody(body({
    items: [
      { channel: 'x', formats: { 'http-response': { body: 'hi' }, 'http-stream': { 'content-bin': 'AAE=' }, 'ws-message': { content: 'm', type: 'binary' } } },
      { channel: 'y', id: 'i', 'http-response': { 'body-bin': 'aGk=', headers: { 'Content-Type': 'text/plain' }, code: 404 } }
    ]
  }))
  t.deepEqual(a, item({
    channel: 'x',
    httpResponse: { code: 200, reason: '', headers: [], body: b('hi') },
    httpStream: { content: Buffer.from([0, 1]), close: false },
    wsMessage: { content: b('m'), binary: true, close: false, code: 0 }
  }))
  t.deepEqual(c, item({ channel: 'y', id: 'i', httpResponse: { code: 404, reason: '', headers: [['Content-Type', 'text/plain']], body: b('hi') } }))
  t.deepEqual(parseHttpBody(body({ items: [] })), [])
})

test('what @fanoutio/grip exports parses: close with empty content, ws close with a code', (t) => {
  const [s, w] = parseHttpBody(body({
    items: [
      { channel: 'a', formats: { 'http-stream': { action: 'close', content: '' } } },
      { channel: 'b', formats: { 'ws-message': { action: 'close', code: 1001 } } }
    ]
  }))
  t.deepEqual(s!.httpStream, { content: Buffer.alloc(0), close: true })
  t.deepEqual(w!.wsMessage, { content: Buffer.alloc(0), binary: false, close: true, code: 1001 })
})

const kBad: Array<[string, unknown, RegExp]> = [
  ['not an object', 5, /^item must be an object, got 5/],
  ['no channel', { formats: { 'http-stream': { content: 'x' } } }, /^item\.channel is required/],
  ['empty channel', { channel: '', formats: { 'http-stream': { content: 'x' } } }, /^item\.channel must be a non-empty string/],
  ['channel a number', { channel: 3, formats: {} }, /^item\.channel must be a string, got 3/],
  ['id a number', { channel: 'c', id: 1, formats: { 'http-stream': { content: 'x' } } }, /^item\.id must be a string, got 1/],
  ['prev-id a list', { channel: 'c', 'prev-id': [], formats: { 'http-stream': { content: 'x' } } }, /^item\.prev-id must be a string, got a list/],
  ['formats a string', { channel: 'c', formats: 'x' }, /^item\.formats must be an object/],
  ['no formats', { channel: 'c', formats: {} }, /^item\.formats has none of/],
  ['http-response a string', { channel: 'c', formats: { 'http-response': 'x' } }, /^item\.formats\.http-response must be an object/],
  ['code a string', { channel: 'c', formats: { 'http-response': { code: '200', body: '' } } }, /http-response\.code must be an integer, got "200"/],
  ['code 1000', { channel: 'c', formats: { 'http-response': { code: 1000, body: '' } } }, /http-response\.code must be from 0 to 999, got 1000/],
  ['reason a number', { channel: 'c', formats: { 'http-response': { reason: 1, body: '' } } }, /http-response\.reason must be a string/],
  ['headers a string', { channel: 'c', formats: { 'http-response': { headers: 'x', body: '' } } }, /http-response\.headers must be a list of \[name, value\] pairs or an object/],
  ['header a triple', { channel: 'c', formats: { 'http-response': { headers: [['a', 'b', 'c']], body: '' } } }, /http-response\.headers\[0\] must be a \[name, value\] pair/],
  ['header name with a space', { channel: 'c', formats: { 'http-response': { headers: [['a b', 'v']], body: '' } } }, /http-response\.headers\[0\]\[0\] has an invalid header name/],
  ['header value with CRLF', { channel: 'c', formats: { 'http-response': { headers: { A: 'x\r\nB: y' }, body: '' } } }, /http-response\.headers\.A has an invalid header value/],
  ['header value a number', { channel: 'c', formats: { 'http-response': { headers: [['a', 1]], body: '' } } }, /http-response\.headers\[0\]\[1\] must be a string, got 1/],
  ['no body', { channel: 'c', formats: { 'http-response': {} } }, /http-response has no 'body' or 'body-bin'/],
  ['body a number', { channel: 'c', formats: { 'http-response': { body: 1 } } }, /http-response\.body must be a string, got 1/],
  ['body-bin not base64', { channel: 'c', formats: { 'http-response': { 'body-bin': '***' } } }, /http-response\.body-bin is not valid base64/],
  ['body-patch', { channel: 'c', formats: { 'http-response': { 'body-patch': [] } } }, /http-response\.body-patch is not supported/],
  ['http-response hint', { channel: 'c', formats: { 'http-response': { action: 'hint' } } }, /http-response\.action "hint" is not supported/],
  ['http-response close', { channel: 'c', formats: { 'http-response': { action: 'close' } } }, /http-response\.action "close" is not supported/],
  ['unknown action', { channel: 'c', formats: { 'http-stream': { action: 'boom' } } }, /http-stream\.action must be "send" or "close", got "boom"/],
  ['stream without content', { channel: 'c', formats: { 'http-stream': {} } }, /http-stream has no 'content' or 'content-bin'/],
  ['content-filters', { channel: 'c', formats: { 'http-stream': { content: 'x', 'content-filters': ['skip-self'] } } }, /http-stream\.content-filters are not supported/],
  ['ws type ping', { channel: 'c', formats: { 'ws-message': { type: 'ping', content: '' } } }, /ws-message\.type "ping" is not supported/],
  ['ws type bogus', { channel: 'c', formats: { 'ws-message': { type: 'x', content: '' } } }, /ws-message\.type must be "text" or "binary"/],
  ['ws without content', { channel: 'c', formats: { 'ws-message': {} } }, /ws-message has no 'content' or 'content-bin'/],
  ['ws close code a string', { channel: 'c', formats: { 'ws-message': { action: 'close', code: 'x' } } }, /ws-message\.code must be an integer/],
  ['ws content-bin a number', { channel: 'c', formats: { 'ws-message': { 'content-bin': 5 } } }, /ws-message\.content-bin must be a base64 string, got 5/]
]

for (const [what, doc, re] of kBad) {
  test(`bad item (${what}): SWB_ERR_PUSHPIN_ITEM naming the field`, (t) => {
    const err = t.throws(() => parseItem(doc, true), { instanceOf: ProtocolError })
    t.is(err.code, 'SWB_ERR_PUSHPIN_ITEM')
    t.regex(err.message, re)
  })
}

test('bad HTTP bodies: not JSON, not an object, no items, items not a list, the bad item named by index', (t) => {
  t.is(t.throws(() => parseHttpBody(b('{nope')))!.message.startsWith('body is not valid JSON'), true)
  t.is((t.throws(() => parseHttpBody(b('{nope'))) as ProtocolError).code, 'SWB_ERR_PUSHPIN_JSON')
  t.regex(t.throws(() => parseHttpBody(b('[]')))!.message, /^body must be a JSON object with "items"/)
  t.regex(t.throws(() => parseHttpBody(b('{}')))!.message, /^body has no 'items'/)
  t.regex(t.throws(() => parseHttpBody(body({ items: {} })))!.message, /^items must be a list/)
  t.regex(t.throws(() => parseHttpBody(body({ items: [{ channel: 'a', 'http-stream': { content: 'x' } }, { channel: 'b' }] })))!.message, /^items\[1\]\.formats has none of/)
})

test('bad ZeroMQ messages: frame count, empty, garbage, bad J JSON, tnetstring not an item', (t) => {
  const code = (frames: Buffer[]): string => (t.throws(() => parseZmqMessage(frames), { instanceOf: ProtocolError })).code
  t.is(code([b('a'), b('b')]), 'SWB_ERR_PUSHPIN_MESSAGE')
  t.is(code([Buffer.alloc(0)]), 'SWB_ERR_PUSHPIN_MESSAGE')
  t.is(code([b('garbage')]), 'SWB_ERR_PUSHPIN_MESSAGE')
  t.is(code([b('5:abc,')]), 'SWB_ERR_PUSHPIN_MESSAGE')
  t.is(code([b('J{')]), 'SWB_ERR_PUSHPIN_JSON')
  t.is(code([b('5:hello,')]), 'SWB_ERR_PUSHPIN_ITEM')
  // tnetstring strings are bytes: body-bin means nothing there, as in Pushpin.
  t.is(code([encode({ channel: 'c', formats: { 'http-response': { 'body-bin': 'aGk=' } } })]), 'SWB_ERR_PUSHPIN_ITEM')
})
