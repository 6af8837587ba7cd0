// Offline checks of the pieces frost_ws.mjs is built from, against published
// vectors: RFC 9180 HPKE (hpke.mjs), and @noble/curves' ed25519_FROST with
// ChusMe's encodings (chusme_wire.mjs) against RFC 9591 Appendix E.1 and the
// Zcash Foundation frost-core DKG vector in ../shared/vectors (read in place;
// skipped when absent, except in CI). Run: node --test frost_offline.mjs
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { ed25519, ed25519_FROST as frost } from '@noble/curves/ed25519.js';
import * as hpke from './hpke.mjs';
import * as wire from './chusme_wire.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const x = (s) => Buffer.from(s, 'hex');
const hex = (b) => Buffer.from(b).toString('hex');

// vector reads a file of ../shared/vectors, or skips the test (fails in CI).
function vector(t, name) {
  const file = path.join(here, '..', '..', '..', 'shared', 'vectors', name);
  if (!fs.existsSync(file)) {
    if (process.env.CI) assert.fail(`vector file ${file} missing`);
    t.skip(`vector file ${file} not found`);
    return null;
  }
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// RFC 9180 test vector, from the CFRG's test-vectors.json published with the
// RFC (github.com/cfrg/draft-irtf-cfrg-hpke): mode_base, DHKEM(X25519,
// HKDF-SHA256) 0x0020, HKDF-SHA256 0x0001, AES-256-GCM 0x0002, encryption 0.
// (The RFC's appendix prints only the AES-128-GCM and ChaCha20-Poly1305
// variants of this KEM.)
const RFC9180 = {
  info: '4f6465206f6e2061204772656369616e2055726e',
  skEm: '179d4b53b6365c45b600c4163b61d95cbc2f4d9e36f1695558dce265ab8bab11',
  pkEm: '6c93e09869df3402d7bf231bf540fadd35cd56be14f97178f0954db94b7fc256',
  skRm: '497b4502664cfea5d5af0b39934dac72242a74f8480451e1aee7d6a53320333d',
  pkRm: '430f4b9859665145a6b1ba274024487bd66f03a2dd577d7753c68d7d7d00c00c',
  sharedSecret: '3101c54c3a4f87439eaac080699ed9bbcc726ffe44e860c0424ccb7e3e2ead7b',
  key: 'f50b0609186798729ed0564b36ef2ef8044f1f9d05636874d1f46c819c7a669f',
  baseNonce: '151d9929e2449747889bc923',
  aad: '436f756e742d30',
  pt: '4265617574792069732074727574682c20747275746820626561757479',
  ct: 'e5d84cd531cfb583096e7cfa9641bd3079cf3a91cda813c52deb5f512be9931980a41de125a925cdad859d5b7a',
};

test('HPKE reproduces the RFC 9180 X25519 / HKDF-SHA256 / AES-256-GCM vector', () => {
  const v = RFC9180;
  const skE = hpke.x25519PrivateKey(x(v.skEm));
  const skR = hpke.x25519PrivateKey(x(v.skRm));
  assert.equal(hex(hpke.rawPublicKey(skE)), v.pkEm);
  assert.equal(hex(hpke.rawPublicKey(skR)), v.pkRm);
  const ks = hpke.keySchedule(x(v.sharedSecret), x(v.info));
  assert.equal(hex(ks.key), v.key);
  assert.equal(hex(ks.baseNonce), v.baseNonce);
  const sealed = hpke.seal(x(v.pkRm), x(v.info), x(v.pt), { aad: x(v.aad), ephemeral: skE });
  assert.equal(hex(sealed), v.pkEm + v.ct); // enc is pkEm
  assert.equal(hex(hpke.open(skR, x(v.info), sealed, x(v.aad))), v.pt);
});

test('HPKE open refuses a changed ciphertext, info or recipient', () => {
  const r = hpke.generateKeyPair();
  const info = wire.dkgShareInfo('c', 'a', 'b');
  const sealed = hpke.seal(r.publicKey, info, Buffer.from('share'));
  assert.equal(hpke.open(r.privateKey, info, sealed).toString(), 'share');
  const flipped = Buffer.from(sealed);
  flipped[40] ^= 1;
  assert.throws(() => hpke.open(r.privateKey, info, flipped));
  assert.throws(() => hpke.open(r.privateKey, wire.dkgShareInfo('c', 'b', 'a'), sealed));
  assert.throws(() => hpke.open(hpke.generateKeyPair().privateKey, info, sealed));
});

test('identifiers derive as frost-core: SHA-512(context ‖ "id" ‖ fingerprint) mod L', () => {
  const fp = wire.fingerprint(Buffer.alloc(32, 7));
  const d = crypto.createHash('sha512').update('FROST-ED25519-SHA512-v1id' + fp).digest();
  const n = BigInt('0x' + hex(Buffer.from(d).reverse())) % wire.GROUP_ORDER;
  const le = Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse();
  assert.equal(wire.identifier(fp), hex(le));
});

test('signedMessage frames the label, a zero byte and big-endian length-prefixed fields', () => {
  assert.equal(hex(wire.signedMessage('L', 'ab', Buffer.alloc(0))), hex(Buffer.from('L\0\0\0\0\x02ab\0\0\0\0', 'latin1')));
  const m = wire.ceremonyPackageMessage('id', 12, 's', '', Buffer.from('p'));
  const h = crypto.createHash('sha256').update('p').digest();
  assert.equal(hex(m), hex(wire.signedMessage('chusme/v1/ceremony-package', 'id', '12', 's', '', h)));
});

// The RFC 9591 Appendix E.1 participants, as noble secrets and public package.
function rfcKey(v) {
  const t = Number(v.config.MIN_PARTICIPANTS);
  const shares = Object.fromEntries(v.inputs.participant_shares.map((s) => [frost.Identifier.fromNumber(s.identifier), x(s.participant_share)]));
  const pub = { signers: { min: t, max: Number(v.config.MAX_PARTICIPANTS) }, commitments: [x(v.inputs.group_public_key)], verifyingShares: {} };
  return { shares, pub };
}

test('noble FROST reproduces RFC 9591 E.1 signing through ChusMe encodings', (t) => {
  const v = vector(t, 'frost-ed25519-sha512.rfc9591.json');
  if (!v) return;
  const { shares, pub } = rfcKey(v);
  const msg = x(v.inputs.message);
  const commitments = [];
  const nonces = {};
  for (const o of v.round_one_outputs.outputs) {
    const id = frost.Identifier.fromNumber(o.identifier);
    const rand = [x(o.hiding_nonce_randomness), x(o.binding_nonce_randomness)];
    const c = frost.commit({ identifier: id, signingShare: shares[id] }, () => rand.shift());
    assert.equal(hex(c.nonces.hiding), o.hiding_nonce);
    assert.equal(hex(c.nonces.binding), o.binding_nonce);
    assert.equal(hex(wire.encodeCommitments(c.commitments)), '0101' + o.hiding_nonce_commitment + o.binding_nonce_commitment);
    commitments.push(c.commitments);
    nonces[id] = c.nonces;
  }
  // The signing package as the coordinator encodes it, decoded back.
  const enc = Buffer.concat([
    Buffer.from([1, 2, 0, commitments.length]),
    ...commitments.flatMap((c) => [x(c.identifier), c.hiding, c.binding]),
    Buffer.from([0, 0, 0, msg.length]), msg,
  ]);
  const pkg = wire.decodeSigningPackage(enc);
  assert.deepEqual(pkg.message, msg);
  const sigShares = {};
  for (const o of v.round_two_outputs.outputs) {
    const id = frost.Identifier.fromNumber(o.identifier);
    const z = frost.signShare({ identifier: id, signingShare: shares[id] }, pub, nonces[id], pkg.commitments, pkg.message);
    assert.equal(hex(wire.encodeSignatureShare(z)), '0103' + o.sig_share);
    sigShares[id] = z;
  }
  pub.verifyingShares = Object.fromEntries(Object.entries(shares).map(([id, s]) => [id, ed25519.Point.BASE.multiply(frost.utils.Fn.fromBytes(s)).toBytes()]));
  const sig = frost.aggregate(pub, pkg.commitments, msg, sigShares);
  assert.equal(hex(sig), v.final_output.sig);
  const groupKey = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: x(v.inputs.group_public_key).toString('base64url') }, format: 'jwk' });
  assert.ok(crypto.verify(null, msg, groupKey, sig));
});

