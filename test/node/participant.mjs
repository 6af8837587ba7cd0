// The participant side of ChusMe's FROST ceremonies (RFC 9591 signing, the
// frost-core Pedersen DKG), in Node.js, following the Go client
// (client/participant.go) step by step: the ceremony's request checked
// against its creator's key before anything is sent (checkRequest), every
// package signed with the identity key, every relayed package checked
// against its sender's key, DKG
// round-2 shares sealed with RFC 9180 HPKE, the confirmation of the
// transcript and public key package, and a signer that signs only the message
// it approved. The FROST maths is @noble/curves' ed25519_FROST.
//
// A driver talks to the server through a session (see frost_ws.mjs):
//   session.fp                   this participant's fingerprint
//   session.identity             its Ed25519 private KeyObject
//   session.issuer               the server's issuer, as its server info says
//   session.request(name, body)  one request envelope → its answer's payload
//   session.current(id)          the ceremony's state, asked of the server
//   session.waitFor(id, pred)    the first known state for which pred holds
import crypto from 'node:crypto';
import { ed25519, ed25519_FROST as frost } from '@noble/curves/ed25519.js';
import * as hpke from './hpke.mjs';
import * as wire from './chusme_wire.mjs';

/** CeremonyError reports a ceremony that failed, or a server state a participant refuses. */
export class CeremonyError extends Error {}

const same = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

// Participant is one driver's view of one ceremony.
class Participant {
  constructor(session, peerKeys, info) {
    this.s = session;
    this.me = session.fp;
    this.peerKeys = peerKeys; // fingerprint → Ed25519 public KeyObject
    this.info = info;
    this.id = info.ceremonyId;
    this.sent = new Map(); // round → { payload, signature } of this driver's broadcast
  }

  // join checks that this participant may start ceremony id of kind.
  static async join(session, peerKeys, id, kind) {
    const info = await session.current(id);
    if (info.kind !== kind) throw new CeremonyError(`ceremony ${id} is a ${info.kind} ceremony, not ${kind}`);
    if (!info.participants.includes(session.fp)) throw new CeremonyError(`${session.fp} is not a participant of ${id}`);
    if (info.status !== 'open' || info.round !== 1 || info.submitted.includes(session.fp)) {
      throw new CeremonyError(`ceremony ${id} is past its first round (${info.status}, round ${info.round})`);
    }
    checkRequest(session.issuer, peerKeys, info);
    return new Participant(session, peerKeys, info);
  }

  sign(round, recipient, payload) {
    return crypto.sign(null, wire.ceremonyPackageMessage(this.id, round, this.me, recipient, payload), this.s.identity);
  }

  async submit(round, body) {
    const res = await this.s.request('submitRequest', { ceremonyId: this.id, round, ...body });
    return res.ceremony;
  }

  async broadcast(round, payload) {
    const pkg = { payload, signature: this.sign(round, '', payload) };
    this.sent.set(round, pkg);
    return this.submit(round, pkg);
  }

  // wait returns the first state past round (or completed); a ceremony that
  // failed or was cancelled is an error naming its reason and culprits.
  async wait(round) {
    const info = await this.s.waitFor(this.id, (i) => i.status !== 'open' || i.round > round);
    if (info.status !== 'open' && info.status !== 'completed') {
      const f = info.failure || {};
      throw new CeremonyError(`ceremony ${this.id} ${info.status}: ${f.reason} ${f.message} (culprits ${(f.culprits || []).join(', ')})`);
    }
    this.info = info;
    return info;
  }

  // verify checks a relayed package: its round and sender, and its sender's
  // identity-key signature (this driver's own broadcast must come back as sent).
  verify(pkg, round) {
    if (pkg.round !== round || !this.info.participants.includes(pkg.sender)) {
      throw new CeremonyError(`tampered: a round-${round} package claims round ${pkg.round} and sender ${pkg.sender}`);
    }
    const mine = this.sent.get(round);
    if (pkg.sender === this.me && pkg.recipient === '' && mine) {
      if (!same(pkg.payload, mine.payload) || !same(pkg.signature, mine.signature)) {
        throw new CeremonyError(`tampered: this participant's own round-${round} package came back changed`);
      }
      return;
    }
    const key = this.peerKeys.get(pkg.sender);
    const msg = wire.ceremonyPackageMessage(this.id, round, pkg.sender, pkg.recipient, pkg.payload);
    if (!key || !crypto.verify(null, msg, key, pkg.signature)) {
      throw new CeremonyError(`tampered: round-${round} package from ${pkg.sender} fails its signature`);
    }
  }

