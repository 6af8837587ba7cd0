// An independent implementation of ChusMe's byte formats, written from
// docs/protocol.md: it rebuilds every golden vector of testdata/vectors.json
// from its inputs and prints one line per vector. It exits non-zero if any
// expected value differs, is not rebuilt, or a vector has a type it does not
// know. Only Node's crypto, @noble/curves (Ed25519, X25519) and
// @noble/hashes (Argon2id) are used.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { argon2id } from '@noble/hashes/argon2.js';

const here = dirname(fileURLToPath(import.meta.url));
const file = JSON.parse(readFileSync(process.env.CHUSME_VECTORS || join(here, '..', '..', 'testdata', 'vectors.json'), 'utf8'));

// §1 encodings.
const hex = (s) => Buffer.from(s, 'hex');
const utf8 = (s) => Buffer.from(s, 'utf8');
const b64url = (b) => Buffer.from(b).toString('base64url'); // unpadded
const sha256 = (...parts) => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest(); };
const sha512 = (...parts) => { const h = createHash('sha512'); for (const p of parts) h.update(p); return h.digest(); };
const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };
const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(v)); return b; };
const i64 = (v) => { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); return b; };
const fingerprint = (pub) => sha256(pub).toString('hex');

// §2 labels and the frame: label ‖ NUL ‖ (u32be length ‖ bytes)*.
const L = {
  register: 'chusme/v1/register', login: 'chusme/v1/login', totpConfirm: 'chusme/v1/totp-confirm',
  safetyNumber: 'chusme/v1/safety-number',
  rotate: 'chusme/v1/rotate', cancel: 'chusme/v1/rotate-cancel', genesis: 'chusme/v1/chain-genesis',
  entry: 'chusme/v1/chain-entry', pkg: 'chusme/v1/ceremony-package', complaint: 'chusme/v1/ceremony-complaint', secret: 'chusme/v1/ceremony-secret', share: 'chusme/v1/dkg-share',
  transcript: 'chusme/v1/dkg-transcript', totpSecret: 'chusme/v1/data/totp-secret',
  challengeMAC: 'chusme/v1/kdf/login-challenge-mac', refreshMAC: 'chusme/v1/kdf/refresh-token-mac',
  vault: 'chusme/v1/vault/', ceremonyState: 'chusme/v1/data/ceremony-state',
  recoveryKeys: 'chusme/v1/recovery-keys', recover: 'chusme/v1/recover', recoveryCancel: 'chusme/v1/recovery-cancel',
  recoveryCheck: 'chusme/v1/recovery-key-check',
  deviceJoin: 'chusme/v1/device-join', deviceAdd: 'chusme/v1/device-add', deviceRemove: 'chusme/v1/device-remove',
};
const frame = (label, ...fields) => Buffer.concat([utf8(label), Buffer.from([0]), ...fields.flatMap((f) => [u32(f.length), f])]);

// §3 signed messages.
const registerMessage = (issuer, pub) => frame(L.register, utf8(issuer), pub);
const loginMessage = (issuer, id, nonce) => frame(L.login, utf8(issuer), utf8(id), nonce);
const totpConfirmMessage = (issuer, fp, secret) => frame(L.totpConfirm, utf8(issuer), utf8(fp), sha256(secret));
const rotationMessage = (issuer, fp, seq, prev, oldKey, newKey, time) =>
  frame(L.rotate, utf8(issuer), utf8(fp), u64(seq), prev, oldKey, newKey, i64(time));
const cancelMessage = (issuer, fp, seq, cancels, prev, dropped, restored, time) =>
  frame(L.cancel, utf8(issuer), utf8(fp), u64(seq), prev, u64(cancels), dropped, restored, i64(time));
const recoveryKeysMessage = (issuer, fp, seq, prev, signer, device, keys, time) =>
  frame(L.recoveryKeys, utf8(issuer), utf8(fp), u64(seq), prev, signer, device, u64(keys.length), ...keys, i64(time));
const recoverMessage = (issuer, fp, seq, prev, signer, oldKey, newKey, time) =>
  frame(L.recover, utf8(issuer), utf8(fp), u64(seq), prev, signer, oldKey, newKey, i64(time));
const recoveryCancelMessage = (issuer, fp, seq, cancels, prev, signer, dropped, restored, time) =>
  frame(L.recoveryCancel, utf8(issuer), utf8(fp), u64(seq), prev, u64(cancels), signer, dropped, restored, i64(time));
