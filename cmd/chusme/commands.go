package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/keyfile"
)

// keygen creates the identity key and prints its fingerprint.
func (e *env) keygen(args []string) error {
	fs := e.flags("keygen")
	force := fs.Bool("force", false, "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	path, err := e.keyPath()
	if err != nil {
		return err
	}
	if _, err := os.Lstat(path); err == nil && !*force {
		return fmt.Errorf("%s exists; use --force to replace it (the identity it holds is lost unless backed up)", path)
	}
	params, pass, key, err := e.newIdentityKey(path)
	if err != nil {
		return err
	}
	defer clear(pass)
	defer clear(key)
	pub := key.Public().(ed25519.PublicKey)
	save := keyfile.Save
	if *force {
		save = keyfile.Overwrite
	}
	if err := save(path, key, pass, params); err != nil {
		if errors.Is(err, keyfile.ErrExists) {
			return fmt.Errorf("%s exists; use --force to replace it", path)
		}
		return err
	}
	fp := chusme.Fingerprint(pub)
	if !e.json {
		fmt.Fprintf(e.stderr, "Wrote the identity key to %s. Its passphrase can't be recovered.\n", path)
		e.next("chusme register --invite TOKEN", "on a new server: chusme setup --token-file DATA_DIR/setup-token")
	}
	return e.output(struct {
		Fingerprint string `json:"fingerprint"`
		KeyFile     string `json:"key_file"`
	}{fp, path}, func(w io.Writer) { fmt.Fprintln(w, fp) })
}

// setup redeems the setup token with the identity key, then logs in.
func (e *env) setup(args []string) error {
	fs := e.flags("setup")
	token := fs.String("token", "", "")
	tokenFile := fs.String("token-file", "", "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	switch {
	case *token != "" && *tokenFile != "":
		return usagef("setup: give --token or --token-file, not both")
	case *tokenFile != "":
		t, err := readTokenFile(*tokenFile)
		if err != nil {
			return err
		}
		*token = t
	case *token == "":
		return usagef("setup: --token or --token-file is required (the file setup-token in the server's data directory)")
	}
	return e.enrol(func(c *client.Client, key ed25519.PrivateKey) (chusme.IdentityInfo, error) {
		return c.Setup(e.ctx, *token, key)
	})
}

// register registers the identity key, then logs in.
func (e *env) register(args []string) error {
	fs := e.flags("register")
	invite := fs.String("invite", "", "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	return e.enrol(func(c *client.Client, key ed25519.PrivateKey) (chusme.IdentityInfo, error) {
		return c.Register(e.ctx, key, *invite)
	})
}

// enrol runs a registration (setup or register) and logs in with the same
// key, so the passphrase is asked once.
func (e *env) enrol(do func(*client.Client, ed25519.PrivateKey) (chusme.IdentityInfo, error)) error {
	return e.withKey(func(c *client.Client, key ed25519.PrivateKey) error {
		info, err := do(c, key)
		if err != nil {
			return err
		}
		tok, err := c.Login(e.ctx, key)
		if err != nil {
			return err
		}
		if !e.json && info.Role == chusme.RoleAdmin {
			e.next("chusme admin invite", "to let someone register")
		}
		return e.output(struct {
			chusme.IdentityInfo
			SessionID string `json:"session_id"`
		}{info, tok.SessionID}, func(w io.Writer) {
			identityText(info)(w)
			fmt.Fprintf(w, "session\t%s\n", tok.SessionID)
		})
	})
}

// withKey calls f with a client and the identity key, opened with its
// passphrase, and wipes the key when f returns.
func (e *env) withKey(f func(*client.Client, ed25519.PrivateKey) error) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	key, err := e.loadKey()
	if err != nil {
		return err
	}
	defer clear(key)
	return f(c, key)
}

// login logs in with the identity key (and a TOTP code when the identity
// has TOTP on).
func (e *env) login(args []string) error {
	fs := e.flags("login")
	totpCode := fs.String("totp-code", "", "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	return e.withKey(func(c *client.Client, key ed25519.PrivateKey) error {
		tok, err := c.Login(e.ctx, key, e.loginOptions(*totpCode)...)
		if err != nil {
			fp, _ := e.identityFingerprint()
			return notRegistered(err, fp, e.server)
		}
		return e.output(struct {
			Fingerprint     string    `json:"fingerprint"`
			SessionID       string    `json:"session_id"`
			AccessExpiresAt time.Time `json:"access_expires_at"`
		}{tok.Fingerprint, tok.SessionID, tok.AccessExpiresAt}, func(w io.Writer) {
			fmt.Fprintf(w, "fingerprint\t%s\n", tok.Fingerprint)
			fmt.Fprintf(w, "session\t%s\n", tok.SessionID)
		})
	})
}

// whoami shows the logged-in identity.
func (e *env) whoami(args []string) error {
	if err := parseNoArgs(e.flags("whoami"), args); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	me, err := c.Me(e.ctx)
	if err != nil {
		return err
	}
	return e.output(me, func(w io.Writer) {
		fmt.Fprintf(w, "fingerprint\t%s\n", me.Fingerprint)
		fmt.Fprintf(w, "role\t%s\n", me.Role)
		fmt.Fprintf(w, "session\t%s\n", me.SessionID)
		fmt.Fprintf(w, "server\t%s\n", c.BaseURL())
	})
}

// logout ends the session.
func (e *env) logout(args []string) error {
	if err := parseNoArgs(e.flags("logout"), args); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	if err := c.Logout(e.ctx); err != nil {
		return err
	}
	return e.output(struct {
		LoggedOut bool `json:"logged_out"`
	}{true}, func(w io.Writer) { fmt.Fprintln(w, "logged out") })
}

// admin runs the admin subcommands.
func (e *env) admin(args []string) error {
	return e.runSub("admin", args, sub{"invite", e.adminInvite}, sub{"ban", e.adminBan}, sub{"unban", e.adminUnban},
		sub{"identities", e.adminIdentities}, sub{"identity", e.adminIdentity},
		sub{"invites", e.adminInvites}, sub{"stats", e.adminStats})
}

// adminInvite issues an invite and prints its token; admin invite revoke
// revokes one.
func (e *env) adminInvite(args []string) error {
	if len(args) > 0 && args[0] == "revoke" {
		return e.adminInviteRevoke(args[1:])
	}
	fs := e.flags("admin invite")
	ttl := fs.Duration("ttl", 24*time.Hour, "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *ttl <= 0 {
		return usagef("admin invite: --ttl must be positive")
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	inv, err := c.CreateInvite(e.ctx, *ttl)
	if err != nil {
		return err
	}
	if !e.json {
		fmt.Fprintf(e.stderr, "The invite %s expires %s; it registers one identity.\n", inv.ID, formatTime(inv.ExpiresAt))
		e.next("chusme register --invite "+inv.Invite, "for the person it is for, with their own key")
	}
	return e.output(inv, func(w io.Writer) { fmt.Fprintln(w, inv.Invite) })
}

// adminBan bans an identity.
func (e *env) adminBan(args []string) error {
	return e.adminSetStatus("admin ban", args, (*client.Client).Ban)
}