  // inbox fetches a completed round's packages and verifies every one.
  async inbox(round) {
    const inbox = await this.s.request('inboxRequest', { ceremonyId: this.id, round });
    if (!inbox.complete || inbox.round !== round) throw new CeremonyError(`round ${round}'s inbox is not complete`);
    for (const pkg of inbox.packages) this.verify(pkg, round);
    return inbox.packages;
  }

  // broadcasts returns exactly one broadcast payload per sender of parts
  // (the participants, or a signing package's signers), keyed by sender,
  // this participant's own being what it sent.
  broadcasts(pkgs, round, parts = this.info.participants) {
    const out = new Map();
    for (const pkg of pkgs) {
      if (pkg.recipient !== '' || !parts.includes(pkg.sender)) continue;
      if (out.has(pkg.sender)) throw new CeremonyError(`tampered: two broadcasts from ${pkg.sender}`);
      out.set(pkg.sender, Buffer.from(pkg.payload));
    }
    if (out.size !== parts.length || !parts.every((fp) => out.has(fp))) {
      throw new CeremonyError(`${out.size} broadcasts for ${parts.length} participants`);
    }
    if (!same(out.get(this.me), this.sent.get(round).payload)) {
      throw new CeremonyError("tampered: this participant's own package came back changed");
    }
    return out;
  }
}

// checkRequest checks the ceremony's request before anything is committed:
// signed by its creator's key over this issuer and the request's fields, and
// those fields the ceremony's; an error names what failed.
function checkRequest(issuer, peerKeys, info) {
  const r = info.request;
  const bad = (what) => new CeremonyError(`forged request: ceremony ${info.ceremonyId}: ${what}`);
  if (!r || !r.signature || r.signature.length === 0) throw bad('it carries no signed request');
  const key = peerKeys.get(info.creator);
  const msg = wire.ceremonyRequestMessage(issuer, r.kind, r.threshold, r.participants, r.keyId, r.messageSha256,
    Number(r.roundTimeout ?? 0), Boolean(r.allSigners), r.deadline, r.nonce);
  if (!key || !crypto.verify(null, msg, key, r.signature)) throw bad(`the requester signature of ${info.creator} does not verify`);
  if (r.kind !== info.kind) throw bad(`the request's kind is ${r.kind}, the ceremony's ${info.kind}`);
  if (r.threshold !== info.threshold) throw bad(`the request's threshold is ${r.threshold}, the ceremony's ${info.threshold}`);
  if (r.participants.join() !== info.participants.join()) throw bad("the request's participants are not the ceremony's");
  if (r.keyId !== info.keyId) throw bad("the request's key id is not the ceremony's");
  if (!same(r.messageSha256, wire.ceremonyMessageSha256(info.kind, Buffer.from(info.message)))) {
    throw bad("the request's message hash is not the SHA-256 of the ceremony's message");
  }
  if (r.deadline * 1000 <= Date.now()) throw bad("the request's deadline has passed");
}

/**
 * signedCreate is a createCeremonyRequest body signed by session's identity
 * key: kind, threshold (for 'sign' the key's, which the body does not
 * carry), the participants sorted, key id, message, a deadline an hour ahead
 * and a fresh 16-byte nonce.
 */
export function signedCreate(session, { kind, threshold, participants, keyId = '', message = Buffer.alloc(0) }) {
  const parts = [...participants].sort();
  const deadline = Math.floor(Date.now() / 1000) + 3600;
  const nonce = crypto.randomBytes(16);
  const msg = wire.ceremonyRequestMessage(session.issuer, kind, threshold, parts, keyId, wire.ceremonyMessageSha256(kind, message), 0, false,
    deadline, nonce);
  const body = { kind, participants: parts, keyId, message, deadline, nonce, signature: crypto.sign(null, msg, session.identity) };
  if (kind === 'dkg') body.threshold = threshold;
  return body;
}

