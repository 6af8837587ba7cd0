package chusme_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/internal/vectortest"
	"github.com/chusme/chusme/keys"
)

// hex is a byte string in a golden vector.
type hex = vectortest.Hex

// signed is what a vector with a signing key expects: the message, the
// key's public key and its Ed25519 signature over the message.
type signed struct {
	Message   hex `json:"message"`
	PublicKey hex `json:"public_key"`
	Signature hex `json:"signature"`
}

// check compares a message and, for a vector with a seed, the public key and
// the signature the seed's key makes over it.
func (want signed) check(t *testing.T, seed []byte, msg []byte) {
	t.Helper()
	vectortest.Equal(t, "message", msg, want.Message)
	if seed == nil {
		return
	}
	key := ed25519.NewKeyFromSeed(seed)
	vectortest.Equal(t, "public_key", key.Public().(ed25519.PublicKey), want.PublicKey)
	vectortest.Equal(t, "signature", ed25519.Sign(key, msg), want.Signature)
}

func TestGoldenFingerprint(t *testing.T) {
	type in struct {
		PublicKey hex `json:"public_key"`
	}
	vectortest.Each(t, "fingerprint", func(t *testing.T, in in, want struct {
		Fingerprint string `json:"fingerprint"`
	}) {
		vectortest.EqualString(t, "fingerprint", chusme.Fingerprint(in.PublicKey), want.Fingerprint)
	})
	vectortest.Each(t, "group_key_id", func(t *testing.T, in in, want struct {
		KeyID string `json:"key_id"`
	}) {
		vectortest.EqualString(t, "key_id", chusme.GroupKeyID(in.PublicKey), want.KeyID)
	})
}

// The safety number of two fingerprints, given in descending order: the
// hashed message, its hash and the 60 digits, the same in either order.
func TestGoldenSafetyNumber(t *testing.T) {
	vectortest.Each(t, "safety_number", func(t *testing.T, in struct {
		A string `json:"fingerprint_a"`
		B string `json:"fingerprint_b"`
	}, want struct {
		Message      hex    `json:"message"`
		Hash         hex    `json:"hash"`
		SafetyNumber string `json:"safety_number"`
	}) {
		msg := chusme.SafetyNumberMessage(in.A, in.B)
		vectortest.Equal(t, "message", msg, want.Message)
		sum := sha256.Sum256(msg)
		vectortest.Equal(t, "hash", sum[:], want.Hash)
		for _, pair := range [][2]string{{in.A, in.B}, {in.B, in.A}} {
			got, err := chusme.SafetyNumber(pair[0], pair[1])
			if err != nil {
				t.Fatal(err)
			}
			vectortest.EqualString(t, "safety_number", got, want.SafetyNumber)
		}
	})
}

// message holds the inputs of every vector of a signed message (and of the
// DKG share info): each type uses the fields its function takes.
type message struct {
	Issuer      string `json:"issuer"`
	Seed        hex    `json:"seed"` // the signing key's seed, if the vector signs
	ChallengeID string `json:"challenge_id"`
	Nonce       hex    `json:"nonce"`
	Fingerprint string `json:"fingerprint"`
	Secret      hex    `json:"secret"`
	Seq         uint64 `json:"seq"`
	Cancels     uint64 `json:"cancels"`
	Prev        hex    `json:"prev"`
	OldKey      hex    `json:"old_key"`
	NewKey      hex    `json:"new_key"`
	Dropped     hex    `json:"dropped"`
	Restored    hex    `json:"restored"`
	Time        int64  `json:"time"`
	CeremonyID  string `json:"ceremony_id"`
	Round       int    `json:"round"`
	Sender      string `json:"sender"`
	Recipient   string `json:"recipient"`
	Payload     hex    `json:"payload"`
	Complainer  string `json:"complainer"`
	Accused     string `json:"accused"`
}

