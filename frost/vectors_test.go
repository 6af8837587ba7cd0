package frost

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	"filippo.io/edwards25519"

	"github.com/chusme/chusme/internal/testkit"
	"github.com/chusme/chusme/internal/vectortest"
)

// readVector reads a vector file of ../shared/vectors beside the checkout,
// skipping the test if it is absent (failing it in CI).
func readVector(t testing.TB, name string) []byte {
	t.Helper()
	return vectortest.Shared(t, name)
}

func mustID(t testing.TB, n uint16) Identifier {
	t.Helper()
	id, err := IdentifierFromUint16(n)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// signingVector is the shape shared by the RFC and Zcash Foundation files.
type signingVector struct {
	Config struct {
		MaxParticipants string `json:"MAX_PARTICIPANTS"`
		MinParticipants string `json:"MIN_PARTICIPANTS"`
	} `json:"config"`
	Inputs struct {
		ParticipantList   []uint16 `json:"participant_list"`
		GroupSecretKey    string   `json:"group_secret_key"`
		GroupPublicKey    string   `json:"group_public_key"`
		VerifyingKey      string   `json:"verifying_key_key"`
		Message           string   `json:"message"`
		ShareCoefficients []string `json:"share_polynomial_coefficients"`
		ParticipantShares []struct {
			Identifier uint16 `json:"identifier"`
			Share      string `json:"participant_share"`
		} `json:"participant_shares"`
	} `json:"inputs"`
	RoundOne struct {
		Outputs []struct {
			Identifier         uint16 `json:"identifier"`
			HidingRandomness   string `json:"hiding_nonce_randomness"`
			BindingRandomness  string `json:"binding_nonce_randomness"`
			HidingNonce        string `json:"hiding_nonce"`
			BindingNonce       string `json:"binding_nonce"`
			HidingCommitment   string `json:"hiding_nonce_commitment"`
			BindingCommitment  string `json:"binding_nonce_commitment"`
			BindingFactorInput string `json:"binding_factor_input"`
			BindingFactor      string `json:"binding_factor"`
		} `json:"outputs"`
	} `json:"round_one_outputs"`
	RoundTwo struct {
		Outputs []struct {
			Identifier uint16 `json:"identifier"`
			SigShare   string `json:"sig_share"`
		} `json:"outputs"`
	} `json:"round_two_outputs"`
	FinalOutput struct {
		Sig string `json:"sig"`
	} `json:"final_output"`
}

func checkSigningVector(t *testing.T, raw []byte) {
	var v signingVector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	in := &v.Inputs
	pkHex := in.GroupPublicKey
	if pkHex == "" {
		pkHex = in.VerifyingKey
	}
	msg := testkit.Unhex(t, in.Message)

	// Trusted dealer (RFC 9591 Appendix C) with the vector's coefficients.
	coeffs := make([]edwards25519.Scalar, 1+len(in.ShareCoefficients))
	for k, h := range append([]string{in.GroupSecretKey}, in.ShareCoefficients...) {
		s, err := decodeScalar(testkit.Unhex(t, h))
		if err != nil {
			t.Fatal(err)
		}
		coeffs[k] = s
	}
	var ids []Identifier
	for _, ps := range in.ParticipantShares {
		ids = append(ids, mustID(t, ps.Identifier))
	}
	minSigners := len(coeffs)
	kps, pub, err := dealWithCoefficients(coeffs, ids, minSigners)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(pub.VerifyingKey().Bytes()); got != pkHex {
		t.Fatalf("group public key %s, want %s", got, pkHex)
	}
	for _, ps := range in.ParticipantShares {
		if got := hex.EncodeToString(kps[mustID(t, ps.Identifier)].SigningShare().Bytes()); got != ps.Share {
			t.Fatalf("share %d = %s, want %s", ps.Identifier, got, ps.Share)
		}
	}

	// Round one.
	nonces := map[Identifier]*SigningNonces{}
	commitments := map[Identifier]*SigningCommitments{}
	for _, o := range v.RoundOne.Outputs {
		id := mustID(t, o.Identifier)
		rnd := append(testkit.Unhex(t, o.HidingRandomness), testkit.Unhex(t, o.BindingRandomness)...)
		n, c, err := Commit(bytes.NewReader(rnd), kps[id])
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(n.st.hiding.Bytes()); got != o.HidingNonce {
			t.Errorf("hiding nonce %d = %s, want %s", o.Identifier, got, o.HidingNonce)
		}
		if got := hex.EncodeToString(n.st.binding.Bytes()); got != o.BindingNonce {
			t.Errorf("binding nonce %d = %s, want %s", o.Identifier, got, o.BindingNonce)
		}
		if got := hex.EncodeToString(c.Hiding()); got != o.HidingCommitment {
			t.Errorf("hiding commitment %d = %s, want %s", o.Identifier, got, o.HidingCommitment)
		}
		if got := hex.EncodeToString(c.Binding()); got != o.BindingCommitment {
			t.Errorf("binding commitment %d = %s, want %s", o.Identifier, got, o.BindingCommitment)
		}
		// The commitments decode strictly from their vector encodings.
		enc := append([]byte{Version, typeSigningCommitments}, testkit.Unhex(t, o.HidingCommitment)...)
		enc = append(enc, testkit.Unhex(t, o.BindingCommitment)...)
		var dc SigningCommitments
		if err := dc.UnmarshalBinary(enc); err != nil || !dc.Equal(c) {
			t.Errorf("commitments %d do not round-trip: %v", o.Identifier, err)
		}
		nonces[id], commitments[id] = n, c
	}
	if len(commitments) != len(in.ParticipantList) {
		t.Fatalf("participant list %v, round one outputs %d", in.ParticipantList, len(commitments))
	}
	pkg, err := NewSigningPackage(commitments, msg)
	if err != nil {
		t.Fatal(err)
	}
	vk := pub.VerifyingKey()
	sess, err := newSession(pkg, &vk)
	if err != nil {
		t.Fatal(err)
	}
	msgHash, comHash := h4(msg), h5(pkg.appendCommitmentList(nil))
	for _, o := range v.RoundOne.Outputs {
		i := pkg.index(mustID(t, o.Identifier))
		input := append(append(append(vk.Bytes(), msgHash[:]...), comHash[:]...), pkg.ids[i].Bytes()...)
		if got := hex.EncodeToString(input); got != o.BindingFactorInput {
			t.Errorf("binding factor input %d = %s, want %s", o.Identifier, got, o.BindingFactorInput)
		}
		if got := hex.EncodeToString(sess.rho[i].Bytes()); got != o.BindingFactor {
			t.Errorf("binding factor %d = %s, want %s", o.Identifier, got, o.BindingFactor)
		}
	}

	// Round two.
	shares := map[Identifier]*SignatureShare{}
	for _, o := range v.RoundTwo.Outputs {
		id := mustID(t, o.Identifier)
		sh, err := Sign(pkg, nonces[id], kps[id])
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(sh.Bytes()); got != o.SigShare {
			t.Errorf("signature share %d = %s, want %s", o.Identifier, got, o.SigShare)
		}
		if _, err := Sign(pkg, nonces[id], kps[id]); !errors.Is(err, ErrNonceReused) {
			t.Errorf("second Sign with the same nonces: %v, want ErrNonceReused", err)
		}
		shares[id] = sh
	}

	// Aggregation, both modes.
	for _, mode := range []AggregateMode{VerifyShares, Optimistic} {
		sig, err := Aggregate(pkg, shares, pub, mode)
		if err != nil {
			t.Fatalf("%v: %v", mode, err)
		}
		if got := hex.EncodeToString(sig); got != v.FinalOutput.Sig {
			t.Errorf("%v: signature %s, want %s", mode, got, v.FinalOutput.Sig)
		}
		if !ed25519.Verify(ed25519.PublicKey(testkit.Unhex(t, pkHex)), msg, sig) {
			t.Errorf("%v: crypto/ed25519.Verify rejects the signature", mode)
		}
	}
}

func TestVectorRFC9591File(t *testing.T) {
	checkSigningVector(t, readVector(t, "frost-ed25519-sha512.rfc9591.json"))
}

func TestVectorZcashFoundation(t *testing.T) {
	checkSigningVector(t, readVector(t, "vectors.json"))
}

func TestVectorZcashFoundationBigIdentifier(t *testing.T) {
	checkSigningVector(t, readVector(t, "vectors-big-identifier.json"))
}

// rfc9591E1 is RFC 9591 Appendix E.1, FROST(Ed25519, SHA-512), written out so
// that a checkout without the shared vectors folder still checks it.
const rfc9591E1 = `{
  "config": {"MAX_PARTICIPANTS": "3", "NUM_PARTICIPANTS": "2", "MIN_PARTICIPANTS": "2"},
  "inputs": {
    "participant_list": [1, 3],
    "group_secret_key": "7b1c33d3f5291d85de664833beb1ad469f7fb6025a0ec78b3a790c6e13a98304",
    "group_public_key": "15d21ccd7ee42959562fc8aa63224c8851fb3ec85a3faf66040d380fb9738673",
    "message": "74657374",
    "share_polynomial_coefficients": ["178199860edd8c62f5212ee91eff1295d0d670ab4ed4506866bae57e7030b204"],
    "participant_shares": [
      {"identifier": 1, "participant_share": "929dcc590407aae7d388761cddb0c0db6f5627aea8e217f4a033f2ec83d93509"},
      {"identifier": 2, "participant_share": "a91e66e012e4364ac9aaa405fcafd370402d9859f7b6685c07eed76bf409e80d"},
      {"identifier": 3, "participant_share": "d3cb090a075eb154e82fdb4b3cb507f110040905468bb9c46da8bdea643a9a02"}
    ]
  },
  "round_one_outputs": {"outputs": [
    {
      "identifier": 1,
      "hiding_nonce_randomness": "0fd2e39e111cdc266f6c0f4d0fd45c947761f1f5d3cb583dfcb9bbaf8d4c9fec",
      "binding_nonce_randomness": "69cd85f631d5f7f2721ed5e40519b1366f340a87c2f6856363dbdcda348a7501",
      "hiding_nonce": "812d6104142944d5a55924de6d49940956206909f2acaeedecda2b726e630407",
      "binding_nonce": "b1110165fc2334149750b28dd813a39244f315cff14d4e89e6142f262ed83301",
      "hiding_nonce_commitment": "b5aa8ab305882a6fc69cbee9327e5a45e54c08af61ae77cb8207be3d2ce13de3",
      "binding_nonce_commitment": "67e98ab55aa310c3120418e5050c9cf76cf387cb20ac9e4b6fdb6f82a469f932",
      "binding_factor_input": "BFI1",
      "binding_factor": "f2cb9d7dd9beff688da6fcc83fa89046b3479417f47f55600b106760eb3b5603"
    },
    {
      "identifier": 3,
      "hiding_nonce_randomness": "86d64a260059e495d0fb4fcc17ea3da7452391baa494d4b00321098ed2a0062f",
      "binding_nonce_randomness": "13e6b25afb2eba51716a9a7d44130c0dbae0004a9ef8d7b5550c8a0e07c61775",
      "hiding_nonce": "c256de65476204095ebdc01bd11dc10e57b36bc96284595b8215222374f99c0e",
      "binding_nonce": "243d71944d929063bc51205714ae3c2218bd3451d0214dfb5aeec2a90c35180d",
      "hiding_nonce_commitment": "cfbdb165bd8aad6eb79deb8d287bcc0ab6658ae57fdcc98ed12c0669e90aec91",
      "binding_nonce_commitment": "7487bc41a6e712eea2f2af24681b58b1cf1da278ea11fe4e8b78398965f13552",
      "binding_factor_input": "BFI3",
      "binding_factor": "b087686bf35a13f3dc78e780a34b0fe8a77fef1b9938c563f5573d71d8d7890f"
    }
  ]},
  "round_two_outputs": {"outputs": [
    {"identifier": 1, "sig_share": "001719ab5a53ee1a12095cd088fd149702c0720ce5fd2f29dbecf24b7281b603"},
    {"identifier": 3, "sig_share": "bd86125de990acc5e1f13781d8e32c03a9bbd4c53539bbc106058bfd14326007"}
  ]},
  "final_output": {"sig": "36282629c383bb820a88b71cae937d41f2f2adfcc3d02e55507e2fb9e2dd3cbebd9d2b0844e49ae0f3fa935161e1419aab7b47d21a37ebeae1f17d4987b3160b"}
}`

// rfc9591E1BindingPrefix is the common prefix of both binding factor inputs
// in Appendix E.1: group public key, H4(msg), H5(commitment list).
const rfc9591E1BindingPrefix = "15d21ccd7ee42959562fc8aa63224c8851fb3ec85a3faf66040d380fb9738673" +
	"504df914fa965023fb75c25ded4bb260f417de6d32e5c442c6ba313791cc9a49" +
	"48d6273e8d3511f93348ea7a708a9b862bc73ba2a79cfdfe07729a193751cbc9" +
	"73af46d8ac3440e518d4ce440a0e7d4ad5f62ca8940f32de6d8dc00fc12c660b" +
	"817d587d82f856d277ce6473cae6d2f5763f7da2e8b4d799a3f3e725d4522ec7"

func TestVectorRFC9591Literal(t *testing.T) {
	id := func(n string) string {
		return n + "000000000000000000000000000000000000000000000000000000000000" + "00"
	}
	s := bytes.ReplaceAll([]byte(rfc9591E1), []byte("BFI1"), []byte(rfc9591E1BindingPrefix+id("01")))
	s = bytes.ReplaceAll(s, []byte("BFI3"), []byte(rfc9591E1BindingPrefix+id("03")))
	checkSigningVector(t, s)
}
