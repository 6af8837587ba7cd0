package frost

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"testing"

	"filippo.io/edwards25519"

	"github.com/chusme/chusme/internal/testkit"
)

type dkgParticipantVector struct {
	Identifier     uint16            `json:"identifier"`
	SigningKey     string            `json:"signing_key"`
	Coefficient    string            `json:"coefficient"`
	VSSCommitments []string          `json:"vss_commitments"`
	Proof          string            `json:"proof_of_knowledge"`
	SigningShares  map[string]string `json:"signing_shares"` // keyed by sender: f_sender(this)
	VerifyingShare string            `json:"verifying_share"`
	SigningShare   string            `json:"signing_share"`
}

type dkgVector struct {
	MaxParticipants int
	MinParticipants int
	VerifyingKey    string
	Participants    map[uint16]*dkgParticipantVector
}

func loadDKGVector(t *testing.T) *dkgVector {
	raw := readVector(t, "vectors_dkg.json")
	var v struct {
		Config struct {
			Max int `json:"MAX_PARTICIPANTS"`
			Min int `json:"MIN_PARTICIPANTS"`
		} `json:"config"`
		Inputs map[string]json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	out := &dkgVector{MaxParticipants: v.Config.Max, MinParticipants: v.Config.Min, Participants: map[uint16]*dkgParticipantVector{}}
	if err := json.Unmarshal(v.Inputs["verifying_key"], &out.VerifyingKey); err != nil {
		t.Fatal(err)
	}
	for k, m := range v.Inputs {
		if _, err := strconv.Atoi(k); err != nil {
			continue
		}
		var p dkgParticipantVector
		if err := json.Unmarshal(m, &p); err != nil {
			t.Fatal(err)
		}
		out.Participants[p.Identifier] = &p
	}
	if len(out.Participants) != out.MaxParticipants {
		t.Fatalf("%d participants in vector, config says %d", len(out.Participants), out.MaxParticipants)
	}
	return out
}

// round1FromVector decodes a participant's published round-1 package through
// the strict decoder.
func round1FromVector(t *testing.T, p *dkgParticipantVector) *DKGRound1Package {
	enc := []byte{Version, typeDKGRound1Package, 0, byte(len(p.VSSCommitments))}
	for _, c := range p.VSSCommitments {
		enc = append(enc, testkit.Unhex(t, c)...)
	}
	enc = append(enc, testkit.Unhex(t, p.Proof)...)
	var pkg DKGRound1Package
	if err := pkg.UnmarshalBinary(enc); err != nil {
		t.Fatalf("round-1 package of %d: %v", p.Identifier, err)
	}
	return &pkg
}

func TestVectorDKG(t *testing.T) {
	v := loadDKGVector(t)
	round1 := map[Identifier]*DKGRound1Package{}
	for n, p := range v.Participants {
		round1[mustID(t, n)] = round1FromVector(t, p)
	}
	for n, p := range v.Participants {
		id := mustID(t, n)
		// Proofs of knowledge verify under frost-core's challenge.
		if err := VerifyDKGRound1Package(id, round1[id], v.MinParticipants); err != nil {
			t.Fatalf("proof of knowledge of %d: %v", n, err)
		}
		// Part 1 with the vector's polynomial reproduces the commitment.
		a0, _ := decodeScalar(testkit.Unhex(t, p.SigningKey))
		a1, _ := decodeScalar(testkit.Unhex(t, p.Coefficient))
		k, _ := randomScalar(nil)
		sec1, pkg1, err := dkgPart1With(id, []edwards25519.Scalar{a0, a1}, k, v.MaxParticipants)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := pkg1.Commitment(), round1[id].Commitment(); !slices.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
			t.Fatalf("commitment of %d differs", n)
		}
		if err := VerifyDKGRound1Package(id, pkg1, v.MinParticipants); err != nil {
			t.Fatalf("own proof of %d: %v", n, err)
		}
		// Part 2: the shares sent match what the recipients list as received.
		others := map[Identifier]*DKGRound1Package{}
		for oid, pkg := range round1 {
			if oid != id {
				others[oid] = pkg
			}
		}
		sec2, sent, err := DKGPart2(sec1, others)
		if err != nil {
			t.Fatal(err)
		}
		for to, pkg := range sent {
			want := v.Participants[uint16(to.b[0])].SigningShares[strconv.Itoa(int(n))]
			if got := hex.EncodeToString(pkg.share.Bytes()); got != want {
				t.Errorf("share %d→%v = %s, want %s", n, to, got, want)
			}
		}
		// Part 3 with the shares received in the vector.
		received := map[Identifier]*DKGRound2Package{}
		for from, h := range p.SigningShares {
			f, _ := strconv.Atoi(from)
			var pkg DKGRound2Package
			if err := pkg.UnmarshalBinary(append([]byte{Version, typeDKGRound2Package}, testkit.Unhex(t, h)...)); err != nil {
				t.Fatal(err)
			}
			received[mustID(t, uint16(f))] = &pkg
		}
		kp, pub, err := DKGPart3(sec2, others, received)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(kp.SigningShare().Bytes()); got != p.SigningShare {
			t.Errorf("signing share of %d = %s, want %s", n, got, p.SigningShare)
		}
		if got := hex.EncodeToString(kp.VerifyingShare().Bytes()); got != p.VerifyingShare {
			t.Errorf("verifying share of %d = %s, want %s", n, got, p.VerifyingShare)
		}
		if got := hex.EncodeToString(kp.VerifyingKey().Bytes()); got != v.VerifyingKey {
			t.Errorf("group key from %d = %s, want %s", n, got, v.VerifyingKey)
		}
		if kp.MinSigners() != v.MinParticipants || pub.MinSigners() != v.MinParticipants || pub.MaxSigners() != v.MaxParticipants {
			t.Errorf("threshold from %d: %d, %d-of-%d", n, kp.MinSigners(), pub.MinSigners(), pub.MaxSigners())
		}
		for m, q := range v.Participants {
			vs, ok := pub.VerifyingShare(mustID(t, m))
			if !ok || hex.EncodeToString(vs.Bytes()) != q.VerifyingShare {
				t.Errorf("participant %d's public key package: verifying share of %d = %v, want %s", n, m, vs, q.VerifyingShare)
			}
		}
	}
}