// The signed messages and the DKG share info, each rebuilt from its
// vector's inputs (and signed by the vector's key, where it has one).
func TestGoldenMessages(t *testing.T) {
	for typ, build := range map[string]func(in message) []byte{
		"register_message": func(in message) []byte {
			return chusme.RegisterMessage(in.Issuer, ed25519.NewKeyFromSeed(in.Seed).Public().(ed25519.PublicKey))
		},
		"login_message": func(in message) []byte { return chusme.LoginMessage(in.Issuer, in.ChallengeID, in.Nonce) },
		"totp_confirm_message": func(in message) []byte {
			return chusme.TOTPConfirmMessage(in.Issuer, in.Fingerprint, in.Secret)
		},
		"rotation_message": func(in message) []byte {
			return chusme.RotationMessage(in.Issuer, in.Fingerprint, in.Seq, in.Prev, in.OldKey, in.NewKey, in.Time)
		},
		"cancel_message": func(in message) []byte {
			return chusme.CancelMessage(in.Issuer, in.Fingerprint, in.Seq, in.Cancels, in.Prev, in.Dropped, in.Restored, in.Time)
		},
		"ceremony_package_message": func(in message) []byte {
			return chusme.CeremonyPackageMessage(in.CeremonyID, in.Round, in.Sender, in.Recipient, in.Payload)
		},
		"ceremony_complaint_message": func(in message) []byte {
			return chusme.CeremonyComplaintMessage(in.CeremonyID, in.Round, in.Complainer, in.Accused)
		},
		"ceremony_secret_message": func(in message) []byte {
			return chusme.CeremonySecretMessage(in.CeremonyID, in.Round, in.Sender, in.Recipient, in.Payload)
		},
		"dkg_share_info": func(in message) []byte { return chusme.DKGShareInfo(in.CeremonyID, in.Sender, in.Recipient) },
	} {
		t.Run(typ, func(t *testing.T) {
			vectortest.Each(t, typ, func(t *testing.T, in message, want signed) {
				want.check(t, in.Seed, build(in))
			})
		})
	}
}

// The chain vector is a genesis, a rotation to a second key signed by both
// keys, and the cancellation of that rotation signed by the genesis key:
// each entry's statement, signatures and hash, and VerifyChain accepts it.
func TestGoldenChain(t *testing.T) {
	vectortest.Each(t, "chain", func(t *testing.T, in struct {
		Issuer      string `json:"issuer"`
		GenesisSeed hex    `json:"genesis_seed"`
		NewSeed     hex    `json:"new_seed"`
		CreatedAt   int64  `json:"created_at"`
		RotateTime  int64  `json:"rotate_time"`
		CancelTime  int64  `json:"cancel_time"`
	}, want struct {
		Fingerprint           string `json:"fingerprint"`
		GenesisKey            hex    `json:"genesis_key"`
		NewKey                hex    `json:"new_key"`
		GenesisStatement      hex    `json:"genesis_statement"`
		GenesisHash           hex    `json:"genesis_hash"`
		RotateStatement       hex    `json:"rotate_statement"`
		RotateSignature       hex    `json:"rotate_signature"`
		RotateNewKeySignature hex    `json:"rotate_new_key_signature"`
		RotateHash            hex    `json:"rotate_hash"`
		CancelStatement       hex    `json:"cancel_statement"`
		CancelSignature       hex    `json:"cancel_signature"`
		CancelHash            hex    `json:"cancel_hash"`
	}) {
		k0, k1 := ed25519.NewKeyFromSeed(in.GenesisSeed), ed25519.NewKeyFromSeed(in.NewSeed)
		p0, p1 := k0.Public().(ed25519.PublicKey), k1.Public().(ed25519.PublicKey)
		fp := chusme.Fingerprint(p0)
		vectortest.EqualString(t, "fingerprint", fp, want.Fingerprint)
		vectortest.Equal(t, "genesis_key", p0, want.GenesisKey)
		vectortest.Equal(t, "new_key", p1, want.NewKey)

		g := chusme.GenesisEntry(chusme.Identity{Fingerprint: fp, GenesisKey: p0, CreatedAt: time.Unix(in.CreatedAt, 0)})
		vectortest.Equal(t, "genesis_statement", g.Statement(in.Issuer, fp), want.GenesisStatement)
		vectortest.Equal(t, "genesis_hash", g.Hash, want.GenesisHash)

		r := chusme.ChainEntry{Seq: 1, Kind: chusme.EntryRotate, Prev: g.Hash, OldKey: chusme.Bytes(p0), NewKey: chusme.Bytes(p1), Time: in.RotateTime}
		msg := r.Statement(in.Issuer, fp)
		r.Signature, r.NewKeySignature = ed25519.Sign(k0, msg), ed25519.Sign(k1, msg)
		r.Hash = chusme.EntryHash(in.Issuer, fp, r)
		vectortest.Equal(t, "rotate_statement", msg, want.RotateStatement)
		vectortest.Equal(t, "rotate_signature", r.Signature, want.RotateSignature)
		vectortest.Equal(t, "rotate_new_key_signature", r.NewKeySignature, want.RotateNewKeySignature)
		vectortest.Equal(t, "rotate_hash", r.Hash, want.RotateHash)

		c := chusme.ChainEntry{Seq: 2, Kind: chusme.EntryCancel, Prev: r.Hash, OldKey: r.NewKey, NewKey: r.OldKey, Cancels: 1, Time: in.CancelTime}
		msg = c.Statement(in.Issuer, fp)
		c.Signature = ed25519.Sign(k0, msg)
		c.Hash = chusme.EntryHash(in.Issuer, fp, c)
		vectortest.Equal(t, "cancel_statement", msg, want.CancelStatement)
		vectortest.Equal(t, "cancel_signature", c.Signature, want.CancelSignature)
		vectortest.Equal(t, "cancel_hash", c.Hash, want.CancelHash)

		cur, err := chusme.VerifyChain(in.Issuer, fp, []chusme.ChainEntry{g, r, c}, keys.CheckPublicKey, keys.Verify)
		if err != nil {
			t.Fatalf("VerifyChain: %v", err)
		}
		vectortest.Equal(t, "current key", cur, p0)
	})
}

