// A 2-of-2 FROST(Ed25519, SHA-512) DKG and a signing (RFC 9591) run by two
// Node.js participants over ChusMe's WebSocket alone: one socket each
// (/v1/ws?token=JWT, binary frames, protobuf Envelopes read from
// proto/chusme/v1/realtime.proto with protobufjs), every ceremony request
// and answer an envelope, DKG round-2 shares sealed with RFC 9180 HPKE
// (hpke.mjs), the participant logic in participant.mjs.
//
// Input, one JSON object on stdin:
//   { "ws_url": "ws://host:port/v1/ws",
//     "message": "what to sign" (optional),
//     "participants": [A, B] }, each { "fingerprint", "public_key" (hex),
//     "seed" (hex, the Ed25519 identity private key), "access_token" }.
// The public keys stand in for the verified key chain a real client
// fetches: each must hash to its fingerprint (a genesis key) and match its
// seed.
//
// A creates the DKG, its request signed (signedCreate); B finds it on its
// own socket; both check the request against A's key, then run rounds 1–3. A
// then asks to sign the message with both as signers; each approves only
// that message from A under the new key, commits and signs. The signature
// is checked with crypto.verify under the group key. Output, one JSON line:
//   { "ok": true, "key_id", "group_public_key", "public_key_package",
//     "signature" (all three hex), "dkg_ceremony", "sign_ceremony" }.
// Any failure prints "frost_ws: …" on stderr and exits 1; the whole run has
// 30 s.
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import protobuf from 'protobufjs';
import { fingerprint } from './chusme_wire.mjs';
import { runDKG, runSign, signedCreate } from './participant.mjs';

const TIMEOUT_MS = 30000;
const DEFAULT_MESSAGE = 'signed by two Node.js participants over the ChusMe WebSocket';

function fail(msg) {
  console.error('frost_ws: ' + msg);
  process.exit(1);
}

const timer = setTimeout(() => fail(`timed out after ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS);
process.on('uncaughtException', (e) => fail(e.message));
process.on('unhandledRejection', (e) => fail(e instanceof Error ? e.message : String(e)));

const here = path.dirname(fileURLToPath(import.meta.url));
const root = await protobuf.load(path.join(here, '..', '..', 'proto', 'chusme', 'v1', 'realtime.proto'));
const Envelope = root.lookupType('chusme.v1.Envelope');
const decodeOptions = { longs: Number, defaults: true, arrays: true, oneofs: true };

// Session is one participant's WebSocket: requests matched to answers by
// request id, and the newest state seen of every ceremony (from pushed
// events and from answers), which waiters watch.
class Session {
  constructor(ws, fp, identity) {
    this.ws = ws;
    this.fp = fp;
    this.identity = identity;
    this.nextId = 1;
    this.pending = new Map(); // request id → { resolve, reject }
    this.states = new Map(); // ceremony id → newest CeremonyEvent
    this.waiters = new Set(); // { check, reject }
    this.closed = null;
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('close', (code, reason) => this.close(`${fp.slice(0, 8)}'s socket closed: ${code} ${reason}`));
  }

  receive(data, isBinary) {
    if (!isBinary) fail('a text frame from the server');
    const env = Envelope.toObject(Envelope.decode(data), decodeOptions);
    const body = env[env.payload];
    if (env.payload === 'ceremonyEvent') this.learn(body);
    if (env.payload === 'ceremonyResponse') this.learn(body.ceremony);
    if (env.payload === 'ceremonyChange' && env.requestId === 0) this.change(body);
    if (env.payload === 'ceremonyChange' && body.ceremony) this.learn(body.ceremony);
    if (env.payload === 'ceremonySyncResponse' || env.payload === 'ceremonyList') body.ceremonies.forEach((c) => this.learn(c));
    const p = this.pending.get(env.requestId);
    if (env.requestId === 0 || !p) return;
    this.pending.delete(env.requestId);
    if (env.payload === 'error') p.reject(new Error(`refused: ${body.code}: ${body.message}`));
    else p.resolve(body);
  }

  learn(ev) {
    const cur = this.states.get(ev.ceremonyId);
    if (cur && cur.version >= ev.version) return;
    this.states.set(ev.ceremonyId, ev);
    for (const w of this.waiters) w.check();
  }

  // change applies a pushed CeremonyChange to the state it follows
  // (docs/protocol.md, "Ceremony events"), or asks for the whole state.
  change(ch) {
    const cur = this.states.get(ch.ceremonyId);
    if (cur && cur.version >= ch.version) return;
    if (!cur || cur.version !== ch.baseVersion || cur.round !== ch.round || cur.status !== ch.status) {
      this.request('ceremonySyncRequest', { ceremonyId: ch.ceremonyId, afterVersion: cur ? cur.version : 0 }).catch(() => {});
      return;
    }
    const submitted = [...new Set([...cur.submitted, ...ch.submitted])].sort();
    const missing = cur.missing.filter((fp) => !ch.submitted.includes(fp));
    this.learn({ ...cur, submitted, missing, needed: ch.needed, version: ch.version, updatedUnixMs: ch.updatedUnixMs });
  }

  close(why) {
    this.closed = why;
    for (const p of this.pending.values()) p.reject(new Error(why));
    for (const w of this.waiters) w.reject(new Error(why));
    this.pending.clear();
    this.waiters.clear();
  }

  /** request sends { [name]: body } and returns the answer's payload. */
  request(name, body) {
    if (this.closed) return Promise.reject(new Error(this.closed));
    const requestId = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject });
      this.ws.send(Envelope.encode(Envelope.create({ requestId, [name]: body })).finish());
    });
  }

  /** current asks the server for ceremony id's state. */
  async current(id) {
    const res = await this.request('ceremonySyncRequest', { ceremonyId: id, afterVersion: 0 });
    if (res.ceremonies.length !== 1 || res.ceremonies[0].ceremonyId !== id) throw new Error(`no ceremony ${id}`);
    return this.states.get(id);
  }

  /** until resolves with the first value find() returns once states change. */
  until(find) {
    if (this.closed) return Promise.reject(new Error(this.closed));
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const v = find();
          if (v !== undefined) {
            this.waiters.delete(w);
            resolve(v);
          }
        },
        reject,
      };
      this.waiters.add(w);
      w.check();
    });
  }

  /** waitFor resolves with ceremony id's first state for which pred holds. */
  waitFor(id, pred) {
    return this.until(() => {
      const s = this.states.get(id);
      return s && pred(s) ? s : undefined;
    });
  }

  /** discover lists the open ceremonies (following next_cursor, protocol §8), then waits for one that pred accepts. */
  async discover(pred) {
    const found = () => [...this.states.values()].find(pred);
    let cursor = '';
    do {
      ({ nextCursor: cursor } = await this.request('listCeremoniesRequest', { status: 'open', cursor }));
    } while (cursor && !found());
    return this.until(found);
  }
}