// rawKey is the 32 raw bytes of an Ed25519 public KeyObject.
const rawKey = (k) => k.export({ format: 'der', type: 'spki' }).subarray(12);

const identifiers = (fps) => new Map(fps.map((fp) => [fp, wire.identifier(fp)]));

/**
 * runDKG takes part in DKG ceremony id from round 1 to its end and returns
 * { keyId, groupKey, publicKeyPackage, key } (key: noble's { public, secret }).
 */
export async function runDKG(session, peerKeys, id) {
  const p = await Participant.join(session, peerKeys, id, 'dkg');
  const parts = p.info.participants;
  const n = parts.length;
  const t = p.info.threshold;
  const ids = identifiers(parts);

  // Round 1: commitment, proof of knowledge, ephemeral HPKE key.
  const r1 = frost.DKG.round1(ids.get(p.me), { min: t, max: n });
  const hpkeKey = hpke.generateKeyPair();
  const pkg1 = wire.encodeDKGRound1(r1.public.commitment, r1.public.proofOfKnowledge);
  await p.broadcast(1, Buffer.concat([hpkeKey.publicKey, pkg1]));
  await p.wait(1);

  // Round 2: check the round-1 packages, seal a share to each peer.
  const round1 = p.broadcasts(await p.inbox(1), 1);
  const transcript = wire.dkgTranscriptHash(id, parts, round1);
  const others = [];
  const peerHPKE = new Map();
  for (const [fp, payload] of round1) {
    if (fp === p.me) continue;
    if (payload.length <= 32) throw new CeremonyError(`malformed round-1 package from ${fp}`);
    peerHPKE.set(fp, payload.subarray(0, 32));
    others.push({ identifier: ids.get(fp), ...wire.decodeDKGRound1(payload.subarray(32)) });
  }
  const shares = frost.DKG.round2(r1.secret, others); // verifies every proof of knowledge
  const packages = parts.filter((fp) => fp !== p.me).map((fp) => {
    const ct = hpke.seal(peerHPKE.get(fp), wire.dkgShareInfo(id, p.me, fp), wire.encodeDKGRound2(shares[ids.get(fp)].signingShare));
    return { recipient: fp, payload: ct, signature: p.sign(2, fp, ct) };
  });
  await p.submit(2, { packages });
  await p.wait(2);

  // Round 3: open the shares sent to us, derive the key, confirm.
  const received = new Map();
  for (const pkg of await p.inbox(2)) {
    if (pkg.recipient !== p.me || pkg.sender === p.me || received.has(pkg.sender)) {
      throw new CeremonyError(`tampered: a round-2 package from ${pkg.sender} to ${pkg.recipient}`);
    }
    let share;
    try {
      share = wire.decodeDKGRound2(hpke.open(hpkeKey.privateKey, wire.dkgShareInfo(id, pkg.sender, p.me), pkg.payload));
    } catch (e) {
      throw new CeremonyError(`tampered: the round-2 package from ${pkg.sender} does not open: ${e.message}`);
    }
    received.set(pkg.sender, { identifier: ids.get(pkg.sender), signingShare: share });
  }
  const key = frost.DKG.round3(r1.secret, others, [...received.values()]); // checks every share
  const groupKey = Buffer.from(key.public.commitments[0]);
  const publicKeyPackage = wire.encodePublicKeyPackage(t, groupKey, key.public.verifyingShares);
  // The certificate: every participant's chain head (this driver knows its
  // peers by their genesis keys, so a genesis head), signed with the group
  // key, the verifying shares and the transcript.
  const heads = parts.map((fp) => wire.genesisHead(fp, rawKey(peerKeys.get(fp))));
  const vshares = new Map(parts.map((fp) => [fp, Buffer.from(key.public.verifyingShares[ids.get(fp)])]));
  const statement = wire.groupKeyConfirmMessage(session.issuer, id, groupKey, wire.verifyingSharesHash(parts, vshares), transcript, t, heads);
  // And, to show it holds its share, signed with the share.
  const shareSignature = wire.signWithShare(key.secret.signingShare, vshares.get(p.me), wire.sharePossessionMessage(statement, p.me));
  const confirm = wire.encodeDKGConfirm({ signature: crypto.sign(null, statement, session.identity), shareSignature, transcript, heads, publicKeyPackage });
  await p.broadcast(3, confirm);
  const done = await p.wait(3);

  // Completed: every confirmation must confirm what ours does, signed by its
  // sender over the same statement; and the result (its key id is the hash
  // of the group key, its public key the group key) too.
  const mine = wire.decodeDKGConfirm(confirm);
  for (const [fp, c] of p.broadcasts(await p.inbox(3), 3)) {
    const theirs = wire.decodeDKGConfirm(c);
    if (!same(theirs.agreed, mine.agreed)) throw new CeremonyError(`${fp} confirmed another group key, transcript or chain heads`);
    if (!crypto.verify(null, statement, peerKeys.get(fp), theirs.signature)) throw new CeremonyError(`tampered: the group key confirmation of ${fp} fails its signature`);
    if (!ed25519.verify(theirs.shareSignature, wire.sharePossessionMessage(statement, fp), vshares.get(fp))) {
      throw new CeremonyError(`tampered: the share signature of ${fp} does not verify under its verifying share`);
    }
  }
  const keyId = wire.fingerprint(groupKey);
  const r = done.result;
  if (done.status !== 'completed' || !r || r.keyId !== keyId || !same(r.publicKey, groupKey)) {
    throw new CeremonyError("the ceremony's result is not the group key computed");
  }
  return { keyId, groupKey, publicKeyPackage, key };
}

