// ChusMe's ceremony byte strings, rebuilt in Node.js: the signed-message
// framing, the messages a participant signs, hashes or binds into HPKE, and
// the version-1 encodings of the FROST(Ed25519, SHA-512) values (RFC 9591)
// that ceremony payloads carry. Pure functions over Buffers.
import crypto from 'node:crypto';
import { ed25519, ed25519_FROST } from '@noble/curves/ed25519.js';

/** Labels of the ceremony messages. */
export const LABEL_CEREMONY_PACKAGE = 'chusme/v1/ceremony-package';
export const LABEL_CEREMONY_REQUEST = 'chusme/v1/ceremony-request';
export const LABEL_DKG_SHARE = 'chusme/v1/dkg-share';
export const LABEL_DKG_TRANSCRIPT = 'chusme/v1/dkg-transcript';
export const LABEL_GROUP_KEY_CONFIRM = 'chusme/v1/group-key-confirm';
export const LABEL_VERIFYING_SHARES = 'chusme/v1/verifying-shares';
export const LABEL_SHARE_POSSESSION = 'chusme/v1/share-possession';
export const LABEL_CHAIN_GENESIS = 'chusme/v1/chain-genesis';
export const LABEL_CHAIN_ENTRY = 'chusme/v1/chain-entry';

/** The ed25519 group order L. */
export const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

const sha256 = (b) => crypto.createHash('sha256').update(b).digest();
const bytes = (s) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s));

/**
 * signedMessage frames a label and fields: the label, a zero byte, then each
 * field as a 4-byte big-endian length and its bytes. Strings are UTF-8.
 */