// The recovery_chain vector: a genesis, a recovery-keys entry (two keys,
// signed by the genesis key and each recovery key), a recovery rotation by
// the second recovery key, and its cancellation by the first; VerifyChain
// accepts it and ends at the genesis key with both recovery keys.
func TestGoldenRecoveryChain(t *testing.T) {
	vectortest.Each(t, "recovery_chain", func(t *testing.T, in struct {
		Issuer        string `json:"issuer"`
		GenesisSeed   hex    `json:"genesis_seed"`
		RecoverySeeds []hex  `json:"recovery_seeds"`
		NewSeed       hex    `json:"new_seed"`
		CreatedAt     int64  `json:"created_at"`
		KeysTime      int64  `json:"keys_time"`
		RecoverTime   int64  `json:"recover_time"`
		CancelTime    int64  `json:"cancel_time"`
	}, want struct {
		Fingerprint            string `json:"fingerprint"`
		RecoveryKey1           hex    `json:"recovery_key_1"`
		RecoveryKey2           hex    `json:"recovery_key_2"`
		NewKey                 hex    `json:"new_key"`
		KeysStatement          hex    `json:"keys_statement"`
		KeysSignature          hex    `json:"keys_signature"`
		KeySignature1          hex    `json:"key_signature_1"`
		KeySignature2          hex    `json:"key_signature_2"`
		KeysHash               hex    `json:"keys_hash"`
		RecoverStatement       hex    `json:"recover_statement"`
		RecoverSignature       hex    `json:"recover_signature"`
		RecoverNewKeySignature hex    `json:"recover_new_key_signature"`
		RecoverHash            hex    `json:"recover_hash"`
		CancelStatement        hex    `json:"cancel_statement"`
		CancelSignature        hex    `json:"cancel_signature"`
		CancelHash             hex    `json:"cancel_hash"`
	}) {
		k0, k1 := ed25519.NewKeyFromSeed(in.GenesisSeed), ed25519.NewKeyFromSeed(in.NewSeed)
		r1, r2 := ed25519.NewKeyFromSeed(in.RecoverySeeds[0]), ed25519.NewKeyFromSeed(in.RecoverySeeds[1])
		pub := func(k ed25519.PrivateKey) chusme.Bytes { return chusme.Bytes(k.Public().(ed25519.PublicKey)) }
		fp := chusme.Fingerprint(pub(k0))
		vectortest.EqualString(t, "fingerprint", fp, want.Fingerprint)
		vectortest.Equal(t, "recovery_key_1", pub(r1), want.RecoveryKey1)
		vectortest.Equal(t, "recovery_key_2", pub(r2), want.RecoveryKey2)
		vectortest.Equal(t, "new_key", pub(k1), want.NewKey)
		g := chusme.GenesisEntry(chusme.Identity{Fingerprint: fp, GenesisKey: pub(k0), CreatedAt: time.Unix(in.CreatedAt, 0)})

		e1 := chusme.ChainEntry{Seq: 1, Kind: chusme.EntryRecoveryKeys, Prev: g.Hash, OldKey: pub(k0), NewKey: pub(k0), Signer: pub(k0),
			RecoveryKeys: []chusme.Bytes{pub(r1), pub(r2)}, Time: in.KeysTime}
		msg := e1.Statement(in.Issuer, fp)
		e1.Signature, e1.KeySignatures = ed25519.Sign(k0, msg), []chusme.Bytes{ed25519.Sign(r1, msg), ed25519.Sign(r2, msg)}
		e1.Hash = chusme.EntryHash(in.Issuer, fp, e1)
		vectortest.Equal(t, "keys_statement", msg, want.KeysStatement)
		vectortest.Equal(t, "keys_signature", e1.Signature, want.KeysSignature)
		vectortest.Equal(t, "key_signature_1", e1.KeySignatures[0], want.KeySignature1)
		vectortest.Equal(t, "key_signature_2", e1.KeySignatures[1], want.KeySignature2)
		vectortest.Equal(t, "keys_hash", e1.Hash, want.KeysHash)

		e2 := chusme.ChainEntry{Seq: 2, Kind: chusme.EntryRecover, Prev: e1.Hash, OldKey: pub(k0), NewKey: pub(k1), Signer: pub(r2), Time: in.RecoverTime}
		msg = e2.Statement(in.Issuer, fp)
		e2.Signature, e2.NewKeySignature = ed25519.Sign(r2, msg), ed25519.Sign(k1, msg)
		e2.Hash = chusme.EntryHash(in.Issuer, fp, e2)
		vectortest.Equal(t, "recover_statement", msg, want.RecoverStatement)
		vectortest.Equal(t, "recover_signature", e2.Signature, want.RecoverSignature)
		vectortest.Equal(t, "recover_new_key_signature", e2.NewKeySignature, want.RecoverNewKeySignature)
		vectortest.Equal(t, "recover_hash", e2.Hash, want.RecoverHash)

		e3 := chusme.ChainEntry{Seq: 3, Kind: chusme.EntryCancel, Prev: e2.Hash, OldKey: pub(k1), NewKey: pub(k0), Cancels: 2, Signer: pub(r1), Time: in.CancelTime}
		msg = e3.Statement(in.Issuer, fp)
		e3.Signature = ed25519.Sign(r1, msg)
		e3.Hash = chusme.EntryHash(in.Issuer, fp, e3)
		vectortest.Equal(t, "cancel_statement", msg, want.CancelStatement)
		vectortest.Equal(t, "cancel_signature", e3.Signature, want.CancelSignature)
		vectortest.Equal(t, "cancel_hash", e3.Hash, want.CancelHash)

		got, err := chusme.VerifyChainKeys(in.Issuer, fp, []chusme.ChainEntry{g, e1, e2, e3}, keys.CheckPublicKey, keys.Verify)
		if err != nil {
			t.Fatalf("VerifyChainKeys: %v", err)
		}
		vectortest.Equal(t, "current key", got.Devices[0], pub(k0))
		if len(got.Recovery) != 2 {
			t.Fatalf("%d recovery keys, want 2", len(got.Recovery))
		}
	})
}

