#!/usr/bin/python3
"""A Mongrel2 WebSocket echo handler: Mongrel2 1.12's protocol with Debian's python3-zmq only
(no Switchboard code; it runs unchanged behind Mongrel2). Usage:
    python3 ws_echo.py [send_spec] [recv_spec]          (defaults: the demo service)

Handshake (METHOD WEBSOCKET_HANDSHAKE, body = the Sec-WebSocket-Accept value): a 101 for paths
under /ws (subprotocol 'echo' when the client offers it), 404 elsewhere.
Messages (METHOD WEBSOCKET, FLAGS 0x81 text, 0x82 binary, 0x88 close, 0x89 ping, 0x8A pong):
text and binary are echoed; the text 'close CODE' closes with CODE, 'burst' gets three frames in
one reply, 'frag' a fragmented message, 'bye' an empty reply (closes at once); a client's close
is answered with the same close frame and an empty reply; a ping with a pong."""
import json, struct, sys, zmq

send_spec = sys.argv[1] if len(sys.argv) > 1 else 'tcp://127.0.0.1:9997'
recv_spec = sys.argv[2] if len(sys.argv) > 2 else 'tcp://127.0.0.1:9996'
TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


def parse(msg):
    """SENDER ID PATH LEN:HEADERS,LEN:BODY, (JSON headers, the default protocol)."""
    sender, conn_id, path, rest = msg.split(b' ', 3)
    hlen, rest = rest.split(b':', 1)
    headers = json.loads(rest[:int(hlen)])
    blen, rest = rest[int(hlen) + 1:].split(b':', 1)
    return sender, conn_id, path, headers, rest[:int(blen)]


def frame(opcode, payload, fin=True):
    """A server frame: unmasked, FIN set unless fin=False."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack('>H', n)
    else:
        head += bytes([127]) + struct.pack('>Q', n)
    return head + payload


ctx = zmq.Context()
pull, pub = ctx.socket(zmq.PULL), ctx.socket(zmq.PUB)
pull.connect(send_spec)
pub.connect(recv_spec)


def reply(sender, conn_id, body):
    pub.send(sender + b' %d:%s, ' % (len(conn_id), conn_id) + body)


print('python ws_echo ready', send_spec, recv_spec, flush=True)
while True:
    sender, conn_id, path, headers, body = parse(pull.recv())
    method = headers.get('METHOD')
    if method == 'JSON':
        continue  # a disconnect notice: never answered
    if method == 'WEBSOCKET_HANDSHAKE':
        if not path.startswith(b'/ws'):
            reply(sender, conn_id, b'HTTP/1.1 404 Not Found\r\nContent-Length: 13\r\n\r\nno websocket\n')
            continue
        head = b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
        head += b'Sec-WebSocket-Accept: ' + body + b'\r\n'
        offered = [p.strip() for p in headers.get('sec-websocket-protocol', '').split(',')]
        if 'echo' in offered:
            head += b'Sec-WebSocket-Protocol: echo\r\n'
        reply(sender, conn_id, head + b'\r\n')
    elif method == 'WEBSOCKET':
        opcode = int(headers['FLAGS'], 16) & 0x0F
        if opcode == CLOSE:
            reply(sender, conn_id, frame(CLOSE, body[:2]))
            reply(sender, conn_id, b'')
        elif opcode == PING:
            reply(sender, conn_id, frame(PONG, body))
        elif opcode == TEXT and body.startswith(b'close '):
            reply(sender, conn_id, frame(CLOSE, struct.pack('>H', int(body[6:])) + b'as asked'))
        elif opcode == TEXT and body == b'burst':
            reply(sender, conn_id, frame(TEXT, b'one') + frame(BINARY, b'two') + frame(TEXT, b'three'))
        elif opcode == TEXT and body == b'frag':
            reply(sender, conn_id, frame(TEXT, b'frag', fin=False) + frame(CONTINUATION, b'men', fin=False))
            reply(sender, conn_id, frame(CONTINUATION, b'ted'))
        elif opcode == TEXT and body == b'bye':
            reply(sender, conn_id, b'')
        elif opcode in (TEXT, BINARY):
            reply(sender, conn_id, frame(opcode, body))
    else:
        reply(sender, conn_id, b'HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nContent-Length: 16\r\n\r\nuse a websocket\n')
