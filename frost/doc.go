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
// Participants (clients) run the DKG parts 1–3 and the signing rounds 1–2,
// and the key-changing steps below: the refresh parts (RefreshShare, or
// RefreshDKGPart1, RefreshDKGPart2 and RefreshDKGShares), the repair parts
// (RepairSharePart1 and RepairSharePart2 as helpers, RepairSharePart3 as the
// participant being repaired) and the reshare steps (ReshareDeal as an old
// holder, ReshareReceive as a new one). The coordinator (the ChusMe server)
// relays messages, checks DKG round-1 proofs of knowledge with
// VerifyDKGRound1Package and reshare commitments with
// VerifyReshareCommitment, builds the SigningPackage, verifies signature
// shares naming cheaters, and aggregates. ComputeRefreshingShares belongs to
// a trusted dealer, like TrustedDealerKeygen.
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
// SigningShare, KeyPackage, SigningNonces, DKGRound1Secret, DKGRound2Secret,
// DKGRound2Package, RefreshingShare, RepairDelta, RepairSigma and
// ReshareShare print as REDACTED for every fmt verb and have Zero methods.
// Their encodings (SigningShare's Bytes) are secret too; those of
// DKGRound1Secret, DKGRound2Secret (for a DKG or a refresh) and
// SigningNonces exist so that a participant can seal its round state and
// resume after a crash.
// Decoded nonces sign once, like Commit's; used nonces do not encode.
//
// # Refresh
//
// A refresh replaces the shares while keeping the group key, so that shares
// stolen before it stop working with the new ones, and can drop participants
// (frost-core's refresh module). Each remaining participant j adds to s_j a
// share z_j = f(j) of zero, f random of degree t-1 with f(0) = 0: any t new
// shares still interpolate to s, and the new verifying shares are
// Y_j + z_j·G. The threshold cannot change (ErrInvalidParameters, the
// frost-core 2.2.0 rule); resharing can.
//
//   - Trusted dealer: ComputeRefreshingShares returns a RefreshingShare for
//     each participant, to be sent sealed, and the new PublicKeyPackage; each
//     participant calls RefreshShare with its share and KeyPackage.
//   - DKG: RefreshDKGPart1 (broadcast the RefreshRound1Package: it commits
//     to the non-constant coefficients only, the constant being zero by
//     construction), RefreshDKGPart2 (send the DKGRound2Packages sealed) and
//     RefreshDKGShares, which also takes the old PublicKeyPackage and
//     KeyPackage and, like DKGPart3, names the senders of bad shares in a
//     *CheaterError. Refresh round secrets encode under their own type
//     bytes; the DKG functions refuse them and the refresh functions refuse
//     DKG round secrets (ErrWrongKind). As in the DKG, every participant
//     must have received the same round-1 packages: comparing the resulting
//     PublicKeyPackages checks it.
//
// Participants left out are removed: they are absent from the new
// PublicKeyPackage and their old shares do not combine with the new ones.
// Everyone deletes the old KeyPackage once all have refreshed.
//
// # Repair
//
// Repair restores participant r's lost share with the help of a set H of at
// least t other participants, none of whom learns it (frost-core 3's
// repairable module; Laing and Stinson, "A survey and refinement of
// repairable threshold schemes", eprint 2017/1155). Each helper i calls
// RepairSharePart1 with H, its KeyPackage and r: it splits ζ_i·s_i (ζ_i its
// Lagrange coefficient over H at r) into |H| random RepairDeltas, one per
// helper. Each helper sums the deltas it received with RepairSharePart2 into
// a RepairSigma for r, and r sums the sigmas with RepairSharePart3 into
// s_r = Σ_i ζ_i·s_i, checked against r's verifying share in the
// PublicKeyPackage (ErrRepairMismatch). Deltas and sigmas are secret and
// travel sealed to their recipients. Beyond frost-core, each helper may
// commit to its deltas (CommitRepairDeltas: D_{i,j} = δ_{i,j}·G, public),
// which a coordinator checks against its verifying share
// (VerifyRepairCommitment: Σ_j D_{i,j} = ζ_i·Y_i); then every delta
// (VerifyRepairDelta) and sigma (VerifyRepairSigma) is checked on its own,
// and a bad one names its sender instead of only failing the repair.
//
// # Accountable secrets
//
// VerifyDKGShare, VerifyRefreshShare, VerifyReshareShare, VerifyRepairDelta
// and VerifyRepairSigma check one secret against public commitments, as its
// recipient's step does: a coordinator shown a secret (with proof that its
// sender sent it) names a sender whose secret is bad, without trusting the
// recipient who shows it.
//
// # Resharing
//
// Resharing moves a key from a t-of-n group to a t′-of-n′ group, the two
// overlapping or not, keeping the group key. The construction is verifiable
// secret redistribution (Desmedt and Jajodia, "Redistributing secret shares
// to new access structures and its applications", 1997; Wong, Wang and
// Wing, "Verifiable secret redistribution for archive systems", 2002) with
// Feldman commitments (Feldman, "A practical scheme for non-interactive
// verifiable secret sharing", 1987); compare the share renewal of Herzberg,
// Jarecki, Krawczyk and Yung, "Proactive secret sharing", 1995.
// ReshareParams fix up front the dealers D (at least t old holders), the new
// holders and t′.
//
//  1. Each dealer i calls ReshareDeal: with w_i = λ_i·s_i (λ_i its Lagrange
//     coefficient over D) it draws g_i of degree t′-1 with g_i(0) = w_i,
//     broadcasts the ReshareCommitment C_{i,k} = g_{i,k}·G and sends each
//     new holder j its ReshareShare g_i(j), sealed (a dealer that is also a
//     new holder sends itself its own).
//  2. The coordinator checks each commitment with VerifyReshareCommitment.
//  3. Each new holder j calls ReshareReceive. It accepts only if, for every
//     dealer i, C_{i,0} = λ_i·Y_i (Y_i from the old PublicKeyPackage) and
//     g_i(j)·G = Σ_k j^k·C_{i,k}, and names every bad dealer in a
//     *CheaterError otherwise. Then s′_j = Σ_i g_i(j), the new commitment is
//     C_k = Σ_i C_{i,k}, C_0 must be the group key, and each new holder's
//     verifying share is Σ_k j^k·C_k, its own checked against s′_j·G.
//
// Correctness: D holds at least t shares of s, so Σ_{i∈D} w_i = s. The sum
// g = Σ_i g_i has degree t′-1, g(0) = s and s′_j = g(j): any t′ new shares
// interpolate to s, and the group key C_0 = s·G is unchanged.
//
// Secrecy: apart from its constant term each g_i is fresh and random, so any
// t′-1 of its values are uniform and independent of w_i, and its commitment
// reveals only w_i·G = λ_i·Y_i, which is public already. Fewer than t′ new
// holders therefore learn nothing about s (beyond s·G); fewer than t old
// holders learn only their own w_i and what is dealt to them, and together
// with fewer than t′ new holders still only what their old shares gave them.
//
// Why C_{i,0} is pinned to λ_i·Y_i: otherwise a dealer could deal any
// constant and move the new group secret to another value. The final check
// C_0 = group key would catch the shift but not say who made it; the pin
// names the dealer, and lets the coordinator refuse the commitment before any
// share is used.
//
// Why the new holders must agree on the commitments: Feldman's check shows
// only that a holder's shares fit the commitments that holder was shown. A
// dealer or relay showing different commitments to different holders leaves
// them holding shares of different polynomials. Comparing the resulting
// PublicKeyPackage across the new holders detects it; that is the caller's
// duty, which this package cannot do: ChusMe's ceremony compares it in signed
// confirmations and completes a reshare only with at least t′ matching ones.
//
// What resharing does not protect against: a coalition of t or more old
// holders already knows s, and keeps knowing it. The old shares keep working
// with each other (they are shares of the same key) unless every old holder
// deletes its old KeyPackage; the ceremony wipes them. Old and new shares do
// not combine.
package frost