// The device_chain vector: a genesis, the addition of a second device
// (its join request signed by the new key, the entry by the genesis key),
// and the removal of the genesis key signed by the new device; VerifyChain
// accepts it and ends with the new device alone.
func TestGoldenDeviceChain(t *testing.T) {
	vectortest.Each(t, "device_chain", func(t *testing.T, in struct {
		Issuer      string `json:"issuer"`
		GenesisSeed hex    `json:"genesis_seed"`
		DeviceSeed  hex    `json:"device_seed"`
		JoinTime    int64  `json:"join_time"`
		AddTime     int64  `json:"add_time"`
		RemoveTime  int64  `json:"remove_time"`
	}, want struct {
		Fingerprint     string `json:"fingerprint"`
		DeviceKey       hex    `json:"device_key"`
		JoinStatement   hex    `json:"join_statement"`
		JoinSignature   hex    `json:"join_signature"`
		AddStatement    hex    `json:"add_statement"`
		AddSignature    hex    `json:"add_signature"`
		AddHash         hex    `json:"add_hash"`
		RemoveStatement hex    `json:"remove_statement"`
		RemoveSignature hex    `json:"remove_signature"`
		RemoveHash      hex    `json:"remove_hash"`
	}) {
		k0, k1 := ed25519.NewKeyFromSeed(in.GenesisSeed), ed25519.NewKeyFromSeed(in.DeviceSeed)
		pub := func(k ed25519.PrivateKey) chusme.Bytes { return chusme.Bytes(k.Public().(ed25519.PublicKey)) }
		fp := chusme.Fingerprint(pub(k0))
		vectortest.EqualString(t, "fingerprint", fp, want.Fingerprint)
		vectortest.Equal(t, "device_key", pub(k1), want.DeviceKey)
		g := chusme.GenesisEntry(chusme.Identity{Fingerprint: fp, GenesisKey: pub(k0), CreatedAt: time.Unix(in.JoinTime, 0)})

		join := chusme.DeviceJoinMessage(in.Issuer, fp, pub(k1), in.JoinTime)
		vectortest.Equal(t, "join_statement", join, want.JoinStatement)
		e1 := chusme.ChainEntry{Seq: 1, Kind: chusme.EntryDeviceAdd, Prev: g.Hash, NewKey: pub(k1), Signer: pub(k0), JoinTime: in.JoinTime, Time: in.AddTime}
		msg := e1.Statement(in.Issuer, fp)
		e1.Signature, e1.NewKeySignature = ed25519.Sign(k0, msg), ed25519.Sign(k1, join)
		e1.Hash = chusme.EntryHash(in.Issuer, fp, e1)
		vectortest.Equal(t, "join_signature", e1.NewKeySignature, want.JoinSignature)
		vectortest.Equal(t, "add_statement", msg, want.AddStatement)
		vectortest.Equal(t, "add_signature", e1.Signature, want.AddSignature)
		vectortest.Equal(t, "add_hash", e1.Hash, want.AddHash)

		e2 := chusme.ChainEntry{Seq: 2, Kind: chusme.EntryDeviceRemove, Prev: e1.Hash, OldKey: pub(k0), Signer: pub(k1), Time: in.RemoveTime}
		msg = e2.Statement(in.Issuer, fp)
		e2.Signature = ed25519.Sign(k1, msg)
		e2.Hash = chusme.EntryHash(in.Issuer, fp, e2)
		vectortest.Equal(t, "remove_statement", msg, want.RemoveStatement)
		vectortest.Equal(t, "remove_signature", e2.Signature, want.RemoveSignature)
		vectortest.Equal(t, "remove_hash", e2.Hash, want.RemoveHash)

		got, err := chusme.VerifyChainKeys(in.Issuer, fp, []chusme.ChainEntry{g, e1, e2}, keys.CheckPublicKey, keys.Verify)
		if err != nil {
			t.Fatalf("VerifyChainKeys: %v", err)
		}
		if len(got.Devices) != 1 {
			t.Fatalf("%d device keys, want 1", len(got.Devices))
		}
		vectortest.Equal(t, "device key after the removal", got.Devices[0], pub(k1))
	})
}