const deviceJoinMessage = (issuer, fp, key, time) => frame(L.deviceJoin, utf8(issuer), utf8(fp), key, i64(time));
const deviceAddMessage = (issuer, fp, seq, prev, signer, key, joinTime, time) =>
  frame(L.deviceAdd, utf8(issuer), utf8(fp), u64(seq), prev, signer, key, i64(joinTime), i64(time));
const deviceRemoveMessage = (issuer, fp, seq, prev, signer, key, time) =>
  frame(L.deviceRemove, utf8(issuer), utf8(fp), u64(seq), prev, signer, key, i64(time));
const packageMessage = (cid, round, sender, recipient, payload) =>
  frame(L.pkg, utf8(cid), utf8(String(round)), utf8(sender), utf8(recipient), sha256(payload));
const complaintMessage = (cid, round, complainer, accused) =>
  frame(L.complaint, utf8(cid), utf8(String(round)), utf8(complainer), utf8(accused));
const secretMessage = (cid, round, sender, recipient, secret) =>
  frame(L.secret, utf8(cid), utf8(String(round)), utf8(sender), utf8(recipient), sha256(secret));

// §6 safety numbers: SHA-256 over the label and the two fingerprints in
// ascending order, as a big-endian integer mod 10^60, in 12 groups of 5.
const safetyNumber = (a, b) => {
  const [lo, hi] = [a, b].sort();
  const message = frame(L.safetyNumber, utf8(lo), utf8(hi)), hash = sha256(message);
  const digits = (BigInt('0x' + hash.toString('hex')) % 10n ** 60n).toString().padStart(60, '0');
  return { message, hash, safety_number: digits.match(/.{5}/g).join(' ') };
};

// A message signed by the key of a seed: message, public key, signature.
const signed = (msg, seed) => {
  const out = { message: msg };
  if (seed) {
    out.public_key = Buffer.from(ed25519.getPublicKey(seed));
    out.signature = Buffer.from(ed25519.sign(msg, seed));
    if (!ed25519.verify(out.signature, msg, out.public_key)) throw new Error('own signature does not verify');
  }
  return out;
};

// §8 group key certificates.
Object.assign(L, { groupKeyConfirm: 'chusme/v1/group-key-confirm', verifyingShares: 'chusme/v1/verifying-shares',
  sharePossession: 'chusme/v1/share-possession' });
L.groupKeyEndorse = 'chusme/v1/group-key-endorse';
// §8 signed ceremony requests.
L.ceremonyRequest = 'chusme/v1/ceremony-request';
L.ceremonyDecline = 'chusme/v1/ceremony-decline';
const verifyingSharesHash = (participants, shares) =>
  sha256(frame(L.verifyingShares, ...participants.flatMap((fp) => [utf8(fp), hex(shares[fp])])));
const groupKeyConfirmMessage = (issuer, cid, groupKey, sharesHash, transcript, t, heads) =>
  frame(L.groupKeyConfirm, utf8(issuer), utf8(cid), groupKey, sharesHash, transcript, u64(t),
    ...heads.flatMap((h) => [utf8(h.fingerprint), u64(h.seq), hex(h.hash)]));
const confirmPayload = (sig, shareSig, transcript, heads, pkp) =>
  Buffer.concat([sig, shareSig, transcript, u32(heads.length), ...heads.flatMap((h) => [hex(h.fingerprint), u64(h.seq), hex(h.hash)]), pkp]);
// A share signature is an Ed25519 signature (RFC 8032) under the verifying
// share s·G, over SHA-256 of the confirmation statement and the holder.
const sharePossessionMessage = (statement, holder) => frame(L.sharePossession, sha256(statement), utf8(holder));

// §6 the chain.
const entryHash = (kind, statement, sig, newSig, ...keySigs) => sha256(frame(L.entry, utf8(kind), statement, sig, newSig, ...keySigs));

// §6 recovery key text: base32 (RFC 4648, no padding) of seed ‖ 3 check
// bytes, in groups of 4 joined by dashes.
const base32 = (b) => {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, acc = 0, out = '';
  for (const x of b) {
    acc = (acc << 8) | x; bits += 8;
    while (bits >= 5) { bits -= 5; out += abc[(acc >> bits) & 31]; }
  }
  if (bits > 0) out += abc[(acc << (5 - bits)) & 31];
  return out;
};
const recoveryKeyText = (seed) =>
  base32(Buffer.concat([seed, sha256(frame(L.recoveryCheck, seed)).subarray(0, 3)])).match(/.{4}/g).join('-');

