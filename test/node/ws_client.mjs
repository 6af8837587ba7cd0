// An independent client of ChusMe's WebSocket protocol, in Node.js with the
// npm packages ws and protobufjs, reading proto/chusme/v1/realtime.proto —
// proof that the protocol is usable outside Go.
//
// Environment: CHUSME_URL (http://host:port), CHUSME_ACCESS_TOKEN (a live
// access token), CHUSME_FINGERPRINT (its identity). The Go test
// internal/wsapi TestNodeClient starts a server, logs in and runs this.
//
// It obtains a ticket over HTTP, connects with it, asks for the server
// info and decodes the answer, sends an unknown payload and expects an error
// envelope on a connection that stays open, and checks that the ticket is
// refused (close code 4002) the second time. It prints one JSON line.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import protobuf from 'protobufjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const base = process.env.CHUSME_URL;
const token = process.env.CHUSME_ACCESS_TOKEN;
const fingerprint = process.env.CHUSME_FINGERPRINT;
if (!base || !token || !fingerprint) {
  console.error('CHUSME_URL, CHUSME_ACCESS_TOKEN and CHUSME_FINGERPRINT are required');
  process.exit(2);
}

const root = await protobuf.load(path.join(here, '..', '..', 'proto', 'chusme', 'v1', 'realtime.proto'));
const Envelope = root.lookupType('chusme.v1.Envelope');

function fail(msg) {
  console.error('node client: ' + msg);
  process.exit(1);
}

const timer = setTimeout(() => fail('timed out'), 15000);

async function ticket() {
  const r = await fetch(base + '/v1/ws/tickets', { method: 'POST', headers: { Authorization: 'Bearer ' + token } });
  if (r.status !== 201) fail('POST /v1/ws/tickets: ' + r.status);
  return (await r.json()).ticket;
}

function wsURL(t) {
  return base.replace(/^http/, 'ws') + '/v1/ws?ticket=' + encodeURIComponent(t);
}

// connect opens a WebSocket and returns it with a queue of decoded envelopes.
function connect(t) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsURL(t));
    ws.binaryType = 'nodebuffer';
    const inbox = [];
    const waiters = [];
    ws.on('message', (data, isBinary) => {
      if (!isBinary) fail('text frame from the server');
      const env = Envelope.toObject(Envelope.decode(data), { longs: String, defaults: false, oneofs: true });
      const w = waiters.shift();
      if (w) w(env); else inbox.push(env);
    });
    ws.on('open', () => resolve({
      ws,
      next: () => new Promise((res) => { const e = inbox.shift(); if (e) res(e); else waiters.push(res); }),
      send: (obj) => ws.send(Envelope.encode(Envelope.create(obj)).finish()),
    }));
    ws.on('error', reject);
  });
}

const t = await ticket();
const conn = await connect(t);

// Server info, request id 7.
conn.send({ requestId: 7, serverInfoRequest: {} });
let env = await conn.next();
while (env.payload === 'ceremonyEvent') env = await conn.next();
if (env.payload !== 'serverInfoResponse' || env.requestId !== '7') fail('answer to server info: ' + JSON.stringify(env));
const info = env.serverInfoResponse;
if (info.name !== 'chusme' || info.fingerprint !== fingerprint || info.issuer !== base) fail('server info: ' + JSON.stringify(info));

// An unknown payload (field 99) gets an error envelope; the connection stays.
conn.ws.send(Buffer.from([0x08, 0x08, 0x98, 0x06, 0x01]));
env = await conn.next();
if (env.payload !== 'error' || env.error.code !== 'unknown_payload' || env.requestId !== '8') fail('answer to an unknown payload: ' + JSON.stringify(env));
conn.send({ requestId: 9, serverInfoRequest: {} });
env = await conn.next();
if (env.payload !== 'serverInfoResponse' || env.requestId !== '9') fail('connection did not stay open: ' + JSON.stringify(env));
conn.ws.close(1000);

// The ticket works once.
const again = new WebSocket(wsURL(t));
const code = await new Promise((res) => again.on('close', (c) => res(c)));
if (code !== 4002) fail('second use of the ticket closed with ' + code + ', want 4002');

clearTimeout(timer);
console.log(JSON.stringify({ ok: true, server: info.name, version: info.version, fingerprint: info.fingerprint, reused_ticket_close: code }));