// The recovery_key_text vector: a seed's printed text, read back.
func TestGoldenRecoveryKeyText(t *testing.T) {
	vectortest.Each(t, "recovery_key_text", func(t *testing.T, in struct {
		Seed hex `json:"seed"`
	}, want struct {
		Text      string `json:"text"`
		PublicKey hex    `json:"public_key"`
	}) {
		vectortest.EqualString(t, "text", chusme.RecoveryKeyText(in.Seed), want.Text)
		vectortest.Equal(t, "public_key", ed25519.NewKeyFromSeed(in.Seed).Public().(ed25519.PublicKey), want.PublicKey)
		seed, err := chusme.ParseRecoveryKey(strings.ToLower(strings.ReplaceAll(want.Text, "-", " ")))
		if err != nil {
			t.Fatalf("ParseRecoveryKey: %v", err)
		}
		vectortest.Equal(t, "parsed seed", seed, in.Seed)
	})
}

func TestGoldenDKGTranscriptHash(t *testing.T) {
	vectortest.Each(t, "dkg_transcript_hash", func(t *testing.T, in struct {
		CeremonyID   string         `json:"ceremony_id"`
		Participants []string       `json:"participants"`
		Payloads     map[string]hex `json:"payloads"`
	}, want struct {
		Hash hex `json:"hash"`
	}) {
		payloads := map[string][]byte{}
		for fp, p := range in.Payloads {
			payloads[fp] = p
		}
		vectortest.Equal(t, "hash", chusme.DKGTranscriptHash(in.CeremonyID, in.Participants, payloads), want.Hash)
	})
}

// The DKG round-1 payload: joined from the vector's parts, and split back
// into them.
func TestGoldenDKGRound1Payload(t *testing.T) {
	vectortest.Each(t, "dkg_round1_payload", func(t *testing.T, in map[string]hex, want struct {
		Payload hex `json:"payload"`
	}) {
		vectortest.Equal(t, "payload", chusme.DKGRound1Payload(in["hpke_key"], in["frost_package"]), want.Payload)
		a, b, ok := chusme.SplitDKGRound1Payload(want.Payload)
		if !ok {
			t.Fatal("SplitDKGRound1Payload refused the vector")
		}
		vectortest.Equal(t, "split hpke_key", a, in["hpke_key"])
		vectortest.Equal(t, "split frost_package", b, in["frost_package"])
	})
}