// §7 the vault: header ‖ nonce ‖ AES-256-GCM(key, nonce, plaintext, AD = header).
const vaultHeader = (purpose, t, m, p, salt) => {
  const head = Buffer.alloc(9);
  head.writeUInt32BE(t, 0); head.writeUInt32BE(m, 4); head[8] = p;
  return Buffer.concat([utf8('CHUSMEV1'), Buffer.from([1, purpose.length]), utf8(purpose), head, salt]);
};
const vaultMaster = (pass, salt, t, m, p) => Buffer.from(argon2id(utf8(pass), salt, { t, m, p, dkLen: 32 }));
const hkdf32 = (ikm, info) => Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), utf8(info), 32));
const vaultKey = (master, purpose) => hkdf32(master, L.vault + purpose);
const gcmSeal = (key, nonce, pt, ad) => {
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(ad);
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
};
const gcmOpen = (key, nonce, ct, ad) => {
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(ad);
  d.setAuthTag(ct.subarray(ct.length - 16));
  return Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
};
// vaultOpen parses a sealed vault's header and opens it.
const vaultOpen = (pass, purpose, sealed) => {
  if (sealed.subarray(0, 8).toString() !== 'CHUSMEV1' || sealed[8] !== 1) throw new Error('not a vault');
  const n = sealed[9];
  if (sealed.subarray(10, 10 + n).toString() !== purpose) throw new Error('wrong purpose');
  let o = 10 + n;
  const t = sealed.readUInt32BE(o), m = sealed.readUInt32BE(o + 4), p = sealed[o + 8];
  if (t < 1 || t > 20 || p < 1 || p > 64 || m < 8 * p || m > 1 << 20) throw new Error('parameters out of bounds');
  const salt = sealed.subarray(o + 9, o + 25);
  o += 25;
  const key = vaultKey(vaultMaster(pass, salt, t, m, p), purpose);
  return gcmOpen(key, sealed.subarray(o, o + 12), sealed.subarray(o + 12), sealed.subarray(0, o));
};
// jsonFile is Go's two-space indented JSON with a final newline (members in
// the order given).
const jsonFile = (obj) => JSON.stringify(obj, null, 2) + '\n';

// §9 frost: identifiers and the encodings the files carry.
const ORDER = (1n << 252n) + 27742317777372353535851937790883648493n;
const leToBig = (b) => { let v = 0n; for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]); return v; };
const bigToLE32 = (v) => { const b = Buffer.alloc(32); for (let i = 0; i < 32; i++) { b[i] = Number(v & 0xffn); v >>= 8n; } return b; };
const deriveIdentifier = (fp) => bigToLE32(leToBig(sha512(utf8('FROST-ED25519-SHA512-v1'), utf8('id'), utf8(fp))) % ORDER);
// element decodes a point strictly: canonical, prime order, not the identity.
const element = (b) => {
  const p = ed25519.Point.fromBytes(b);
  if (!Buffer.from(p.toBytes()).equals(b) || p.is0() || !p.isTorsionFree()) throw new Error('invalid element');
  return p;
};
const scalar = (b) => { const v = leToBig(b); if (v >= ORDER) throw new Error('non-canonical scalar'); return v; };
// mul multiplies by a scalar that may be zero.
const mul = (p, k) => (k % ORDER === 0n ? ed25519.Point.ZERO : p.multiply(k % ORDER));
const parseDKGRound1Package = (b) => {
  if (b[0] !== 1 || b[1] !== 4) throw new Error('not a DKGRound1Package');
  const t = b.readUInt16BE(2);
  if (b.length !== 4 + 32 * t + 64) throw new Error('DKGRound1Package length');
  const commitment = [];
  for (let i = 0; i < t; i++) commitment.push(b.subarray(4 + 32 * i, 36 + 32 * i));
  return { commitment, R: b.subarray(4 + 32 * t, 36 + 32 * t), mu: b.subarray(36 + 32 * t) };
};
// verifyProofOfKnowledge checks R = μ·G − c·φ₀, c = SHA-512(ctx ‖ "dkg" ‖ id ‖ φ₀ ‖ R) mod L.
const verifyProofOfKnowledge = (id, pkg) => {
  const phi0 = element(pkg.commitment[0]), R = element(pkg.R), mu = scalar(pkg.mu);
  pkg.commitment.forEach(element);
  const c = leToBig(sha512(utf8('FROST-ED25519-SHA512-v1'), utf8('dkg'), id, pkg.commitment[0], pkg.R)) % ORDER;
  return mul(ed25519.Point.BASE, mu).subtract(mul(phi0, c)).equals(R);
};
const parsePublicKeyPackage = (b) => {
  if (b[0] !== 1 || b[1] !== 7) throw new Error('not a PublicKeyPackage');
  const t = b.readUInt16BE(2), groupKey = b.subarray(4, 36), n = b.readUInt16BE(36);
  const shares = new Map();
  for (let i = 0; i < n; i++) {
    const o = 38 + 64 * i;
    shares.set(b.subarray(o, o + 32).toString('hex'), b.subarray(o + 32, o + 64));
  }
  if (b.length !== 38 + 64 * n) throw new Error('PublicKeyPackage length');
  return { t, groupKey, shares };
};
const parseKeyPackage = (b) => {
  if (b[0] !== 1 || b[1] !== 6 || b.length !== 2 + 4 * 32 + 2) throw new Error('not a KeyPackage');
  return { id: b.subarray(2, 34), share: b.subarray(34, 66), verifyingShare: b.subarray(66, 98), groupKey: b.subarray(98, 130), t: b.readUInt16BE(130) };
};

