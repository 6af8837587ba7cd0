package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/keyfile"
)

const devicesUsage = `
Devices (several device keys per identity):
  devices list [FINGERPRINT]         the identity's current device keys (yours by default), from its verified
                                     chain; marks this device's
  devices join --fingerprint FP [--force]
                                     on a new machine: make a device key for identity FP (sealed in the key
                                     file) and print its join request, valid 24 h, for devices add
  devices add REQUEST                on a device of the identity: add the new machine's key (the join request
                                     devices join printed); then chusme login works there
  devices remove KEY [--recovery | --recovery-key-file F | --guardians GKEY]
                                     remove device key KEY (as devices list prints it, or a unique prefix),
                                     signed by this device's key (this device too: retire it) or, with
                                     --recovery, by a recovery key (typed or pasted, or from F), or by the
                                     guardians of recovery key GKEY (as recover --guardians); its sessions
                                     end at once
`

// devices runs devices list, join, add and remove.
func (e *env) devices(args []string) error {
	return e.runSub("devices", args, sub{"list", e.devicesList}, sub{"join", e.devicesJoin},
		sub{"add", e.devicesAdd}, sub{"remove", e.devicesRemove})
}

// deviceRow is one device key in devices list.
type deviceRow struct {
	Key        chusme.Bytes `json:"key"`
	ThisDevice bool         `json:"this_device"`
}

// devicesList prints an identity's current device keys from its verified,
// pinned chain.
func (e *env) devicesList(args []string) error {
	fs := e.flags("devices list")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	var own ed25519.PublicKey
	if path, err := e.keyPath(); err == nil {
		if kf, err := keyfile.Read(path); err == nil {
			own = ed25519.PublicKey(kf.PublicKey)
		}
	}
	var fp string
	switch {
	case len(rest) > 1:
		return usagef("devices list: at most one FINGERPRINT")
	case len(rest) == 1:
		fp, err = e.resolveFingerprint("devices list", rest[0])
	default:
		fp, err = e.identityFingerprint()
	}
	if err != nil {
		return err
	}
	_, keys, err := e.deviceKeys(fp)
	if err != nil {
		return err
	}
	out := struct {
		Fingerprint string      `json:"fingerprint"`
		Devices     []deviceRow `json:"devices"`
	}{fp, make([]deviceRow, len(keys))}
	for i, k := range keys {
		out.Devices[i] = deviceRow{Key: chusme.Bytes(k), ThisDevice: k.Equal(own)}
	}
	return e.output(out, func(w io.Writer) {
		for _, d := range out.Devices {
			mark := ""
			if d.ThisDevice {
				mark = "\tthis device"
			}
			fmt.Fprintf(w, "device\t%s%s\n", base64.RawURLEncoding.EncodeToString(d.Key), mark)
		}
	})
}

// devicesJoin makes, on a new machine, a device key for identity FP, seals
// it into the key file and prints its join request for devices add.
func (e *env) devicesJoin(args []string) error {
	fs := e.flags("devices join")
	fpFlag := fs.String("fingerprint", "", "")
	force := fs.Bool("force", false, "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	fp, path, err := e.newKeyFileFor("devices join", *fpFlag, *force)
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	params, pass, key, err := e.newIdentityKey(path)
	if err != nil {
		return err
	}
	defer clear(pass)
	defer clear(key)
	r, err := c.JoinRequest(fp, key)
	if err != nil {
		return err
	}
	if err := keyfile.SaveFor(path, fp, key, pass, params, *force); err != nil {
		return err
	}
	text := client.JoinRequestText(r)
	if !e.json {
		fmt.Fprintf(e.stderr, "On a device of identity %s, within %s, run:\n  chusme devices add %s\nthen here: chusme login\n", fp, chusme.DeviceJoinValidity, text)
	}
	return e.output(struct {
		Fingerprint string       `json:"fingerprint"`
		Key         chusme.Bytes `json:"key"`
		Request     string       `json:"request"`
	}{fp, r.Key, text}, func(w io.Writer) { fmt.Fprintln(w, text) })
}

// devicesAdd adds the key of a join request as a device of this identity,
// signed by this device's key.
func (e *env) devicesAdd(args []string) error {
	fs := e.flags("devices add")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("devices add: give the join request devices join printed")
	}
	r, err := client.ParseJoinRequest(rest[0])
	if err != nil {
		return usagef("devices add: %v", err)
	}
	return e.withKey(func(c *client.Client, key ed25519.PrivateKey) error {
		fp, err := e.identityFingerprint()
		if err != nil {
			return err
		}
		if r.Fingerprint != fp {
			return chusme.Errorf(chusme.CodeInvalidRequest, "the join request is for identity %s, not this one (%s)", r.Fingerprint, fp)
		}
		entry, err := c.AddDevice(e.ctx, key, r)
		if err != nil {
			return err
		}
		return e.output(entry, func(w io.Writer) {
			fmt.Fprintf(w, "fingerprint\t%s\nseq\t%d\nadded device\t%s\n", fp, entry.Seq, base64.RawURLEncoding.EncodeToString(entry.NewKey))
		})
	})
}

