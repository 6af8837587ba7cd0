// RFC 9180 HPKE, base mode, for the one suite ChusMe seals DKG round-2
// packages with: DHKEM(X25519, HKDF-SHA256) (0x0020), HKDF-SHA256 (0x0001),
// AES-256-GCM (0x0002). Only Node's crypto: X25519, HMAC-SHA256, AES-GCM.
//
// A sealed message is single-shot, as Go's crypto/hpke Seal writes it:
// enc (the sender's 32-byte ephemeral X25519 key) ‖ AES-256-GCM ciphertext
// and tag, sealed with sequence number 0 and empty associated data.
import crypto from 'node:crypto';

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0002;
const N_SECRET = 32; // DHKEM(X25519) shared secret
const N_K = 32; // AES-256-GCM key
const N_N = 12; // AES-GCM nonce
const N_T = 16; // AES-GCM tag
const N_ENC = 32; // X25519 public key

const u16 = (n) => Buffer.from([n >> 8, n & 0xff]);
const KEM_SUITE = Buffer.concat([Buffer.from('KEM'), u16(KEM_ID)]);
const HPKE_SUITE = Buffer.concat([Buffer.from('HPKE'), u16(KEM_ID), u16(KDF_ID), u16(AEAD_ID)]);
const VERSION = Buffer.from('HPKE-v1');

// DER wrappers of raw X25519 keys (RFC 8410).
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

// RFC 5869 HKDF-Extract; an empty salt is HashLen zeros, as HMAC pads it.
const extract = (salt, ikm) => hmac(salt, ikm);

// RFC 5869 HKDF-Expand.
function expand(prk, info, length) {
  const blocks = [];
  let t = Buffer.alloc(0);
  for (let i = 1; 32 * blocks.length < length; i++) {
    t = hmac(prk, Buffer.concat([t, info, Buffer.from([i])]));
    blocks.push(t);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** RFC 9180 §4 LabeledExtract. */
export function labeledExtract(suite, salt, label, ikm) {
  return extract(salt, Buffer.concat([VERSION, suite, Buffer.from(label), ikm]));
}

/** RFC 9180 §4 LabeledExpand. */
export function labeledExpand(suite, prk, label, info, length) {
  return expand(prk, Buffer.concat([u16(length), VERSION, suite, Buffer.from(label), info]), length);
}

/** x25519PrivateKey wraps a raw 32-byte X25519 private key. */
export function x25519PrivateKey(raw) {
  return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
}

/** x25519PublicKey wraps a raw 32-byte X25519 public key. */
export function x25519PublicKey(raw) {
  if (raw.length !== N_ENC) throw new Error('hpke: an X25519 public key is 32 bytes');
  return crypto.createPublicKey({ key: Buffer.concat([SPKI_X25519, raw]), format: 'der', type: 'spki' });
}

/** rawPublicKey returns the 32 raw bytes of an X25519 key's public half. */
export function rawPublicKey(key) {
  const pub = key.type === 'private' ? crypto.createPublicKey(key) : key;
  return pub.export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519.length);
}

/** generateKeyPair draws a fresh X25519 key pair: { privateKey, publicKey (32 raw bytes) }. */
export function generateKeyPair() {
  const { privateKey } = crypto.generateKeyPairSync('x25519');
  return { privateKey, publicKey: rawPublicKey(privateKey) };
}

// DH refuses the all-zero output (RFC 9180 §7.1.4): a low-order peer key.
function dh(privateKey, publicKey) {
  const z = crypto.diffieHellman({ privateKey, publicKey });
  if (z.every((b) => b === 0)) throw new Error('hpke: X25519 produced the all-zero shared secret');
  return z;
}

// DHKEM ExtractAndExpand (RFC 9180 §4.1).
function kemSharedSecret(dhOut, enc, pkR) {
  const prk = labeledExtract(KEM_SUITE, Buffer.alloc(0), 'eae_prk', dhOut);
  return labeledExpand(KEM_SUITE, prk, 'shared_secret', Buffer.concat([enc, pkR]), N_SECRET);
}

/** keySchedule is RFC 9180 §5.1 KeySchedule in base mode: { key, baseNonce }. */
export function keySchedule(sharedSecret, info) {
  const empty = Buffer.alloc(0);
  const context = Buffer.concat([
    Buffer.from([0x00]), // mode_base
    labeledExtract(HPKE_SUITE, empty, 'psk_id_hash', empty),
    labeledExtract(HPKE_SUITE, empty, 'info_hash', info),
  ]);
  const secret = labeledExtract(HPKE_SUITE, sharedSecret, 'secret', empty);
  return {
    key: labeledExpand(HPKE_SUITE, secret, 'key', context, N_K),
    baseNonce: labeledExpand(HPKE_SUITE, secret, 'base_nonce', context, N_N),
  };
}

/**
 * seal encrypts plaintext to the raw X25519 public key pkR with info (and
 * associated data aad, empty for ChusMe), and returns enc ‖ ciphertext.
 * ephemeral (a private KeyObject) is for test vectors only; by default a
 * fresh key is drawn.
 */
export function seal(pkR, info, plaintext, { aad = Buffer.alloc(0), ephemeral = generateKeyPair().privateKey } = {}) {
  const enc = rawPublicKey(ephemeral);
  const shared = kemSharedSecret(dh(ephemeral, x25519PublicKey(pkR)), enc, pkR);
  const { key, baseNonce } = keySchedule(shared, info);
  const c = crypto.createCipheriv('aes-256-gcm', key, baseNonce); // sequence 0: the base nonce
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return Buffer.concat([enc, ct]);
}

/**
 * open decrypts enc ‖ ciphertext sealed to the private KeyObject skR with
 * info (and aad). It throws if the message is too short or fails
 * authentication.
 */
export function open(skR, info, sealed, aad = Buffer.alloc(0)) {
  if (sealed.length < N_ENC + N_T) throw new Error('hpke: sealed message too short');
  const enc = sealed.subarray(0, N_ENC);
  const shared = kemSharedSecret(dh(skR, x25519PublicKey(enc)), enc, rawPublicKey(skR));
  const { key, baseNonce } = keySchedule(shared, info);
  const d = crypto.createDecipheriv('aes-256-gcm', key, baseNonce);
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - N_T));
  return Buffer.concat([d.update(sealed.subarray(N_ENC, sealed.length - N_T)), d.final()]);
}