/**
 * runSign takes part in signing ceremony id with dkg (runDKG's result): it
 * asks approve(info) first, commits, checks the signing package (its own
 * commitment unchanged, every other one signed by its signer, the approved
 * message), sends its share, and returns the signature once it verifies.
 */
export async function runSign(session, peerKeys, id, dkg, approve) {
  const p = await Participant.join(session, peerKeys, id, 'sign');
  const info = p.info;
  if (info.keyId !== dkg.keyId) throw new CeremonyError(`ceremony ${id} signs with key ${info.keyId}, not ${dkg.keyId}`);
  const msg = Buffer.from(info.message);
  if (!approve(info)) throw new CeremonyError('signing not approved');
  const ids = identifiers(info.participants);

  const { nonces, commitments } = frost.commit(dkg.key.secret);
  const mine = wire.encodeCommitments(commitments);
  await p.broadcast(1, mine);
  const r2 = await p.wait(1);

  // Round 2: check the signing package before signing.
  const pkg = wire.decodeSigningPackage(r2.signingPackage);
  if (!same(pkg.message, msg) || !same(r2.message, msg)) throw new CeremonyError("the signing package's message is not the approved one");
  // The first t candidates to commit sign (docs/protocol.md, Any t of n).
  const signers = r2.signers ?? [];
  if (signers.length < info.threshold || !signers.includes(session.fp) || !signers.every((fp) => info.participants.includes(fp))) {
    throw new CeremonyError(`the signers ${signers} are not ${info.threshold} or more candidates with this one`);
  }
  const coms = p.broadcasts(await p.inbox(1), 1, signers);
  if (pkg.commitments.length !== signers.length) {
    throw new CeremonyError(`the signing package has ${pkg.commitments.length} signers, not ${signers.length}`);
  }
  for (const [fp, signed] of coms) {
    const c = pkg.commitments.find((x) => x.identifier === ids.get(fp));
    if (!c || !same(wire.encodeCommitments(c), signed)) throw new CeremonyError(`tampered: the signing package does not hold ${fp}'s signed commitment`);
  }
  const share = frost.signShare(dkg.key.secret, dkg.key.public, nonces, pkg.commitments, msg); // zeroes the nonces
  await p.broadcast(2, wire.encodeSignatureShare(share));
  const done = await p.wait(2);

  const sig = done.result && Buffer.from(done.result.signature);
  if (done.status !== 'completed' || !sig || !frost.verify(sig, msg, dkg.groupKey)) {
    throw new CeremonyError("the ceremony's signature does not verify under the group key");
  }
  return sig;
}
