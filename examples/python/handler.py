#!/usr/bin/python3
"""A Mongrel2-protocol handler using only Debian's python3-zmq (no Switchboard code).
Usage: /usr/bin/python3 handler.py [send_spec] [recv_spec]   (defaults: the demo service).
Debian's python3-zmq is for the system python3; another python3 needs `pip install pyzmq`."""
import json, sys, zmq

send_spec = sys.argv[1] if len(sys.argv) > 1 else 'tcp://127.0.0.1:9997'
recv_spec = sys.argv[2] if len(sys.argv) > 2 else 'tcp://127.0.0.1:9996'
ctx = zmq.Context()
pull, pub = ctx.socket(zmq.PULL), ctx.socket(zmq.PUB)
pull.connect(send_spec)   # requests: SENDER ID PATH LEN:HEADERS,LEN:BODY,
pub.connect(recv_spec)    # replies:  SENDER LEN:ID, HTTP-RESPONSE
print('python handler ready', send_spec, recv_spec, flush=True)
while True:
    sender, conn_id, path, rest = pull.recv().split(b' ', 3)
    hlen, rest = rest.split(b':', 1)
    headers = rest[:int(hlen)]
    if path == b'@*' or (headers.startswith(b'{') and json.loads(headers).get('METHOD') == 'JSON'):
        continue  # a disconnect notice (METHOD JSON): nothing to answer
    body = b'Hello from Python: ' + path + b'\n'
    http = b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s' % (len(body), body)
    pub.send(sender + b' %d:%s, ' % (len(conn_id), conn_id) + http)
