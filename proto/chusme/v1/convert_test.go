package chusmev1_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/chusme/chusme"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// jsonTrip is v after a JSON round trip, as a client of the HTTP API reads it.
func jsonTrip[T any](t *testing.T, v T) T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// protoTrip is m after encoding and decoding, as the other end of the
// WebSocket reads it.
func protoTrip[M proto.Message](t *testing.T, m M) M {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := m.ProtoReflect().New().Interface().(M)
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// noZeroField fails for every zero field of struct v (through pointers to
// structs), so that a sample covers every field.
func noZeroField(t *testing.T, v reflect.Value, prefix string) {
	t.Helper()
	for i := range v.NumField() {
		f, name := v.Field(i), prefix+v.Type().Field(i).Name
		if f.IsZero() {
			t.Errorf("the sample leaves %s zero", name)
		}
		if f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().Kind() == reflect.Struct {
			noZeroField(t, f.Elem(), name+".")
		}
	}
}

func sampleCeremony() chusme.CeremonyInfo {
	at := chusme.WireTime(time.Date(2026, 12, 1, 20, 0, 0, 123456789, time.FixedZone("CET", 3600)))
	return chusme.CeremonyInfo{
		ID: "0123456789abcdef0123456789abcdef", Kind: chusme.KindSign, Status: chusme.CeremonyFailed, Round: 2, Rounds: 2,
		Creator: "c", Threshold: 2, Participants: []string{"a", "b"}, KeyID: "k", Message: chusme.Bytes("msg"),
		Submitted: []string{"a"}, Deadline: at.Add(time.Minute), Version: 7, CreatedAt: at, UpdatedAt: at.Add(time.Second),
		SigningPackage: chusme.Bytes("pkg"), Missing: []string{"b"}, Needed: 1, RoundTimeout: 600, AllSigners: true, KeyGeneration: 2, NewParticipants: []string{"n"}, Dealers: []string{"d"},
		Signers: []string{"a", "b"}, Excluded: []string{"x"}, Declines: []chusme.CeremonyDecline{{Fingerprint: "b", Round: 1, Signature: chusme.Bytes("dsig")}},
		Failure: &chusme.CeremonyFailure{Reason: chusme.FailSignatureShare, Message: "bad share", Culprits: []string{"b"}},
		Result:  &chusme.CeremonyResult{KeyID: "k", PublicKey: chusme.Bytes("pub"), Signature: chusme.Bytes("sig")},
		Request: &chusme.CeremonyRequest{Kind: chusme.KindSign, Threshold: 2, Participants: []string{"a", "b"}, KeyID: "k",
			MessageSHA256: chusme.Bytes("hash"), RoundTimeout: 600, AllSigners: true, Generation: 2, NewParticipants: []string{"n"}, Deadline: 1764619200, Nonce: chusme.Bytes("nonce"),
			Signature: chusme.Bytes("rsig")},
	}
}

// A view reads the same after its protobuf round trip as after its JSON
// one, for every field (a failed ceremony has no result, but the
// conversion must not drop one).
func TestViewsSameThroughProtobufAndJSON(t *testing.T) {
	full := sampleCeremony()
	noZeroField(t, reflect.ValueOf(full), "")
	empty := chusme.CeremonyInfo{ID: "e", Kind: chusme.KindDKG, Status: chusme.CeremonyOpen, Participants: []string{}, Submitted: []string{},
		Missing: []string{}}
	for _, v := range []chusme.CeremonyInfo{full, empty} {
		if got, want := protoTrip(t, chusmev1.NewCeremonyEvent(v)).View(), jsonTrip(t, v); !reflect.DeepEqual(got, want) {
			t.Errorf("ceremony through protobuf\n%+v\nthrough JSON\n%+v", got, want)
		}
	}
	list := chusme.CeremonyList{Ceremonies: []chusme.CeremonyInfo{full, empty}}
	if got, want := protoTrip(t, chusmev1.NewCeremonyList(list)).View(), jsonTrip(t, list); !reflect.DeepEqual(got, want) {
		t.Errorf("list through protobuf\n%+v\nthrough JSON\n%+v", got, want)
	}
	noList := chusme.CeremonyList{Ceremonies: []chusme.CeremonyInfo{}}
	if got, want := protoTrip(t, chusmev1.NewCeremonyList(noList)).View(), jsonTrip(t, noList); !reflect.DeepEqual(got, want) {
		t.Errorf("empty list through protobuf %+v, through JSON %+v", got, want)
	}

	change := chusme.CeremonyChange{ID: "c", BaseVersion: 4, Version: 6, Round: 2, Status: chusme.CeremonyOpen,
		Submitted: []string{"a", "b"}, Needed: 3, UpdatedAt: full.UpdatedAt, Ceremony: &full}
	noZeroField(t, reflect.ValueOf(change), "")
	for _, ch := range []chusme.CeremonyChange{change, {ID: "c", Version: 1, Submitted: []string{}}} {
		if got, want := protoTrip(t, chusmev1.NewCeremonyChange(ch)).View(), jsonTrip(t, ch); !reflect.DeepEqual(got, want) {
			t.Errorf("change through protobuf\n%+v\nthrough JSON\n%+v", got, want)
		}
	}

	pkg := chusme.CeremonyPackage{Round: 2, Sender: "a", Recipient: "b", Payload: chusme.Bytes("p"), Signature: chusme.Bytes("s")}
	noZeroField(t, reflect.ValueOf(pkg), "Packages[0].")
	for _, in := range []chusme.Inbox{{Round: 2, Complete: true, Packages: []chusme.CeremonyPackage{pkg}}, {Round: 1, Packages: []chusme.CeremonyPackage{}}} {
		if got, want := protoTrip(t, chusmev1.NewCeremonyInbox(in)).View(), jsonTrip(t, in); !reflect.DeepEqual(got, want) {
			t.Errorf("inbox through protobuf\n%+v\nthrough JSON\n%+v", got, want)
		}
	}

	create := chusme.CreateCeremonyRequest{Kind: chusme.KindSign, Threshold: 2, Participants: []string{"a", "b"}, KeyID: "k", Message: chusme.Bytes("m"),
		RoundTimeout: 600, AllSigners: true, Generation: 2, NewParticipants: []string{"n"}, Deadline: 1764619200, Nonce: chusme.Bytes("n"), Signature: chusme.Bytes("s")}
	noZeroField(t, reflect.ValueOf(create), "")
	if got, want := protoTrip(t, chusmev1.NewCreateCeremonyRequest(create)).View(), jsonTrip(t, create); !reflect.DeepEqual(got, want) {
		t.Errorf("creation through protobuf\n%+v\nthrough JSON\n%+v", got, want)
	}
	for _, sub := range []chusme.SubmitRequest{
		{Payload: chusme.Bytes("p"), Signature: chusme.Bytes("s")},
		{Packages: []chusme.DirectPackage{{Recipient: "b", Payload: chusme.Bytes("p"), Signature: chusme.Bytes("s")}}},
	} {
		m := protoTrip(t, chusmev1.NewSubmitRequest("id", 3, sub))
		if got, want := m.View(), jsonTrip(t, sub); !reflect.DeepEqual(got, want) || m.GetCeremonyId() != "id" || m.GetRound() != 3 {
			t.Errorf("submission through protobuf\n%+v (%s, %d)\nthrough JSON\n%+v", got, m.GetCeremonyId(), m.GetRound(), want)
		}
	}
}

// WireTime keeps whole milliseconds in UTC, which Unix milliseconds carry
// exactly.
func TestWireTime(t *testing.T) {
	in := time.Date(2026, 12, 1, 21, 0, 0, 987654321, time.FixedZone("CET", 3600))
	got := chusme.WireTime(in)
	if want := time.Date(2026, 12, 1, 20, 0, 0, 987000000, time.UTC); got != want {
		t.Errorf("WireTime(%v) = %v, want %v", in, got, want)
	}
	if !chusme.WireTime(time.Time{}).IsZero() {
		t.Error("WireTime of the zero time is not zero")
	}
	ev := protoTrip(t, chusmev1.NewCeremonyEvent(chusme.CeremonyInfo{CreatedAt: got}))
	if back := ev.View().CreatedAt; back != got {
		t.Errorf("through Unix milliseconds %v came back %v", got, back)
	}
}

// A complaint reaches the ceremony service the same through protobuf and
// through JSON, the revealed secret and its signature included.
func TestComplaintRequestSameThroughProtobufAndJSON(t *testing.T) {
	in := chusme.ComplaintRequest{Round: 3, Accused: "acc", Signature: chusme.Bytes("csig"),
		Secret: chusme.Bytes("secret"), SecretSignature: chusme.Bytes("ssig")}
	got := protoTrip(t, chusmev1.NewComplaintRequest("cid", in))
	if got.GetCeremonyId() != "cid" || !reflect.DeepEqual(got.View(), jsonTrip(t, in)) || !reflect.DeepEqual(got.View(), in) {
		t.Fatalf("through protobuf %+v, through JSON %+v, sent %+v", got.View(), jsonTrip(t, in), in)
	}
}