// head is a chain head in a golden vector.
type head struct {
	Fingerprint string `json:"fingerprint"`
	Seq         uint64 `json:"seq"`
	Hash        hex    `json:"hash"`
}

func heads(hs []head) []chusme.ParticipantHead {
	out := make([]chusme.ParticipantHead, len(hs))
	for i, h := range hs {
		out[i] = chusme.ParticipantHead{Fingerprint: h.Fingerprint, ChainHead: chusme.ChainHead{Seq: h.Seq, Hash: chusme.Bytes(h.Hash)}}
	}
	return out
}

// The DKG confirmation payload: built from the vector's parts, and parsed
// back into them.
func TestGoldenDKGConfirmPayload(t *testing.T) {
	vectortest.Each(t, "dkg_confirm_payload", func(t *testing.T, in struct {
		Signature        hex    `json:"signature"`
		ShareSignature   hex    `json:"share_signature"`
		Transcript       hex    `json:"transcript"`
		Heads            []head `json:"heads"`
		PublicKeyPackage hex    `json:"public_key_package"`
	}, want struct {
		Payload hex `json:"payload"`
	}) {
		c := chusme.DKGConfirmation{Signature: in.Signature, ShareSignature: in.ShareSignature, Transcript: in.Transcript, Heads: heads(in.Heads),
			PublicKeyPackage: in.PublicKeyPackage}
		vectortest.Equal(t, "payload", chusme.DKGConfirmPayload(c), want.Payload)
		got, ok := chusme.ParseDKGConfirmPayload(want.Payload)
		if !ok {
			t.Fatal("ParseDKGConfirmPayload refused the vector")
		}
		vectortest.Equal(t, "parsed signature", got.Signature, in.Signature)
		vectortest.Equal(t, "parsed share_signature", got.ShareSignature, in.ShareSignature)
		vectortest.Equal(t, "parsed transcript", got.Transcript, in.Transcript)
		vectortest.Equal(t, "parsed public_key_package", got.PublicKeyPackage, in.PublicKeyPackage)
		if len(got.Heads) != len(c.Heads) {
			t.Fatalf("parsed %d heads, want %d", len(got.Heads), len(c.Heads))
		}
		for i, h := range got.Heads {
			if h.Fingerprint != c.Heads[i].Fingerprint || h.Seq != c.Heads[i].Seq {
				t.Errorf("parsed head %d %+v, want %+v", i, h, c.Heads[i])
			}
			vectortest.Equal(t, "parsed head hash", h.Hash, c.Heads[i].Hash)
		}
	})
}

// The group key confirmation: the verifying-shares hash, the statement and
// its signature by the vector's key.
func TestGoldenGroupKeyConfirmMessage(t *testing.T) {
	vectortest.Each(t, "group_key_confirm_message", func(t *testing.T, in struct {
		Issuer          string         `json:"issuer"`
		Seed            hex            `json:"seed"`
		CeremonyID      string         `json:"ceremony_id"`
		GroupKey        hex            `json:"group_key"`
		Participants    []string       `json:"participants"`
		VerifyingShares map[string]hex `json:"verifying_shares"`
		Transcript      hex            `json:"transcript"`
		Threshold       int            `json:"threshold"`
		Heads           []head         `json:"heads"`
	}, want struct {
		VerifyingSharesHash hex `json:"verifying_shares_hash"`
		signed
	}) {
		shares := map[string][]byte{}
		for fp, s := range in.VerifyingShares {
			shares[fp] = s
		}
		sh := chusme.VerifyingSharesHash(in.Participants, shares)
		vectortest.Equal(t, "verifying_shares_hash", sh, want.VerifyingSharesHash)
		msg := chusme.GroupKeyConfirmMessage(in.Issuer, in.CeremonyID, in.GroupKey, sh, in.Transcript, in.Threshold, heads(in.Heads))
		want.check(t, in.Seed, msg)
	})
}

