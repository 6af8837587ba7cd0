// An offline check of a group key certificate, written from
// docs/protocol.md ("Group key certificates") alone: it reads
// {"issuer", "key": GroupKeyInfo as GET /v1/keys/{key_id} answers it} on
// stdin, checks that the key's participants made it — the key id, the
// certificate's ceremony, threshold, issuer and verifying-shares hash,
// one confirmation per participant, every signature over the one
// statement, every share signature under its holder's verifying share, and for a participant confirmed at its genesis head (seq 0)
// that its key hashes to its fingerprint and the head hash is its genesis
// entry's — and then that changing any one byte of the certificate or of
// what it certifies is refused. It prints {"ok": true, "made_by": […],
// "refused": N} or exits 1 with "cert: REASON" on stderr.
import crypto from 'node:crypto';

const utf8 = (s) => Buffer.from(s, 'utf8');
const b64 = (s) => Buffer.from(s ?? '', 'base64url');
const sha256 = (b) => crypto.createHash('sha256').update(b).digest();
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };
const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(v)); return b; };
// §2: label ‖ NUL ‖ (u32be length ‖ bytes)*.
const frame = (label, ...fields) => Buffer.concat([utf8(label), Buffer.from([0]), ...fields.flatMap((f) => [u32(f.length), f])]);
const fingerprint = (pub) => sha256(pub).toString('hex');
const ed25519Key = (raw) => crypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
// §6: the genesis entry's hash, its statement and two empty signatures.
const genesisHash = (fp, key) =>
  sha256(frame('chusme/v1/chain-entry', utf8('genesis'), frame('chusme/v1/chain-genesis', utf8(fp), key), Buffer.alloc(0), Buffer.alloc(0)));

class Refused extends Error {}
const refuse = (msg) => { throw new Refused(msg); };

// check throws Refused unless key's certificate shows that its participants
// made it for issuer; it returns who made it.
function check(issuer, k) {
  const pub = b64(k.public_key);
  if (pub.length !== 32 || fingerprint(pub) !== k.key_id) refuse('the key id is not the public key\'s');
  const c = k.certificate;
  if (!c) refuse('no certificate');
  if (c.issuer !== issuer) refuse(`bound to issuer ${c.issuer}`);
  if (c.ceremony_id !== k.ceremony_id || c.threshold !== k.threshold) refuse('another ceremony or threshold');
  const parts = k.participants;
  if (new Set(parts).size !== parts.length) refuse('a participant is listed twice');
  if (Object.keys(k.verifying_shares).length !== parts.length || !parts.every((fp) => fp in k.verifying_shares)) refuse('not one share per participant');
  const sharesHash = sha256(frame('chusme/v1/verifying-shares', ...parts.flatMap((fp) => [utf8(fp), b64(k.verifying_shares[fp])])));
  if (!sharesHash.equals(b64(c.verifying_shares_hash))) refuse('the verifying-shares hash is not the shares\'');
  if (c.confirmations.length !== parts.length) refuse(`${c.confirmations.length} confirmations for ${parts.length} participants`);
  c.confirmations.forEach((cf, i) => {
    if (cf.fingerprint !== parts[i] || b64(cf.head_hash).length !== 32) refuse(`confirmation ${i} is not ${parts[i]}'s`);
  });
  const msg = frame('chusme/v1/group-key-confirm', utf8(issuer), utf8(k.ceremony_id), pub, sharesHash, b64(c.transcript), u64(k.threshold),
    ...c.confirmations.flatMap((cf) => [utf8(cf.fingerprint), u64(cf.head_seq), b64(cf.head_hash)]));
  for (const cf of c.confirmations) {
    const key = b64(cf.public_key);
    if (key.length !== 32 || !crypto.verify(null, msg, ed25519Key(key), b64(cf.signature))) refuse(`the signature of ${cf.fingerprint} does not verify`);
    const possession = frame('chusme/v1/share-possession', sha256(msg), utf8(cf.fingerprint));
    if (!crypto.verify(null, possession, ed25519Key(b64(k.verifying_shares[cf.fingerprint])), b64(cf.share_signature))) {
      refuse(`the share signature of ${cf.fingerprint} does not verify`);
    }
    if (cf.head_seq === 0 && (fingerprint(key) !== cf.fingerprint || !genesisHash(cf.fingerprint, key).equals(b64(cf.head_hash)))) {
      refuse(`${cf.fingerprint}'s genesis head is not its key's`);
    }
  }
  return c.confirmations.map((cf) => ({ fingerprint: cf.fingerprint, head_seq: cf.head_seq, genesis: cf.head_seq === 0 }));
}

// spoilt yields copies of k, each with one byte of one binary member of the
// certificate or of what it certifies changed.
function* spoilt(k) {
  const flip = (s) => { const b = b64(s); b[b.length >> 1] ^= 1; return b.toString('base64url'); };
  const copy = () => JSON.parse(JSON.stringify(k));
  for (const f of ['transcript', 'verifying_shares_hash']) { const x = copy(); x.certificate[f] = flip(x.certificate[f]); yield [f, x]; }
  { const x = copy(); x.public_key = flip(x.public_key); yield ['public_key', x]; }
  for (const fp of k.participants) { const x = copy(); x.verifying_shares[fp] = flip(x.verifying_shares[fp]); yield [`verifying share of ${fp}`, x]; }
  for (let i = 0; i < k.certificate.confirmations.length; i++) {
    for (const f of ['head_hash', 'public_key', 'signature', 'share_signature']) { const x = copy(); x.certificate.confirmations[i][f] = flip(x.certificate.confirmations[i][f]); yield [`${f} ${i}`, x]; }
  }
}

async function main() {
  const chunks = [];
  for await (const ch of process.stdin) chunks.push(ch);
  const { issuer, key } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const madeBy = check(issuer, key);
  let refused = 0;
  for (const [what, x] of spoilt(key)) {
    try {
      check(issuer, x);
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      refused++;
      continue;
    }
    refuse(`a certificate with one byte of ${what} changed was accepted`);
  }
  console.log(JSON.stringify({ ok: true, key_id: key.key_id, made_by: madeBy, refused }));
}

main().catch((e) => { process.stderr.write(`cert: ${e.message}\n`); process.exit(1); });