// identityKeys checks one participant's input and returns its keys.
function identityKeys(p) {
  const pub = Buffer.from(p.public_key || '', 'hex');
  const seed = Buffer.from(p.seed || '', 'hex');
  if (pub.length !== 32 || seed.length !== 32 || !p.access_token) fail('each participant needs a 32-byte public_key and seed (hex) and an access_token');
  if (fingerprint(pub) !== p.fingerprint) fail(`public key of ${p.fingerprint} does not hash to its fingerprint`);
  const identity = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const publicKey = crypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]), format: 'der', type: 'spki' });
  if (!crypto.createPublicKey(identity).export({ format: 'der', type: 'spki' }).subarray(12).equals(pub)) fail(`seed of ${p.fingerprint} is not its public key's`);
  return { identity, publicKey };
}

// connect opens a participant's WebSocket with its access token and checks,
// with a server info request, that the server took the token and speaks to
// this identity, before anything is asked of the ceremony API.
async function connect(url, p, identity) {
  const session = await new Promise((resolve, reject) => {
    const ws = new WebSocket(url + '?token=' + encodeURIComponent(p.access_token));
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => resolve(new Session(ws, p.fingerprint, identity)));
    ws.once('unexpected-response', (_, res) => reject(new Error(`WebSocket upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const info = await session.request('serverInfoRequest', {});
  if (info.fingerprint !== p.fingerprint) throw new Error(`the socket of ${p.fingerprint} speaks for ${info.fingerprint}`);
  session.issuer = info.issuer;
  return session;
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function main() {
  const input = await readStdin();
  if (!input.ws_url || !Array.isArray(input.participants) || input.participants.length !== 2) fail('input needs ws_url and two participants');
  const keys = input.participants.map(identityKeys);
  const peerKeys = new Map(input.participants.map((p, i) => [p.fingerprint, keys[i].publicKey]));
  const [a, b] = await Promise.all(input.participants.map((p, i) => connect(input.ws_url, p, keys[i].identity)));
  const fps = [a.fp, b.fp];

  // DKG: A creates it, B finds it on its own socket.
  const dkgInfo = (await a.request('createCeremonyRequest', signedCreate(a, { kind: 'dkg', threshold: 2, participants: fps }))).ceremony;
  const [dkgA, dkgB] = await Promise.all([
    runDKG(a, peerKeys, dkgInfo.ceremonyId),
    b.discover((c) => c.kind === 'dkg' && c.creator === a.fp && c.status === 'open' && c.threshold === 2)
      .then((c) => runDKG(b, peerKeys, c.ceremonyId)),
  ]);
  if (dkgA.keyId !== dkgB.keyId || !dkgA.publicKeyPackage.equals(dkgB.publicKeyPackage)) fail('the participants computed different group keys');

  // Signing: A asks; each signer approves only this message, from A, under this key.
  const message = Buffer.from(input.message ?? DEFAULT_MESSAGE, 'utf8');
  const approve = (info) => info.creator === a.fp && info.keyId === dkgA.keyId && message.equals(Buffer.from(info.message));
  const signInfo = (await a.request('createCeremonyRequest', signedCreate(a, { kind: 'sign', threshold: 2, keyId: dkgA.keyId, message, participants: fps }))).ceremony;
  const [sigA, sigB] = await Promise.all([
    runSign(a, peerKeys, signInfo.ceremonyId, dkgA, approve),
    b.discover((c) => c.kind === 'sign' && c.keyId === dkgB.keyId && c.status === 'open')
      .then((c) => runSign(b, peerKeys, c.ceremonyId, dkgB, approve)),
  ]);
  if (!sigA.equals(sigB)) fail('the signers read different signatures');

  const groupKey = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: dkgA.groupKey.toString('base64url') }, format: 'jwk' });
  if (!crypto.verify(null, message, groupKey, sigA)) fail('crypto.verify rejects the signature under the group key');

  for (const s of [a, b]) s.ws.close(1000);
  clearTimeout(timer);
  console.log(JSON.stringify({
    ok: true,
    key_id: dkgA.keyId,
    group_public_key: dkgA.groupKey.toString('hex'),
    public_key_package: dkgA.publicKeyPackage.toString('hex'),
    signature: sigA.toString('hex'),
    dkg_ceremony: dkgInfo.ceremonyId,
    sign_ceremony: signInfo.ceremonyId,
  }));
}

main().catch((e) => fail(e.message));