// §8 HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
const hmac = (key, ...parts) => { const h = createHmac('sha256', key); for (const p of parts) h.update(p); return h.digest(); };
const expand = (prk, info, len) => {
  const out = []; let t = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < len; i++) { t = hmac(prk, t, info, Buffer.from([i])); out.push(t); }
  return Buffer.concat(out).subarray(0, len);
};
const labeledExtract = (suite, salt, label, ikm) => hmac(salt, utf8('HPKE-v1'), suite, utf8(label), ikm);
const labeledExpand = (suite, prk, label, info, len) => expand(prk, Buffer.concat([u16(len), utf8('HPKE-v1'), suite, utf8(label), info]), len);
const hpkeOpen = (skR, info, sealed) => {
  const kemSuite = Buffer.concat([utf8('KEM'), u16(0x0020)]);
  const suite = Buffer.concat([utf8('HPKE'), u16(0x0020), u16(0x0001), u16(0x0002)]);
  const enc = sealed.subarray(0, 32), ct = sealed.subarray(32);
  const pkR = Buffer.from(x25519.getPublicKey(skR));
  const dh = Buffer.from(x25519.getSharedSecret(skR, enc));
  const eae = labeledExtract(kemSuite, Buffer.alloc(0), 'eae_prk', dh);
  const shared = labeledExpand(kemSuite, eae, 'shared_secret', Buffer.concat([enc, pkR]), 32);
  const ctx = Buffer.concat([Buffer.from([0]),
    labeledExtract(suite, Buffer.alloc(0), 'psk_id_hash', Buffer.alloc(0)),
    labeledExtract(suite, Buffer.alloc(0), 'info_hash', info)]);
  const secret = labeledExtract(suite, shared, 'secret', Buffer.alloc(0));
  const key = labeledExpand(suite, secret, 'key', ctx, 32), nonce = labeledExpand(suite, secret, 'base_nonce', ctx, 12);
  return gcmOpen(key, nonce, ct, Buffer.alloc(0));
};
const dkgShareInfo = (cid, sender, recipient) => frame(L.share, utf8(cid), utf8(sender), utf8(recipient));