export function signedMessage(label, ...fields) {
  const parts = [Buffer.from(label, 'utf8'), Buffer.from([0])];
  for (const f of fields) {
    const b = bytes(f);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

/**
 * ceremonyPackageMessage is what a sender signs with its identity key for a
 * package: ceremony id, round (decimal), sender, recipient ('' for a
 * broadcast) and the SHA-256 of the payload.
 */
export function ceremonyPackageMessage(ceremonyId, round, sender, recipient, payload) {
  return signedMessage(LABEL_CEREMONY_PACKAGE, ceremonyId, String(round), sender, recipient, sha256(payload));
}

/**
 * ceremonyRequestMessage is what a ceremony's creator signs: issuer, kind,
 * threshold (u64), the number of participants (u64) and each fingerprint
 * (sorted), key id ('' for a DKG), SHA-256 of the message (empty for a DKG),
 * round timeout in seconds (u64, 0 for the server's default), one byte
 * all-signers (1 or 0), deadline in Unix seconds (i64) and nonce.
 */
export function ceremonyRequestMessage(issuer, kind, threshold, participants, keyId, messageSha256, roundTimeout, allSigners, deadline, nonce) {
  return signedMessage(LABEL_CEREMONY_REQUEST, issuer, kind, be(64, threshold), be(64, participants.length), ...participants,
    keyId, messageSha256, be(64, Number(roundTimeout)), Buffer.from([allSigners ? 1 : 0]),
    be(64, BigInt.asUintN(64, BigInt(deadline))), nonce);
}

/** ceremonyMessageSha256 is the message hash a request of kind signs: SHA-256 for 'sign', empty for a DKG. */
export const ceremonyMessageSha256 = (kind, message) => (kind === 'sign' ? sha256(message) : Buffer.alloc(0));

/** dkgShareInfo is the HPKE info of a sealed DKG round-2 package. */
export function dkgShareInfo(ceremonyId, sender, recipient) {
  return signedMessage(LABEL_DKG_SHARE, ceremonyId, sender, recipient);
}

/**
 * dkgTranscriptHash is the SHA-256 of the framed ceremony id and, in the
 * ceremony's participant order, each fingerprint and its round-1 payload.
 */
export function dkgTranscriptHash(ceremonyId, participants, payloads) {
  const fields = [ceremonyId];
  for (const fp of participants) fields.push(fp, payloads.get(fp));
  return sha256(signedMessage(LABEL_DKG_TRANSCRIPT, ...fields));
}

const be = (bits, v) => {
  const b = Buffer.alloc(bits / 8);
  if (bits === 32) b.writeUInt32BE(v);
  else b.writeBigUInt64BE(BigInt(v));
  return b;
};

/**
 * genesisHead is the chain head of an identity that never rotated its key:
 * sequence 0 and the hash of its genesis entry, SHA-256 over the chain-entry
 * frame of "genesis", the genesis content (fingerprint, key) and two empty
 * signatures.
 */
export function genesisHead(fp, publicKey) {
  const content = signedMessage(LABEL_CHAIN_GENESIS, fp, publicKey);
  return { fingerprint: fp, seq: 0n, hash: sha256(signedMessage(LABEL_CHAIN_ENTRY, 'genesis', content, Buffer.alloc(0), Buffer.alloc(0))) };
}

/** verifyingSharesHash hashes the verifying shares (fingerprint → share) in the participants' order. */
export function verifyingSharesHash(participants, shares) {
  return sha256(signedMessage(LABEL_VERIFYING_SHARES, ...participants.flatMap((fp) => [fp, shares.get(fp)])));
}

/**
 * groupKeyConfirmMessage is what a DKG participant signs in round 3: issuer,
 * ceremony id, group key, verifying-shares hash, transcript, threshold
 * (u64), then each participant's fingerprint, head sequence (u64) and hash.
 */
export function groupKeyConfirmMessage(issuer, ceremonyId, groupKey, sharesHash, transcript, threshold, heads) {
  return signedMessage(LABEL_GROUP_KEY_CONFIRM, issuer, ceremonyId, groupKey, sharesHash, transcript, be(64, threshold),
    ...heads.flatMap((h) => [h.fingerprint, be(64, h.seq), h.hash]));
}

/**
 * sharePossessionMessage is what a holder signs with its signing share in
 * round 3: SHA-256 of its groupKeyConfirmMessage, then its fingerprint.
 */
export const sharePossessionMessage = (statement, fp) => signedMessage(LABEL_SHARE_POSSESSION, sha256(statement), fp);

/**
 * signWithShare signs msg with signing share s (32 bytes, little-endian) as
 * an Ed25519 key whose public key is the verifying share Y = s·G (RFC 8032
 * §5.1.7 verifies it): R = k·G for a uniform random k, S = k + H(R ‖ Y ‖ msg)·s.
 */
export function signWithShare(share, verifyingShare, msg) {
  let k = 0n;
  while (k === 0n) k = scalarOf(crypto.randomBytes(64)) % GROUP_ORDER;
  const R = Buffer.from(ed25519.Point.BASE.multiply(k).toBytes());
  const c = scalarOf(crypto.createHash('sha512').update(R).update(verifyingShare).update(msg).digest()) % GROUP_ORDER;
  const S = (k + c * scalarOf(share)) % GROUP_ORDER;
  return Buffer.concat([R, Buffer.from(S.toString(16).padStart(64, '0'), 'hex').reverse()]);
}

/**
 * encodeDKGConfirm encodes a round-3 payload: signature (64), share
 * signature (64), transcript (32), u32 head count, each head as fingerprint
 * (32 raw bytes), u64 sequence and hash (32), then the public key package.
 */
export function encodeDKGConfirm({ signature, shareSignature, transcript, heads, publicKeyPackage }) {
  const hs = heads.flatMap((h) => [Buffer.from(h.fingerprint, 'hex'), be(64, h.seq), Buffer.from(h.hash)]);
  return Buffer.concat([Buffer.from(signature), Buffer.from(shareSignature), Buffer.from(transcript), be(32, heads.length), ...hs,
    Buffer.from(publicKeyPackage)]);
}

/** decodeDKGConfirm splits a round-3 payload into its two signatures and the rest (what all must agree on). */
export function decodeDKGConfirm(b) {
  if (b.length < 164) throw new Error('a dkg confirmation shorter than 164 bytes');
  return { signature: b.subarray(0, 64), shareSignature: b.subarray(64, 128), agreed: b.subarray(128) };
}

/** fingerprint is the lowercase hex SHA-256 of a 32-byte public key (also a group key's id). */
export const fingerprint = (publicKey) => sha256(publicKey).toString('hex');

/**
 * identifier derives a participant's FROST identifier from its fingerprint
 * as frost-core's Identifier::derive does (hex of the little-endian scalar).
 */
export const identifier = (fp) => ed25519_FROST.Identifier.derive(fp);

/** compareIdentifiers orders identifiers (little-endian hex) by integer value. */
export function compareIdentifiers(a, b) {
  const x = scalarOf(Buffer.from(a, 'hex'));
  const y = scalarOf(Buffer.from(b, 'hex'));
  return x < y ? -1 : x > y ? 1 : 0;
}

const scalarOf = (b) => BigInt('0x' + Buffer.from(b).reverse().toString('hex'));

// Encoding type bytes (the second byte; the first is the version, 1).
const VERSION = 1;
const T_COMMITMENTS = 1;
const T_SIGNING_PACKAGE = 2;
const T_SIGNATURE_SHARE = 3;
const T_DKG_ROUND1 = 4;
const T_DKG_ROUND2 = 5;
const T_PUBLIC_KEY_PACKAGE = 7;
const MAX_PARTICIPANTS = 1000;

const u16 = (n) => Buffer.from([n >> 8, n & 0xff]);
const header = (type) => Buffer.from([VERSION, type]);

// Reader walks an encoding front to back and throws on anything malformed.
class Reader {
  constructor(b, type) {
    this.b = Buffer.from(b);
    this.off = 0;
    const h = this.take(2);
    if (h[0] !== VERSION || h[1] !== type) throw new Error(`encoding: want version ${VERSION} type ${type}`);
  }
  take(n) {
    if (this.off + n > this.b.length) throw new Error('encoding: truncated');
    const out = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  u16() { return this.take(2).readUInt16BE(); }
  u32() { return this.take(4).readUInt32BE(); }
  count(lo, itemLen) {
    const n = this.u16();
    if (n < lo || n > MAX_PARTICIPANTS || this.b.length - this.off < n * itemLen) throw new Error('encoding: bad count');
    return n;
  }
  scalar() {
    const s = this.take(32);
    if (scalarOf(s) >= GROUP_ORDER) throw new Error('encoding: non-canonical scalar');
    return s;
  }
  finish() {
    if (this.off !== this.b.length) throw new Error('encoding: trailing bytes');
  }
}

/** encodeDKGRound1 encodes a DKG round-1 package: uint16 t, t points, proof R ‖ μ. */
export function encodeDKGRound1(commitment, proofOfKnowledge) {
  return Buffer.concat([header(T_DKG_ROUND1), u16(commitment.length), ...commitment, proofOfKnowledge]);
}

/** decodeDKGRound1 returns { commitment: [32-byte points], proofOfKnowledge: 64 bytes }. */
export function decodeDKGRound1(b) {
  const r = new Reader(b, T_DKG_ROUND1);
  const t = r.count(2, 32);
  const commitment = [];
  for (let i = 0; i < t; i++) commitment.push(r.take(32));
  const proofR = r.take(32);
  const proofOfKnowledge = Buffer.concat([proofR, r.scalar()]);
  r.finish();
  return { commitment, proofOfKnowledge };
}

/** encodeDKGRound2 encodes a DKG round-2 package (secret!): the share scalar. */
export const encodeDKGRound2 = (share) => Buffer.concat([header(T_DKG_ROUND2), share]);

/** decodeDKGRound2 returns the 32-byte canonical share scalar. */
export function decodeDKGRound2(b) {
  const r = new Reader(b, T_DKG_ROUND2);
  const s = r.scalar();
  r.finish();
  return s;
}

/**
 * encodePublicKeyPackage encodes uint16 t, the group key, uint16 n, then
 * n × (identifier, verifying share) in ascending identifier order.
 * verifyingShares maps identifier hex → 32-byte point.
 */
export function encodePublicKeyPackage(threshold, groupKey, verifyingShares) {
  const ids = Object.keys(verifyingShares).sort(compareIdentifiers);
  const entries = ids.flatMap((id) => [Buffer.from(id, 'hex'), Buffer.from(verifyingShares[id])]);
  return Buffer.concat([header(T_PUBLIC_KEY_PACKAGE), u16(threshold), Buffer.from(groupKey), u16(ids.length), ...entries]);
}

/** encodeCommitments encodes a signer's round-1 commitments: hiding, binding. */
export const encodeCommitments = (c) => Buffer.concat([header(T_COMMITMENTS), Buffer.from(c.hiding), Buffer.from(c.binding)]);

/**
 * decodeSigningPackage returns { commitments: [{ identifier, hiding, binding }]
 * in strictly ascending identifier order, message }.
 */
export function decodeSigningPackage(b) {
  const r = new Reader(b, T_SIGNING_PACKAGE);
  const n = r.count(2, 96);
  const commitments = [];
  for (let i = 0; i < n; i++) {
    const id = r.scalar().toString('hex');
    if (i > 0 && compareIdentifiers(commitments[i - 1].identifier, id) >= 0) throw new Error('encoding: signers not ascending');
    commitments.push({ identifier: id, hiding: r.take(32), binding: r.take(32) });
  }
  const mlen = r.u32();
  const message = r.take(mlen);
  r.finish();
  return { commitments, message };
}

/** encodeSignatureShare encodes a signature share z. */
export const encodeSignatureShare = (z) => Buffer.concat([header(T_SIGNATURE_SHARE), Buffer.from(z)]);