// devicesRemove removes a device key of this identity, signed by this
// device's key or by a recovery key.
func (e *env) devicesRemove(args []string) error {
	fs := e.flags("devices remove")
	byRecovery := fs.Bool("recovery", false, "")
	keyFile := fs.String("recovery-key-file", "", "")
	guardians := fs.String("guardians", "", "")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("devices remove: give the device KEY, as devices list prints it")
	}
	fp, err := e.identityFingerprint()
	if err != nil {
		return err
	}
	c, keys, err := e.deviceKeys(fp)
	if err != nil {
		return err
	}
	target, err := deviceByPrefix(keys, rest[0])
	if err != nil {
		return err
	}
	var signer client.KeySigner
	if *guardians != "" {
		signer, err = e.guardiansOf(c, fp, *guardians)
	} else {
		var priv ed25519.PrivateKey
		if *byRecovery || *keyFile != "" {
			priv, err = e.recoveryKey(*keyFile)
		} else {
			priv, err = e.loadKey()
		}
		defer clear(priv)
		signer = client.LocalKey(priv)
	}
	if err != nil {
		return err
	}
	entry, err := c.RemoveDevice(e.ctx, fp, signer, target)
	if err != nil {
		return err
	}
	if signer.PublicKey().Equal(target) && !e.json {
		fmt.Fprintln(e.stderr, "This device is removed: its sessions have ended and its key no longer logs in.")
	}
	return e.output(entry, func(w io.Writer) {
		fmt.Fprintf(w, "fingerprint\t%s\nseq\t%d\nremoved device\t%s\n", fp, entry.Seq, base64.RawURLEncoding.EncodeToString(entry.OldKey))
	})
}

// deviceKeys returns a client and identity fp's current device keys, from
// its verified chain.
func (e *env) deviceKeys(fp string) (*client.Client, []ed25519.PublicKey, error) {
	c, err := e.client()
	if err != nil {
		return nil, nil, err
	}
	keys, err := c.Devices(e.ctx, fp)
	return c, keys, err
}

// deviceByPrefix returns the device key of keys whose base64url starts with
// prefix (4 characters or more), which must name exactly one.
func deviceByPrefix(keys []ed25519.PublicKey, prefix string) (ed25519.PublicKey, error) {
	prefix = strings.TrimSpace(prefix)
	if len(prefix) < 4 {
		return nil, usagef("devices remove: give at least 4 characters of the device key")
	}
	var found ed25519.PublicKey
	for _, k := range keys {
		if strings.HasPrefix(base64.RawURLEncoding.EncodeToString(k), prefix) {
			if found != nil {
				return nil, usagef("devices remove: %q names more than one device key: give more of it", prefix)
			}
			found = k
		}
	}
	if found == nil {
		return nil, chusme.Errorf(chusme.CodeNotDeviceKey, "%q is not a current device key of the identity (chusme devices list)", prefix)
	}
	return found, nil
}