// One rebuild per vector type: inputs → the expected members.
const build = {
  fingerprint: (i) => ({ fingerprint: fingerprint(hex(i.public_key)) }),
  group_key_id: (i) => ({ key_id: fingerprint(hex(i.public_key)) }),
  safety_number: (i) => {
    const ab = safetyNumber(i.fingerprint_a, i.fingerprint_b);
    if (safetyNumber(i.fingerprint_b, i.fingerprint_a).safety_number !== ab.safety_number) throw new Error('the safety number depends on the order');
    return ab;
  },
  register_message: (i) => signed(registerMessage(i.issuer, Buffer.from(ed25519.getPublicKey(hex(i.seed)))), hex(i.seed)),
  login_message: (i) => signed(loginMessage(i.issuer, i.challenge_id, hex(i.nonce)), hex(i.seed)),
  totp_confirm_message: (i) => signed(totpConfirmMessage(i.issuer, i.fingerprint, hex(i.secret))),
  rotation_message: (i) => signed(rotationMessage(i.issuer, i.fingerprint, i.seq, hex(i.prev), hex(i.old_key), hex(i.new_key), i.time)),
  cancel_message: (i) => signed(cancelMessage(i.issuer, i.fingerprint, i.seq, i.cancels, hex(i.prev), hex(i.dropped), hex(i.restored), i.time)),
  ceremony_package_message: (i) => signed(packageMessage(i.ceremony_id, i.round, i.sender, i.recipient, hex(i.payload))),
  ceremony_complaint_message: (i) => signed(complaintMessage(i.ceremony_id, i.round, i.complainer, i.accused), hex(i.seed)),
  ceremony_secret_message: (i) => signed(secretMessage(i.ceremony_id, i.round, i.sender, i.recipient, hex(i.payload)), hex(i.seed)),
  chain: (i) => {
    const s0 = hex(i.genesis_seed), s1 = hex(i.new_seed);
    const k0 = Buffer.from(ed25519.getPublicKey(s0)), k1 = Buffer.from(ed25519.getPublicKey(s1));
    const fp = fingerprint(k0), none = Buffer.alloc(0);
    const gs = frame(L.genesis, utf8(fp), k0);
    const gh = entryHash('genesis', gs, none, none);
    const rs = rotationMessage(i.issuer, fp, 1, gh, k0, k1, i.rotate_time);
    const rsig = Buffer.from(ed25519.sign(rs, s0)), rnew = Buffer.from(ed25519.sign(rs, s1));
    const rh = entryHash('rotate', rs, rsig, rnew);
    const cs = cancelMessage(i.issuer, fp, 2, 1, rh, k1, k0, i.cancel_time);
    const csig = Buffer.from(ed25519.sign(cs, s0));
    if (!ed25519.verify(rsig, rs, k0) || !ed25519.verify(rnew, rs, k1) || !ed25519.verify(csig, cs, k0)) throw new Error('chain signatures');
    return {
      fingerprint: fp, genesis_key: k0, new_key: k1, genesis_statement: gs, genesis_hash: gh,
      rotate_statement: rs, rotate_signature: rsig, rotate_new_key_signature: rnew, rotate_hash: rh,
      cancel_statement: cs, cancel_signature: csig, cancel_hash: entryHash('cancel', cs, csig, none),
    };
  },
  recovery_chain: (i) => {
    const s0 = hex(i.genesis_seed), s1 = hex(i.new_seed), [sr1, sr2] = i.recovery_seeds.map(hex);
    const pub = (s) => Buffer.from(ed25519.getPublicKey(s)), sign = (m, s) => Buffer.from(ed25519.sign(m, s));
    const k0 = pub(s0), k1 = pub(s1), r1 = pub(sr1), r2 = pub(sr2);
    const fp = fingerprint(k0), none = Buffer.alloc(0);
    const gh = entryHash('genesis', frame(L.genesis, utf8(fp), k0), none, none);
    const ks = recoveryKeysMessage(i.issuer, fp, 1, gh, k0, k0, [r1, r2], i.keys_time);
    const ksig = sign(ks, s0), kk = [sign(ks, sr1), sign(ks, sr2)];
    const kh = entryHash('recovery_keys', ks, ksig, none, ...kk);
    const rs = recoverMessage(i.issuer, fp, 2, kh, r2, k0, k1, i.recover_time);
    const rsig = sign(rs, sr2), rnew = sign(rs, s1);
    const rh = entryHash('recover', rs, rsig, rnew);
    const cs = recoveryCancelMessage(i.issuer, fp, 3, 2, rh, r1, k1, k0, i.cancel_time);
    const csig = sign(cs, sr1);
    return {
      fingerprint: fp, recovery_key_1: r1, recovery_key_2: r2, new_key: k1,
      keys_statement: ks, keys_signature: ksig, key_signature_1: kk[0], key_signature_2: kk[1], keys_hash: kh,
      recover_statement: rs, recover_signature: rsig, recover_new_key_signature: rnew, recover_hash: rh,
      cancel_statement: cs, cancel_signature: csig, cancel_hash: entryHash('cancel', cs, csig, none),
    };
  },
  device_chain: (i) => {
    const s0 = hex(i.genesis_seed), s1 = hex(i.device_seed);
    const pub = (s) => Buffer.from(ed25519.getPublicKey(s)), sign = (m, s) => Buffer.from(ed25519.sign(m, s));
    const k0 = pub(s0), k1 = pub(s1), fp = fingerprint(k0), none = Buffer.alloc(0);
    const gh = entryHash('genesis', frame(L.genesis, utf8(fp), k0), none, none);
    const js = deviceJoinMessage(i.issuer, fp, k1, i.join_time), jsig = sign(js, s1);
    const as = deviceAddMessage(i.issuer, fp, 1, gh, k0, k1, i.join_time, i.add_time), asig = sign(as, s0);
    const ah = entryHash('device_add', as, asig, jsig);
    const rs = deviceRemoveMessage(i.issuer, fp, 2, ah, k1, k0, i.remove_time), rsig = sign(rs, s1);
    return {
      fingerprint: fp, device_key: k1, join_statement: js, join_signature: jsig,
      add_statement: as, add_signature: asig, add_hash: ah,
      remove_statement: rs, remove_signature: rsig, remove_hash: entryHash('device_remove', rs, rsig, none),
    };
  },
  recovery_key_text: (i) => ({ text: recoveryKeyText(hex(i.seed)), public_key: Buffer.from(ed25519.getPublicKey(hex(i.seed))) }),
  dkg_share_info: (i) => ({ message: dkgShareInfo(i.ceremony_id, i.sender, i.recipient) }),
  dkg_transcript_hash: (i) => ({
    hash: sha256(frame(L.transcript, utf8(i.ceremony_id), ...i.participants.flatMap((fp) => [utf8(fp), hex(i.payloads[fp])]))),
  }),
  dkg_round1_payload: (i) => ({ payload: Buffer.concat([hex(i.hpke_key), hex(i.frost_package)]) }),
  dkg_round1_package: (i) => {
    const id = deriveIdentifier(i.sender), pkg = parseDKGRound1Package(hex(i.package));
    if (pkg.commitment.length !== i.threshold) throw new Error('the commitment does not have t points');
    if (!verifyProofOfKnowledge(id, pkg)) throw new Error('the proof of knowledge does not verify');
    const bad = Buffer.from(hex(i.package)); bad[bad.length - 32] ^= 1; // the low byte of μ
    if (verifyProofOfKnowledge(id, parseDKGRound1Package(bad))) throw new Error('a tampered proof verifies');
    return { identifier: id, commitment_0: pkg.commitment[0] };
  },
  dkg_confirm_payload: (i) => ({
    payload: confirmPayload(hex(i.signature), hex(i.share_signature), hex(i.transcript), i.heads, hex(i.public_key_package)),
  }),
  share_possession_message: (i) => {
    const msg = sharePossessionMessage(hex(i.statement), i.holder);
    const share = ed25519.Point.BASE.multiply(leToBig(hex(i.signing_share))).toBytes();
    if (!ed25519.verify(hex(i.share_signature), msg, share)) throw new Error('the share signature does not verify under the verifying share');
    const bad = Buffer.from(hex(i.share_signature)); bad[40] ^= 1;
    if (ed25519.verify(bad, msg, share)) throw new Error('a changed share signature verifies');
    return { message: msg, verifying_share: share };
  },
  ceremony_request_message: (i) => {
    const mh = i.kind === 'sign' ? sha256(hex(i.message)) : Buffer.alloc(0);
    const msg = frame(L.ceremonyRequest, utf8(i.issuer), utf8(i.kind), u64(i.threshold), u64(i.participants.length),
      ...i.participants.map(utf8), utf8(i.key_id), mh, u64(i.round_timeout), Buffer.from([i.all_signers ? 1 : 0]),
      i64(i.deadline), hex(i.nonce), ...(['refresh', 'reshare', 'repair'].includes(i.kind) ? [u64(i.generation)] : []),
      ...(['reshare', 'repair'].includes(i.kind) ? [u64(i.new_participants.length), ...i.new_participants.map(utf8)] : []));
    return { message_sha256: mh, ...signed(msg, hex(i.seed)) };
  },
  ceremony_decline_message: (i) =>
    signed(frame(L.ceremonyDecline, utf8(i.issuer), utf8(i.ceremony_id), utf8(i.decliner)), hex(i.seed)),
  group_key_confirm_message: (i) => {
    const sh = verifyingSharesHash(i.participants, i.verifying_shares);
    const msg = groupKeyConfirmMessage(i.issuer, i.ceremony_id, hex(i.group_key), sh, hex(i.transcript), i.threshold, i.heads);
    return { verifying_shares_hash: sh, ...signed(msg, hex(i.seed)) };
  },
  group_key_endorse_message: (i) => {
    const msg = frame(L.groupKeyEndorse, utf8(i.issuer), utf8(i.ceremony_id), utf8(i.kind), utf8(i.endorser), hex(i.group_key),
      u64(i.generation), hex(i.verifying_shares_hash), hex(i.transcript), u64(i.threshold), ...i.holders.map(utf8));
    const s = signed(msg, hex(i.seed));
    return { ...s, payload: Buffer.concat([u64(i.head_seq), hex(i.head_hash), s.public_key, s.signature]) };
  },
  dkg_share_seal: (i) => {
    const sk = hex(i.recipient_private_key);
    const pt = hpkeOpen(sk, dkgShareInfo(i.ceremony_id, i.sender, i.recipient), hex(i.sealed));
    // A sealed secret: the secret, then its sender's 64-byte signature.
    const secret = pt.subarray(0, pt.length - 64), sig = pt.subarray(pt.length - 64);
    if (secret[0] !== 1 || secret[1] !== 5 || secret.length !== 34) throw new Error('not a DKGRound2Package');
    const pub = Buffer.from(ed25519.getPublicKey(hex(i.sender_seed)));
    if (fingerprint(pub) !== i.sender) throw new Error('the sender is not the seed\'s identity');
    if (!ed25519.verify(sig, secretMessage(i.ceremony_id, 2, i.sender, i.recipient, secret), pub)) throw new Error('the secret signature does not verify');
    return { recipient_public_key: Buffer.from(x25519.getPublicKey(sk)), plaintext: pt, secret, sender_public_key: pub, secret_signature: sig };
  },
  commitment_digest: (i) => ({ digest: sha256(u32(hex(i.hiding).length), hex(i.hiding), hex(i.binding)) }),
  login_challenge: (i) => {
    const macKey = hkdf32(hex(i.data_key), L.challengeMAC);
    const body = Buffer.concat([Buffer.from([1]), u64(BigInt(i.expires_unix_ns)), hex(i.nonce), hex(i.fingerprint)]);
    const tag = hmac(macKey, body);
    return { mac_key: macKey, tag, id: b64url(Buffer.concat([body, tag])) };
  },
  refresh_token: (i) => {
    const macKey = hkdf32(hex(i.data_key), L.refreshMAC);
    const body = Buffer.concat([Buffer.from([1]), u64(BigInt(i.seq)), utf8(i.session_id)]);
    const tag = hmac(macKey, body);
    return { mac_key: macKey, tag, token: b64url(Buffer.concat([body, tag])) };
  },
  totp_secret_ad: (i) => ({ ad: Buffer.concat([utf8(L.totpSecret), Buffer.from([0]), utf8(i.fingerprint)]) }),
  vault: (i) => {
    const salt = hex(i.salt), nonce = hex(i.nonce), pt = hex(i.plaintext);
    const header = vaultHeader(i.purpose, i.time, i.memory_kib, i.threads, salt);
    const master = vaultMaster(i.passphrase, salt, i.time, i.memory_kib, i.threads);
    const key = vaultKey(master, i.purpose);
    const sealed = Buffer.concat([header, nonce, gcmSeal(key, nonce, pt, header)]);
    if (!vaultOpen(i.passphrase, i.purpose, sealed).equals(pt)) throw new Error('vault does not reopen');
    return { header, argon2id: master, key, key_material: Buffer.concat([header, key]), sealed };
  },
  backup: (i) => {
    const seed = hex(i.seed);
    const p = { version: i.version, fingerprint: i.fingerprint, seed: b64url(seed) };
    if (i.version >= 2) {
      p.shares = i.shares.map((s) => {
        // Each share is the identity's share of the group key its key id names.
        const kp = parseKeyPackage(hex(s.key_package));
        if (s.identity !== i.fingerprint || !kp.id.equals(deriveIdentifier(s.identity)) || fingerprint(kp.groupKey) !== s.key_id) {
          throw new Error(`the share of key ${s.key_id} is not the identity's share of that key`);
        }
        const o = { key_id: s.key_id, generation: s.generation, identity: s.identity };
        if (s.ceremony_id) o.ceremony_id = s.ceremony_id;
        o.key_package = b64url(hex(s.key_package));
        return o;
      });
    }
    if (i.version >= 3) {
      // Each key at most once, in shares or in dropped; a dropped share is of generation 2 or later.
      const keys = new Set(i.shares.map((s) => s.key_id));
      p.dropped = i.dropped.map((d) => {
        if (keys.has(d.key_id) || d.generation < 2 || !/^[0-9a-f]{64}$/.test(d.key_id)) throw new Error(`a bad dropped share of key ${d.key_id}`);
        keys.add(d.key_id);
        return { key_id: d.key_id, generation: d.generation };
      });
    }
    const plaintext = utf8(JSON.stringify(p));
    if (!vaultOpen(i.passphrase, 'identity-backup', hex(i.sealed)).equals(plaintext)) throw new Error('the sealed backup is not this plaintext');
    return { plaintext };
  },
  key_file: (i) => {
    const seed = hex(i.seed), pub = Buffer.from(ed25519.getPublicKey(seed));
    if (!vaultOpen(i.passphrase, 'identity-key', hex(i.sealed)).equals(seed)) throw new Error('the sealed seed is not the seed');
    const f = { version: 1, fingerprint: fingerprint(pub), public_key: b64url(pub), sealed: b64url(hex(i.sealed)) };
    if (i.identity) f.identity = i.identity;
    return { public_key: pub, fingerprint: f.fingerprint, file: jsonFile(f) };
  },
  share_file: (i) => {
    const pub = parsePublicKeyPackage(hex(i.public_key_package));
    const kpBytes = vaultOpen(i.passphrase, 'frost-key-share', hex(i.sealed));
    if (!kpBytes.equals(hex(i.key_package))) throw new Error('the sealed key package is not the key package');
    const kp = parseKeyPackage(kpBytes), id = deriveIdentifier(i.identity);
    const vs = pub.shares.get(id.toString('hex'));
    if (!kp.id.equals(id) || !kp.groupKey.equals(pub.groupKey) || kp.t !== pub.t || !vs || !vs.equals(kp.verifyingShare)) {
      throw new Error('the key package is not this identity\'s share of the group key');
    }
    if (!Buffer.from(mul(ed25519.Point.BASE, scalar(kp.share)).toBytes()).equals(kp.verifyingShare)) {
      throw new Error('the verifying share is not the signing share times G');
    }
    const keyID = fingerprint(pub.groupKey);
    const f = { version: 2, key_id: keyID, generation: i.generation, identity: i.identity };
    if (i.ceremony_id) f.ceremony_id = i.ceremony_id;
    f.public_key_package = b64url(hex(i.public_key_package));
    f.sealed = b64url(hex(i.sealed));
    return { key_id: keyID, identifier: id, file: jsonFile(f) };
  },
  backup_state: (i) => {
    // The key material: a vault header of purpose identity-backup, then the 32-byte AES key.
    const km = vaultOpen(i.passphrase, 'backup-key', hex(i.sealed));
    const n = km[9];
    if (km.subarray(0, 8).toString() !== 'CHUSMEV1' || km.subarray(10, 10 + n).toString() !== 'identity-backup' || km.length !== 10 + n + 9 + 16 + 32) {
      throw new Error('the sealed key material is not a backup vault header and a key');
    }
    const f = { version: 1, identity: i.identity, key: b64url(hex(i.sealed)), etag: i.etag, pushed_at: i.pushed_at,
      shares: i.shares.map((s) => ({ key_id: s.key_id, generation: s.generation })) };
    return { key_material: km, file: jsonFile(f) };
  },
  ceremony_state: (i) => {
    const key = vaultOpen(i.passphrase, 'ceremony-state', hex(i.sealed_key));
    const ad = frame(L.ceremonyState, utf8(i.ceremony_id)), nonce = hex(i.nonce);
    const state = Buffer.concat([nonce, gcmSeal(key, nonce, utf8(i.plaintext), ad)]);
    if (gcmOpen(key, nonce, state.subarray(12), ad).toString('utf8') !== i.plaintext) throw new Error('the state does not reopen');
    const f = { version: 1, ceremony_id: i.ceremony_id, round: JSON.parse(i.plaintext).round, key: b64url(hex(i.sealed_key)), state: b64url(state) };
    return { state_key: key, ad, state, file: jsonFile(f) };
  },
};

const show = (v) => (typeof v === 'string' ? JSON.stringify(v) : Buffer.from(v).toString('hex'));
let failed = 0;
for (const v of file.vectors) {
  const problems = [];
  try {
    if (!build[v.type]) throw new Error(`unknown vector type ${v.type}`);
    const got = build[v.type](v.inputs);
    for (const [k, want] of Object.entries(v.expected)) {
      if (!(k in got)) { problems.push(`${k} not rebuilt`); continue; }
      const g = typeof got[k] === 'string' ? got[k] : Buffer.from(got[k]).toString('hex');
      if (g !== want) problems.push(`${k} = ${show(got[k])}, want ${JSON.stringify(want)}`);
    }
    if (Object.keys(v.expected).length === 0) problems.push('no expected values');
  } catch (e) {
    problems.push(e.message);
  }
  if (problems.length) failed++;
  console.log(`${problems.length ? 'FAIL' : 'ok  '} ${v.type} ${v.name}${problems.length ? ': ' + problems.join('; ') : ''}`);
}
console.log(`${file.vectors.length - failed}/${file.vectors.length} vectors rebuilt`);
process.exit(failed ? 1 : 0);