// A share signature: the message over a confirmation statement, the
// verifying share of the vector's signing share, and the vector's share
// signature (made once by SignWithShare: its nonce is random), which
// verifies as Ed25519 under the verifying share and not when changed; a new
// one from the share verifies too.
func TestGoldenSharePossessionMessage(t *testing.T) {
	vectortest.Each(t, "share_possession_message", func(t *testing.T, in struct {
		Statement      hex    `json:"statement"`
		Holder         string `json:"holder"`
		SigningShare   hex    `json:"signing_share"`
		ShareSignature hex    `json:"share_signature"`
	}, want struct {
		Message        hex `json:"message"`
		VerifyingShare hex `json:"verifying_share"`
	}) {
		msg := chusme.SharePossessionMessage(in.Statement, in.Holder)
		vectortest.Equal(t, "message", msg, want.Message)
		share, err := frost.NewSigningShare(in.SigningShare)
		if err != nil {
			t.Fatal(err)
		}
		vs := share.VerifyingShare()
		vectortest.Equal(t, "verifying_share", vs.Bytes(), want.VerifyingShare)
		if err := keys.Verify(vs.Bytes(), msg, in.ShareSignature); err != nil {
			t.Fatalf("the vector's share signature: %v", err)
		}
		bad := append([]byte(nil), in.ShareSignature...)
		bad[40] ^= 1
		if keys.Verify(vs.Bytes(), msg, bad) == nil {
			t.Fatal("a changed share signature verifies")
		}
		id, err := frost.DeriveIdentifier([]byte(in.Holder))
		if err != nil {
			t.Fatal(err)
		}
		vk, err := frost.NewVerifyingKey(vs.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		kp, err := frost.NewKeyPackage(id, share, vk, 2)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := kp.SignWithShare(nil, msg)
		if err != nil || keys.Verify(vs.Bytes(), msg, sig) != nil {
			t.Fatalf("a new share signature does not verify (%v)", err)
		}
	})
}

// A group key endorsement: the statement, its signature by the vector's
// key, and the endorsement as a round-3 payload carries it.
func TestGoldenGroupKeyEndorseMessage(t *testing.T) {
	vectortest.Each(t, "group_key_endorse_message", func(t *testing.T, in struct {
		Issuer              string   `json:"issuer"`
		Seed                hex      `json:"seed"`
		CeremonyID          string   `json:"ceremony_id"`
		Kind                string   `json:"kind"`
		Endorser            string   `json:"endorser"`
		GroupKey            hex      `json:"group_key"`
		Generation          int      `json:"generation"`
		VerifyingSharesHash hex      `json:"verifying_shares_hash"`
		Transcript          hex      `json:"transcript"`
		Threshold           int      `json:"threshold"`
		Holders             []string `json:"holders"`
		HeadSeq             uint64   `json:"head_seq"`
		HeadHash            hex      `json:"head_hash"`
	}, want struct {
		Payload hex `json:"payload"`
		signed
	}) {
		msg := chusme.GroupKeyEndorseMessage(in.Issuer, in.CeremonyID, in.Kind, in.Endorser, in.GroupKey, in.Generation,
			in.VerifyingSharesHash, in.Transcript, in.Threshold, in.Holders)
		want.check(t, in.Seed, msg)
		e := chusme.GroupKeyConfirmation{Fingerprint: in.Endorser, HeadSeq: in.HeadSeq, HeadHash: chusme.Bytes(in.HeadHash),
			PublicKey: chusme.Bytes(want.PublicKey), Signature: chusme.Bytes(want.Signature)}
		p := chusme.EndorsementPayload(e)
		vectortest.Equal(t, "payload", p, want.Payload)
		got, rest, ok := chusme.SplitKeyChangeRound3(p, in.Endorser, true, false)
		if !ok || len(rest) != 0 || !reflect.DeepEqual(got, e) {
			t.Fatalf("SplitKeyChangeRound3 of the payload = %+v, %x, %v; want %+v", got, rest, ok, e)
		}
	})
}

// A ceremony request: the message hash, the statement and its signature by
// the vector's key.
func TestGoldenCeremonyRequestMessage(t *testing.T) {
	vectortest.Each(t, "ceremony_request_message", func(t *testing.T, in struct {
		Issuer       string   `json:"issuer"`
		Seed         hex      `json:"seed"`
		Kind         string   `json:"kind"`
		Threshold    int      `json:"threshold"`
		Participants []string `json:"participants"`
		KeyID        string   `json:"key_id"`
		Message      hex      `json:"message"`
		RoundTimeout int64    `json:"round_timeout"`
		AllSigners   bool     `json:"all_signers"`
		Deadline     int64    `json:"deadline"`
		Nonce        hex      `json:"nonce"`
		Generation   int      `json:"generation"`
		New          []string `json:"new_participants"`
	}, want struct {
		MessageSHA256 hex `json:"message_sha256"`
		signed
	}) {
		mh := chusme.CeremonyMessageSHA256(in.Kind, in.Message)
		vectortest.Equal(t, "message_sha256", mh, want.MessageSHA256)
		want.check(t, in.Seed, chusme.CeremonyRequestMessage(in.Issuer, in.Kind, in.Threshold, in.Participants, in.KeyID, mh,
			in.RoundTimeout, in.AllSigners, in.Deadline, in.Nonce, in.Generation, in.New))
	})
}

// A participant's signed decline of a ceremony.
func TestGoldenCeremonyDecline(t *testing.T) {
	vectortest.Each(t, "ceremony_decline_message", func(t *testing.T, in struct {
		Issuer     string `json:"issuer"`
		Seed       hex    `json:"seed"`
		CeremonyID string `json:"ceremony_id"`
		Decliner   string `json:"decliner"`
	}, want signed) {
		want.check(t, in.Seed, chusme.CeremonyDeclineMessage(in.Issuer, in.CeremonyID, in.Decliner))
	})
}

// A real DKG round-1 package: its sender's identifier, derived from the
// fingerprint, and its proof of knowledge verifying for that identifier.
func TestGoldenDKGRound1Package(t *testing.T) {
	vectortest.Each(t, "dkg_round1_package", func(t *testing.T, in struct {
		Sender    string `json:"sender"`
		Threshold int    `json:"threshold"`
		Package   hex    `json:"package"`
	}, want struct {
		Identifier hex `json:"identifier"`
		Commitment hex `json:"commitment_0"`
	}) {
		id, err := frost.DeriveIdentifier([]byte(in.Sender))
		if err != nil {
			t.Fatal(err)
		}
		vectortest.Equal(t, "identifier", id.Bytes(), want.Identifier)
		var pkg frost.DKGRound1Package
		if err := pkg.UnmarshalBinary(in.Package); err != nil {
			t.Fatal(err)
		}
		vectortest.Equal(t, "commitment_0", pkg.Commitment()[0], want.Commitment)
		if err := frost.VerifyDKGRound1Package(id, &pkg, in.Threshold); err != nil {
			t.Errorf("VerifyDKGRound1Package: %v", err)
		}
	})
}

func TestGoldenCommitmentDigest(t *testing.T) {
	vectortest.Each(t, "commitment_digest", func(t *testing.T, in struct {
		Hiding  hex `json:"hiding"`
		Binding hex `json:"binding"`
	}, want struct {
		Digest hex `json:"digest"`
	}) {
		vectortest.Equal(t, "digest", chusme.CommitmentDigest(in.Hiding, in.Binding), want.Digest)
	})
}

// Every golden vector has a type that a Go test rebuilds (the test of the
// package named here), so none sits in the file unchecked.
func TestGoldenTypes(t *testing.T) {
	owners := map[string]string{
		"fingerprint": "chusme", "group_key_id": "chusme", "safety_number": "chusme", "register_message": "chusme",
		"login_message": "chusme", "totp_confirm_message": "chusme", "rotation_message": "chusme",
		"cancel_message": "chusme", "chain": "chusme", "recovery_chain": "chusme", "device_chain": "chusme", "recovery_key_text": "chusme", "ceremony_package_message": "chusme", "ceremony_complaint_message": "chusme", "ceremony_secret_message": "chusme",
		"dkg_share_info": "chusme", "dkg_transcript_hash": "chusme", "dkg_round1_payload": "chusme",
		"dkg_confirm_payload": "chusme", "dkg_round1_package": "chusme", "commitment_digest": "chusme",
		"group_key_confirm_message": "chusme", "share_possession_message": "chusme", "group_key_endorse_message": "chusme", "ceremony_request_message": "chusme", "ceremony_decline_message": "chusme",
		"login_challenge": "internal/auth", "refresh_token": "internal/auth", "totp_secret_ad": "internal/auth",
		"vault": "client/vault", "key_file": "client/keyfile", "share_file": "client/sharefile",
		"backup": "client", "backup_state": "client", "dkg_share_seal": "client", "ceremony_state": "client/roundstate",
	}
	seen := map[string]bool{}
	for _, v := range vectortest.Load(t).Vectors {
		if owners[v.Type] == "" {
			t.Errorf("vector %s has type %q, which no Go test rebuilds", v.Name, v.Type)
		}
		seen[v.Type] = true
	}
	for typ, pkg := range owners {
		if !seen[typ] {
			t.Errorf("no vector of type %q (rebuilt by package %s)", typ, pkg)
		}
	}
}
