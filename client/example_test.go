package client_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/keyfile"
	"github.com/chusme/chusme/client/vault"
)

// Register a new key with an invite, log in and ask who the session is.
func Example() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:1984")
	if err != nil {
		log.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Register(ctx, key, "INVITE-TOKEN"); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Login(ctx, key); err != nil {
		log.Fatal(err)
	}
	me, err := c.Me(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.Fingerprint, me.Role)
}

// Keep the session in a file, so that the next process reuses (and
// transparently refreshes) it.
func ExampleNewFileTokenStore() {
	dir, err := os.UserConfigDir()
	if err != nil {
		log.Fatal(err)
	}
	store := client.NewFileTokenStore(filepath.Join(dir, "chusme", "session.json"))
	c, err := client.New("https://id.example.com", client.WithTokenStore(store))
	if err != nil {
		log.Fatal(err)
	}
	me, err := c.Me(context.Background())
	switch chusme.ErrorCode(err) {
	case "":
		fmt.Println("logged in as", me.Fingerprint)
	case chusme.CodeUnauthorized, chusme.CodeSessionRevoked, chusme.CodeRefreshReused:
		fmt.Println("please log in")
	default:
		log.Fatal(err)
	}
}

// Pin the chain heads the client verifies in a file, so that a later
// process refuses a chain the server rolled back or forked.
func ExampleNewFilePinStore() {
	dir, err := os.UserConfigDir()
	if err != nil {
		log.Fatal(err)
	}
	pins := client.NewFilePinStore(filepath.Join(dir, "chusme", "pins.json"))
	c, err := client.New("https://id.example.com", client.WithPinStore(pins))
	if err != nil {
		log.Fatal(err)
	}
	fp := "5c1f0a7b9e3d2c4f6a8b0d1e3f5a7c9b1d3e5f7a9c0b2d4e6f8a1c3e5b7d9f0a"
	_, key, err := c.VerifiedChain(context.Background(), fp)
	var refused *client.PeerKeyError
	switch {
	case errors.As(err, &refused):
		fmt.Println("do not trust", refused.Fingerprint+":", refused.Reason)
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Printf("current key of %s: %x\n", fp, key)
	}
}

// Reach the server through one URL while signing for its public issuer.
func ExampleWithIssuer() {
	c, err := client.New("http://10.0.0.5:1984", client.WithIssuer("https://id.example.com"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.BaseURL(), c.Issuer())
}

// An administrator issues an invite valid for a day.
func ExampleClient_CreateInvite() {
	c, err := client.New("http://127.0.0.1:1984")
	if err != nil {
		log.Fatal(err)
	}
	key, err := keyfile.Load("identity.key", []byte("passphrase"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Login(ctx, key); err != nil {
		log.Fatal(err)
	}
	inv, err := c.CreateInvite(ctx, 24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inv.Invite, inv.ExpiresAt)
}

// Rotate the identity key kept in a key file, settling first a rotation
// that an earlier run left unfinished, then log in with the new key.
func ExampleClient_RotateKeyFile() {
	c, err := client.New("http://127.0.0.1:1984")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	const path = "identity.key"
	if finished, err := c.FinishKeyFileRotation(ctx, path); err != nil {
		log.Fatal(err)
	} else if finished {
		fmt.Println("the earlier rotation had reached the server")
		return
	}
	passphrase := func(string) ([]byte, error) { return []byte("passphrase"), nil }
	entry, newKey, err := c.RotateKeyFile(ctx, path, passphrase, vault.DefaultParams)
	if errors.Is(err, client.ErrRotationUnknown) {
		log.Fatal("the server may or may not have it: run again to settle it")
	} else if err != nil {
		log.Fatal(err)
	}
	defer clear(newKey)
	kf, err := keyfile.Read(path)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Login(ctx, newKey, client.LoginFingerprint(kf.IdentityFingerprint())); err != nil {
		log.Fatal(err)
	}
	fmt.Println("rotated; until", entry.AcceptedAt.Add(chusme.RotationCancelWindow), path+client.RotationOldSuffix, "can cancel it")
}
