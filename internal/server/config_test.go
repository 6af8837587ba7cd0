package server

import (
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/ceremony"
	"github.com/chusme/chusme/internal/wsapi"
)

func noEnv(string) string { return "" }

// TestConfigRefusesOutOfRange: every value out of its flag's range is
// refused, naming the flag and its CHUSME_* variable, whether it comes from
// the flag or from the variable.
func TestConfigRefusesOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		flag  string // the flag the error must name
		value string
		extra []string // other flags
	}{
		{"ws-pong-timeout", "30s", nil}, // the default ping interval
		{"ws-pong-timeout", "1m", nil},
		{"ws-pong-timeout", "50ms", []string{"--ws-ping-interval", "50ms"}},
		{"ws-pong-timeout", "0", nil},
		{"ws-ping-interval", "0", nil},
		{"ws-ping-interval", "-1s", nil},
		{"ws-ping-interval", "2h", nil},
		{"ws-write-timeout", "0", nil},
		{"ws-write-timeout", "1000h", nil},
		{"refresh-grace", "-1s", nil},
		{"refresh-grace", "2h", nil},
		{"refresh-grace", "10", nil},
		{"session-idle", "0", nil},
		{"session-idle", "9000h", nil},
		{"session-idle", "200h", []string{"--session-max", "100h"}},
		{"session-max", "30s", nil},
		{"session-max", "2562047h", nil},
		{"shutdown-grace", "-1s", nil},
		{"shutdown-grace", "1h", nil},
		{"ceremony-round-timeout", "0", nil},
		{"ceremony-round-timeout", "500ms", nil},
		{"ceremony-round-timeout", "48h", nil},
		{"ceremony-open-max", "0", nil},
		{"ceremony-open-max", "10001", nil},
		{"ceremony-open-max", "5x", nil},
		{"ceremony-retention", "30m", nil},
		{"ceremony-retention", "87601h", nil},
		{"ceremony-retention", "forever", nil},
		{"rate-ip", "fast", nil},
		{"rate-ip", "-5/m", nil},
		{"rate-ip", "0/m", nil},
		{"rate-ip", "1000001/s", nil},
		{"rate-ip", "99999999999999999999/s", nil},
		{"rate-auth", "5/d", nil},
		{"rate-auth", "5/m:0", nil},
		{"rate-identity", "5/m:2000000", nil},
		{"rate-blob", "5/m:x", nil},
		{"rate-ceremony-create", "1/w", nil},
		{"rate-ceremony-submit", "1/h:-1", nil},
	} {
		t.Run(tc.flag+"="+tc.value, func(t *testing.T) {
			viaFlag := append([]string{"--" + tc.flag, tc.value}, tc.extra...)
			viaEnv := func(k string) string {
				if k == envVar(tc.flag) {
					return tc.value
				}
				return ""
			}
			for name, try := range map[string]func() error{
				"flag": func() error { _, err := parseConfig("chusmed", viaFlag, noEnv, io.Discard); return err },
				"env":  func() error { _, err := parseConfig("chusmed", tc.extra, viaEnv, io.Discard); return err },
			} {
				err := try()
				if err == nil {
					t.Fatalf("via the %s: accepted", name)
				}
				if !strings.Contains(err.Error(), "--"+tc.flag+" ") || !strings.Contains(err.Error(), envVar(tc.flag)) {
					t.Fatalf("via the %s: error %q does not name --%s and %s", name, err, tc.flag, envVar(tc.flag))
				}
			}
		})
	}
}

// TestConfigDefaultsAndMappings: the defaults parse; --refresh-grace 0
// reaches auth as "none", not as auth's default; an unset pong timeout stays
// below a short ping interval; the edges of each range are accepted.
func TestConfigDefaultsAndMappings(t *testing.T) {
	c, err := parseConfig("chusmed", nil, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.RefreshGrace != auth.DefaultRefreshGrace || c.WS.PongTimeout != wsapi.DefaultPongTimeout || c.WS.PingInterval != wsapi.DefaultPingInterval ||
		c.SessionIdle != auth.DefaultSessionIdle || c.SessionMax != auth.DefaultSessionLifetime || c.IPLimit.Events != 600 || c.IPLimit.Burst != 120 ||
		c.Storage.CeremonyRetention != DefaultCeremonyRetention {
		t.Fatalf("defaults %+v", c)
	}
	c, err = parseConfig("chusmed", []string{"--refresh-grace", "0", "--ws-ping-interval", "50ms"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.RefreshGrace >= 0 {
		t.Fatalf("--refresh-grace 0 became %v, which auth reads as a grace or its default", c.RefreshGrace)
	}
	if c.WS.PongTimeout != 25*time.Millisecond {
		t.Fatalf("pong timeout %v under a 50ms ping interval, want 25ms", c.WS.PongTimeout)
	}
	if c, err := parseConfig("chusmed", []string{"--ceremony-retention", "0"}, noEnv, io.Discard); err != nil || c.Storage.CeremonyRetention != 0 {
		t.Fatalf("--ceremony-retention 0: %v, %v; want 0 (forever)", c.Storage.CeremonyRetention, err)
	}
	edges := []string{"--refresh-grace", "1h", "--session-idle", "8760h", "--session-max", "8760h", "--shutdown-grace", "0",
		"--ws-ping-interval", "1h", "--ws-pong-timeout", "59m", "--ws-write-timeout", "10m", "--ceremony-round-timeout", "24h",
		"--rate-ip", "1000000/s:1000000", "--rate-auth", "1/h:1", "--rate-identity", "off"}
	if _, err := parseConfig("chusmed", edges, noEnv, io.Discard); err != nil {
		t.Fatalf("edges of the ranges refused: %v", err)
	}
}

// TestCeremonyOpenMax: --ceremony-open-max defaults to
// ceremony.DefaultOpenMax and takes the edges of its range.
func TestCeremonyOpenMax(t *testing.T) {
	c, err := parseConfig("chusmed", nil, noEnv, io.Discard)
	if err != nil || c.Ceremony.OpenMax != ceremony.DefaultOpenMax {
		t.Fatalf("default open max %d, %v; want %d", c.Ceremony.OpenMax, err, ceremony.DefaultOpenMax)
	}
	for _, v := range []string{"1", "10000"} {
		if c, err := parseConfig("chusmed", []string{"--ceremony-open-max", v}, noEnv, io.Discard); err != nil || strconv.Itoa(c.Ceremony.OpenMax) != v {
			t.Fatalf("--ceremony-open-max %s: %d, %v", v, c.Ceremony.OpenMax, err)
		}
	}
}