test('a signing package with unsorted signers or trailing bytes is refused', () => {
  const id1 = frost.Identifier.fromNumber(1);
  const id2 = frost.Identifier.fromNumber(2);
  const p = Buffer.alloc(32, 0x11);
  const pkg = (a, b, tail) => Buffer.concat([Buffer.from([1, 2, 0, 2]), x(a), p, p, x(b), p, p, Buffer.from([0, 0, 0, 1, 0x6d]), tail]);
  assert.equal(wire.decodeSigningPackage(pkg(id1, id2, Buffer.alloc(0))).commitments.length, 2);
  assert.throws(() => wire.decodeSigningPackage(pkg(id2, id1, Buffer.alloc(0))), /ascending/);
  assert.throws(() => wire.decodeSigningPackage(pkg(id1, id2, Buffer.from([0]))), /trailing/);
});

test('noble DKG reproduces the frost-core DKG vector through ChusMe encodings', (t) => {
  const v = vector(t, 'vectors_dkg.json');
  if (!v) return;
  const signers = { min: v.config.MIN_PARTICIPANTS, max: v.config.MAX_PARTICIPANTS };
  const parts = Object.entries(v.inputs).filter(([k]) => /^\d+$/.test(k)).map(([, p]) => p);
  const id = (n) => frost.Identifier.fromNumber(n);
  // Each published round-1 package, through the encoding ChusMe relays.
  const round1 = new Map(parts.map((p) => {
    const enc = wire.encodeDKGRound1(p.vss_commitments.map(x), x(p.proof_of_knowledge));
    return [p.identifier, { identifier: id(p.identifier), ...wire.decodeDKGRound1(enc) }];
  }));
  const verifyingShares = {};
  for (const p of parts) {
    const coefficients = [p.signing_key, p.coefficient].map((s) => frost.utils.Fn.fromBytes(x(s)));
    const poly = frost.utils.generateSecretPolynomial(signers, x(p.signing_key), coefficients.slice(1));
    assert.deepEqual(poly.commitment.map(hex), p.vss_commitments);
    const secret = { identifier: BigInt(p.identifier), coefficients, commitment: poly.commitment, signers, step: 1 };
    const others = parts.filter((o) => o !== p).map((o) => round1.get(o.identifier));
    const sent = frost.DKG.round2(secret, others); // verifies the proofs of knowledge
    for (const o of parts.filter((o) => o !== p)) {
      const share = sent[id(o.identifier)].signingShare;
      assert.equal(hex(wire.decodeDKGRound2(wire.encodeDKGRound2(share))), o.signing_shares[p.identifier]);
    }
    const received = Object.entries(p.signing_shares).map(([from, s]) => ({ identifier: id(Number(from)), signingShare: x(s) }));
    const key = frost.DKG.round3(secret, others, received);
    assert.equal(hex(key.secret.signingShare), p.signing_share);
    assert.equal(hex(key.public.verifyingShares[id(p.identifier)]), p.verifying_share);
    assert.equal(hex(key.public.commitments[0]), v.inputs.verifying_key);
    Object.assign(verifyingShares, key.public.verifyingShares);
  }
  // The public key package: threshold, group key, shares in identifier order.
  const ppk = wire.encodePublicKeyPackage(2, x(v.inputs.verifying_key), verifyingShares);
  const want = '0107' + '0002' + v.inputs.verifying_key + '0003' + [1, 2, 3].map((n) => id(n) + parts.find((p) => p.identifier === n).verifying_share).join('');
  assert.equal(hex(ppk), want);
});
