// Package frost implements FROST(Ed25519, SHA-512) threshold signatures as
// specified by RFC 9591, and the Pedersen distributed key generation with
// Schnorr proofs of knowledge in the form used by the Zcash Foundation's
// frost-core, on top of filippo.io/edwards25519.
//
// It is pure protocol code: no I/O, no goroutines, no package-level mutable
// state. Every hash uses a fresh SHA-512 state, so all functions are safe for
// concurrent use; the only mutable values a caller shares are SigningNonces,
// which guard themselves. Signatures produced by Aggregate are ordinary
// Ed25519 signatures and verify with crypto/ed25519.Verify under the group
// key.
//
// # Roles
//
// Participants (clients) run the DKG parts 1–3 and the signing rounds 1–2.
// The coordinator (the ChusMe server) relays messages, checks DKG round-1
// proofs of knowledge with VerifyDKGRound1Package, builds the SigningPackage,
// verifies signature shares naming cheaters, and aggregates.
//
// # Distributed key generation
//
// With n participants and threshold t (2 ≤ t ≤ n ≤ MaxParticipants), each
// participant i with identifier id_i:
//
//  1. calls DKGPart1(nil, id_i, n, t), keeps the DKGRound1Secret and
//     broadcasts the DKGRound1Package (the coordinator checks it with
//     VerifyDKGRound1Package and relays it to everyone);
//  2. calls DKGPart2 with its round-1 secret and the n-1 other round-1
//     packages keyed by sender; it verifies their proofs of knowledge (a bad
//     one yields a *CheaterError naming the sender), keeps the
//     DKGRound2Secret and sends each DKGRound2Package, confidentially and
//     authenticated, to the participant it is keyed by;
//  3. calls DKGPart3 with its round-2 secret, the same round-1 packages and
//     the n-1 round-2 packages it received; it checks every share against its
//     sender's commitment (a bad share yields a *CheaterError naming the
//     sender) and returns the KeyPackage to keep and the PublicKeyPackage,
//     which every participant and the coordinator share.
//
// Identifiers are non-zero scalars: IdentifierFromUint16 gives the small
// integers of the RFC vectors, DeriveIdentifier maps arbitrary bytes (ChusMe
// uses the lowercase-hex identity fingerprint) to an identifier exactly as
// frost-core's Identifier::derive does. Proofs of knowledge use frost-core's
// challenge SHA-512(ContextString || "dkg" || identifier || φ_0 || R) mod L,
// so packages interoperate with frost-core implementations.
//
// TrustedDealerKeygen (RFC 9591 Appendix C) splits a given or random secret;
// it is meant for tests and key import.
//
// # Signing
//
// For a message and a set of at least t signers:
//
//  1. each signer calls Commit with its KeyPackage, keeps the SigningNonces
//     and sends the SigningCommitments to the coordinator;
//  2. the coordinator calls NewSigningPackage with the commitments keyed by
//     sender and the message, and sends the package to the signers;
//  3. each signer calls Sign(package, nonces, keyPackage) and returns the
//     SignatureShare; the nonces are destroyed and cannot sign again
//     (ErrNonceReused);
//  4. the coordinator calls Aggregate (or NewSession then Session.Aggregate)
//     with the shares keyed by sender and the PublicKeyPackage. Mode
//     VerifyShares checks every share first; mode Optimistic aggregates,
//     verifies the signature and checks shares only if it fails. Either way
//     bad shares yield a *CheaterError listing every culprit, and the result
//     is verified with crypto/ed25519. Session.VerifyShare checks shares one
//     at a time as they arrive.
//
// # Strictness and encodings
//
// Every group element decoded from outside must be canonically encoded, not
// the identity and torsion-free (small-order and mixed-order points are
// refused); every scalar must be canonical. Each message type implements
// encoding.BinaryMarshaler and encoding.BinaryUnmarshaler; an encoding starts
// with the Version byte and a type byte, and decoding refuses other versions,
// wrong lengths and trailing bytes, leaving the value zero on error.
//
// # Secrets
//
// SigningShare, KeyPackage, SigningNonces, DKGRound1Secret, DKGRound2Secret
// and DKGRound2Package print as REDACTED for every fmt verb and have Zero
// methods. The encodings of KeyPackage, DKGRound2Package, DKGRound1Secret,
// DKGRound2Secret and SigningNonces contain secrets; the last three exist so
// that a participant can seal its round state and resume after a crash.
// Decoded nonces sign once, like Commit's; used nonces do not encode.
//
// # Later: refresh and repair
//
// Share refresh and repair (frost-core's refresh and repairable modules) are
// not implemented yet. The types are designed for them: a refresh is a DKG
// whose constant terms are zero and whose result is added to the existing
// KeyPackage and PublicKeyPackage (NewKeyPackage and NewPublicKeyPackage
// assemble the results), and repair exchanges scalars that can reuse the
// DKGRound2Package encoding with its own type byte; identifiers, verifying
// shares and the group key stay as they are.
package frost