func TestVectorDKGBadProofNamed(t *testing.T) {
	v := loadDKGVector(t)
	round1 := map[Identifier]*DKGRound1Package{}
	for n, p := range v.Participants {
		round1[mustID(t, n)] = round1FromVector(t, p)
	}
	// Participant 3's proof is replaced by participant 2's: a valid-looking
	// signature under the wrong identifier and key.
	id2, id3 := mustID(t, 2), mustID(t, 3)
	bad := *round1[id3]
	bad.proofR, bad.proofZ = round1[id2].proofR, round1[id2].proofZ
	round1[id3] = &bad
	err := VerifyDKGRound1Package(id3, &bad, 2)
	var ce *CheaterError
	if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidProofOfKnowledge) || len(ce.Identifiers) != 1 || ce.Identifiers[0] != id3 {
		t.Fatalf("VerifyDKGRound1Package: %v", err)
	}
	// A proof bound to identifier 2 does not verify as identifier 1's.
	if err := VerifyDKGRound1Package(mustID(t, 1), round1[id2], 2); !errors.Is(err, ErrInvalidProofOfKnowledge) {
		t.Fatalf("proof replayed under another identifier: %v", err)
	}
	p1 := v.Participants[1]
	a0, _ := decodeScalar(testkit.Unhex(t, p1.SigningKey))
	a1, _ := decodeScalar(testkit.Unhex(t, p1.Coefficient))
	k, _ := randomScalar(nil)
	sec1, _, _ := dkgPart1With(mustID(t, 1), []edwards25519.Scalar{a0, a1}, k, 3)
	others := map[Identifier]*DKGRound1Package{id2: round1[id2], id3: round1[id3]}
	_, _, err = DKGPart2(sec1, others)
	if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidProofOfKnowledge) || !slices.Equal(ce.Identifiers, []Identifier{id3}) {
		t.Fatalf("DKGPart2: %v", err)
	}
}

func TestVectorDKGBadShareNamed(t *testing.T) {
	v := loadDKGVector(t)
	round1 := map[Identifier]*DKGRound1Package{}
	for n, p := range v.Participants {
		round1[mustID(t, n)] = round1FromVector(t, p)
	}
	p1 := v.Participants[1]
	id1, id2, id3 := mustID(t, 1), mustID(t, 2), mustID(t, 3)
	a0, _ := decodeScalar(testkit.Unhex(t, p1.SigningKey))
	a1, _ := decodeScalar(testkit.Unhex(t, p1.Coefficient))
	k, _ := randomScalar(nil)
	sec1, _, _ := dkgPart1With(id1, []edwards25519.Scalar{a0, a1}, k, 3)
	others := map[Identifier]*DKGRound1Package{id2: round1[id2], id3: round1[id3]}
	sec2, _, err := DKGPart2(sec1, others)
	if err != nil {
		t.Fatal(err)
	}
	received := map[Identifier]*DKGRound2Package{}
	for from, h := range p1.SigningShares {
		f, _ := strconv.Atoi(from)
		s, _ := decodeScalar(testkit.Unhex(t, h))
		received[mustID(t, uint16(f))] = &DKGRound2Package{share: s}
	}
	received[id2].share.Add(&received[id2].share, scalarOne)
	_, _, err = DKGPart3(sec2, others, received)
	var ce *CheaterError
	if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidSecretShare) || !slices.Equal(ce.Identifiers, []Identifier{id2}) {
		t.Fatalf("DKGPart3: %v", err)
	}
}
