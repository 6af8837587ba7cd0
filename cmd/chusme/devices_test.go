package main

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
)

type devicesOutput struct {
	Fingerprint string `json:"fingerprint"`
	Devices     []struct {
		Key        chusme.Bytes `json:"key"`
		ThisDevice bool         `json:"this_device"`
	} `json:"devices"`
}

// End to end through the CLI: a second machine joins (devices join, then
// devices add on the first), both log in, devices list shows both, the
// first removes the second, whose session and key are refused, and a
// device can't remove the last device.
func TestDevicesCLI(t *testing.T) {
	s := servertest.Start(t)
	user, fp := registeredUser(t, s)
	user.ok("login")
	laptop := newCLI(t, s.URL, "laptop passphrase")
	laptop.fails(codeUsage, "devices", "join")
	var join struct {
		Fingerprint string       `json:"fingerprint"`
		Key         chusme.Bytes `json:"key"`
		Request     string       `json:"request"`
	}
	laptop.okJSON(&join, "devices", "join", "--fingerprint", fp)
	if join.Fingerprint != fp || join.Request == "" {
		t.Fatalf("devices join = %+v", join)
	}
	user.fails(codeUsage, "devices", "add", "not a request")
	added := user.ok("devices", "add", join.Request)
	if !strings.Contains(added, "added device") || !strings.Contains(added, base64.RawURLEncoding.EncodeToString(join.Key)) {
		t.Fatalf("devices add printed %q", added)
	}
	user.fails(chusme.CodeInvalidRequest, "devices", "add", join.Request) // replayed: the key is a device already
	laptop.ok("login")
	laptop.ok("whoami")
	user.ok("whoami")

	var list devicesOutput
	laptop.okJSON(&list, "devices", "list")
	if list.Fingerprint != fp || len(list.Devices) != 2 || list.Devices[0].ThisDevice || !list.Devices[1].ThisDevice {
		t.Fatalf("devices list on the laptop = %+v", list)
	}
	text := user.ok("devices", "list", fp)
	if strings.Count(text, "\ndevice") != 1 || !strings.HasPrefix(text, "device") || strings.Count(text, "this device") != 1 {
		t.Fatalf("devices list printed %q", text)
	}

	laptopKey := base64.RawURLEncoding.EncodeToString(list.Devices[1].Key)
	user.fails(chusme.CodeNotDeviceKey, "devices", "remove", "AAAAAAAA")
	removed := user.ok("devices", "remove", laptopKey[:8])
	if !strings.Contains(removed, "removed device") || !strings.Contains(removed, laptopKey) {
		t.Fatalf("devices remove printed %q", removed)
	}
	laptop.fails(chusme.CodeSessionRevoked, "whoami")
	laptop.fails(chusme.CodeKeyRotated, "login")
	user.ok("whoami")
	user.okJSON(&list, "devices", "list")
	if len(list.Devices) != 1 || !list.Devices[0].ThisDevice {
		t.Fatalf("devices list after the removal = %+v", list)
	}
	own := base64.RawURLEncoding.EncodeToString(list.Devices[0].Key)
	user.fails(chusme.CodeLastDevice, "devices", "remove", own)
}

// admin identities and admin identity show each identity's device count.
func TestAdminDeviceCount(t *testing.T) {
	g := newTrio(t)
	laptop := newCLI(t, g.s.URL, "laptop passphrase")
	var join struct {
		Request string `json:"request"`
	}
	laptop.okJSON(&join, "devices", "join", "--fingerprint", g.aliceFP)
	g.alice.ok("devices", "add", join.Request)
	var list adminIdentitiesOutput
	g.admin.okJSON(&list, "admin", "identities")
	for _, id := range list.Identities {
		want := 1
		if id.Fingerprint == g.aliceFP {
			want = 2
		}
		if id.Devices != want {
			t.Fatalf("admin identities: %s has %d devices, want %d", id.Fingerprint, id.Devices, want)
		}
	}
	var d chusme.AdminIdentityDetail
	g.admin.okJSON(&d, "admin", "identity", g.aliceFP)
	if d.Devices != 2 || !strings.Contains(g.admin.ok("admin", "identity", g.aliceFP), "devices") {
		t.Fatalf("admin identity: %d devices", d.Devices)
	}
	laptop.ok("login")
	g.admin.okJSON(&d, "admin", "identity", g.aliceFP)
	seen := 0
	for _, ss := range d.Sessions {
		if len(ss.DeviceKey) == 0 {
			t.Fatalf("admin identity: session %s without its device key", ss.ID)
		}
		if base64.RawURLEncoding.EncodeToString(ss.DeviceKey) == base64.RawURLEncoding.EncodeToString(d.Chain.Entries[1].NewKey) {
			seen++
		}
	}
	if seen != 1 {
		t.Fatalf("admin identity: %d sessions of the laptop's key, want 1", seen)
	}
}
