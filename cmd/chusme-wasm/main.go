//go:build js && wasm

// Command chusme-wasm is the ChusMe client library compiled to WebAssembly
// for the web app (internal/webapp): the browser takes part in ceremonies
// with the same drivers, FROST code and vault as the CLI. It sets
// globalThis.chusme to an object of functions, each returning a Promise
// (functions below), and resolves globalThis.chusmeReady.
package main

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"syscall/js"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/keyfile"
	"github.com/chusme/chusme/client/roundstate"
	"github.com/chusme/chusme/client/sharefile"
	"github.com/chusme/chusme/client/vault"
)

// app is the page's one client, identity key and round-state files.
type app struct {
	c     *client.Client
	key   crypto.Signer
	files roundstate.Files
	book  *client.ContactBook // the contact book, in files
	rt    *client.Realtime    // the WebSocket of watch, or nil
	// identity is the key's identity when the key is not its genesis key
	// (a rotated key imported from a key file), else "".
	identity string
	totp     *chusme.TOTPEnrolment // an enrolment enrolTOTP started, until confirmTOTP
}

func main() {
	a := &app{}
	api := js.Global().Get("Object").New()
	for name, f := range map[string]func(args []js.Value) (any, error){
		"connect":       a.connect,
		"setKey":        a.setKey,
		"openKeyFile":   a.openKeyFile,
		"setStateFiles": a.setStateFiles,
		"register":      a.register,
		"login":         a.login,
		"refresh":       a.refresh,
		"logout":        a.logout,
		"me":            a.me,
		"ceremonies":    a.ceremonies,
		"ceremony":      a.ceremony,
		"watch":         a.watch,
		"wait":          a.wait,
		"startDKG":      a.startDKG,
		"startSign":     a.startSign,
		"runDKG":        a.runDKG,
		"runSign":       a.runSign,
		"shareInfo":     a.shareInfo,
		"contacts":      a.contacts,
		"addContact":    a.addContact,
		"removeContact": a.removeContact,
		"createInvite":  a.createInvite,
		"enrolTOTP":     a.enrolTOTP,
		"confirmTOTP":   a.confirmTOTP,
		// The admin view (administrators only: the server refuses others).
		"adminStats":      a.adminStats,
		"adminInvites":    a.adminInvites,
		"revokeInvite":    a.revokeInvite,
		"adminIdentities": a.adminIdentities,
		"ban":             a.ban,
		"unban":           a.unban,
	} {
		api.Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any { return promise(func() (any, error) { return f(args) }) }))
	}
	js.Global().Set("chusme", api)
	if ready := js.Global().Get("chusmeReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}

// promise runs f on a goroutine (never on the JS callback's, which must not
// block) and returns a Promise of its result: a string of JSON, or an Error.
func promise(f func() (any, error)) js.Value {
	exec := js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			v, err := f()
			if err != nil {
				e := js.Global().Get("Error").New(err.Error())
				if code := chusme.ErrorCode(err); code != "" {
					e.Set("code", code)
				}
				reject.Invoke(e)
				return
			}
			if _, ok := v.(js.Value); !ok {
				data, merr := json.Marshal(v)
				if merr != nil {
					reject.Invoke(js.Global().Get("Error").New(merr.Error()))
					return
				}
				v = string(data)
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	p := js.Global().Get("Promise").New(exec)
	exec.Release()
	return p
}

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

func str(args []js.Value, i int) string {
	if v := arg(args, i); v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}

// integer returns argument i as an int, 0 when it is not a number.
func integer(args []js.Value, i int) int {
	if v := arg(args, i); v.Type() == js.TypeNumber {
		return v.Int()
	}
	return 0
}

func bytesOf(v js.Value) []byte {
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

func uint8Array(b []byte) js.Value {
	u := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u, b)
	return u
}

// webCryptoKey is an identity key held by the browser (a non-extractable
// WebCrypto Ed25519 key): sign is a JS function returning a Promise of the
// signature.
type webCryptoKey struct {
	pub  ed25519.PublicKey
	sign js.Value
}

// Public returns the key's public key.
func (k webCryptoKey) Public() crypto.PublicKey { return k.pub }

// Sign has the browser sign msg (Ed25519 signs the message itself, so
// opts must be crypto.Hash(0)).
func (k webCryptoKey) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts.HashFunc() != 0 {
		return nil, errors.New("webcrypto: Ed25519 signs the message, not a digest")
	}
	v, err := client.Await(k.sign.Invoke(uint8Array(msg)))
	if err != nil {
		return nil, fmt.Errorf("webcrypto: %w", err)
	}
	sig := bytesOf(js.Global().Get("Uint8Array").New(v))
	if !ed25519.Verify(k.pub, msg, sig) {
		return nil, errors.New("webcrypto: the browser's signature does not verify")
	}
	return sig, nil
}

func (a *app) ready() error {
	if a.c == nil || a.key == nil {
		return errors.New("no identity key yet")
	}
	return nil
}

// connect(baseURL) makes the client of the server at baseURL, its tokens
// in memory only.
func (a *app) connect(args []js.Value) (any, error) {
	c, err := client.New(str(args, 0), client.WithUserAgent("chusme-web/1"))
	if err != nil {
		return nil, err
	}
	a.c = c
	info, err := c.ServerInfo(context.Background())
	return info, err
}

// setKey(publicKey Uint8Array, sign function, identity) sets the identity
// key, of identity (a fingerprint, "" for the key's own), and returns the
// identity's fingerprint.
func (a *app) setKey(args []js.Value) (any, error) {
	pub := bytesOf(arg(args, 0))
	if len(pub) != ed25519.PublicKeySize || arg(args, 1).Type() != js.TypeFunction {
		return nil, errors.New("setKey needs a 32-byte public key and a sign function")
	}
	id := str(args, 2)
	if id != "" && !chusme.ValidFingerprint(id) {
		return nil, errors.New("setKey: the identity is not a fingerprint")
	}
	a.key, a.identity = webCryptoKey{pub: pub, sign: arg(args, 1)}, id
	if id == "" {
		id = chusme.Fingerprint(pub)
	}
	return id, nil
}

// pkcs8Ed25519 is the DER of a PKCS #8 PrivateKeyInfo of an Ed25519 key
// (RFC 8410) up to its 32-byte seed: what WebCrypto's importKey reads.
const pkcs8Ed25519 = "\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20"

// openKeyFile(text, passphrase) opens the CLI's sealed key file (package
// keyfile) and returns {pkcs8, publicKey, identity} (Uint8Arrays and a
// fingerprint) for the page to import the key into WebCrypto,
// non-extractable, and wipe pkcs8.
func (a *app) openKeyFile(args []js.Value) (any, error) {
	kf, err := keyfile.Parse([]byte(str(args, 0)))
	if err != nil {
		return nil, err
	}
	pass := []byte(str(args, 1))
	defer clear(pass)
	key, err := kf.Open(pass)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	der := append([]byte(pkcs8Ed25519), key.Seed()...)
	defer clear(der)
	out := js.Global().Get("Object").New()
	out.Set("pkcs8", uint8Array(der))
	out.Set("publicKey", uint8Array(key.Public().(ed25519.PublicKey)))
	out.Set("identity", kf.IdentityFingerprint())
	return out, nil
}

// setStateFiles(files) sets where the drivers seal their round state
// (roundstate.NewIn): files has get(name), put(name, text) and del(name),
// each returning a Promise (get's of the text, or undefined).
func (a *app) setStateFiles(args []js.Value) (any, error) {
	f := arg(args, 0)
	for _, m := range []string{"get", "put", "del"} {
		if f.Get(m).Type() != js.TypeFunction {
			return nil, fmt.Errorf("setStateFiles needs an object with %s", m)
		}
	}
	a.files = jsFiles{f}
	a.book = client.NewContactBookIn(a.files, client.ContactsFileName)
	return true, nil
}

// jsFiles is a roundstate.Files of the page's (IndexedDB).
type jsFiles struct{ f js.Value }

// ReadFile returns file name's text, fs.ErrNotExist if there is none.
func (j jsFiles) ReadFile(name string) ([]byte, error) {
	v, err := client.Await(j.f.Call("get", name))
	if err != nil {
		return nil, err
	}
	if v.Type() != js.TypeString {
		return nil, fs.ErrNotExist
	}
	return []byte(v.String()), nil
}

// WriteFile replaces file name with data.
func (j jsFiles) WriteFile(name string, data []byte) error {
	_, err := client.Await(j.f.Call("put", name, string(data)))
	return err
}

// Remove deletes file name.
func (j jsFiles) Remove(name string) error {
	_, err := client.Await(j.f.Call("del", name))
	return err
}

// roundState returns the round-state store of passphrase pass: the
// drivers seal each round's state there before sending its package, so a
// reloaded page rejoins the ceremony.
func (a *app) roundState(pass []byte) (*roundstate.Store, error) {
	if a.files == nil {
		return nil, errors.New("no round-state store (setStateFiles)")
	}
	return roundstate.NewIn(a.files, pass, vault.Params{}), nil
}

// register(invite) registers the key as a new identity.
func (a *app) register(args []js.Value) (any, error) {
	if err := a.ready(); err != nil {
		return nil, err
	}
	return a.c.Register(context.Background(), a.key, str(args, 0))
}

// login(totp) logs in by challenge-response, with the TOTP (or recovery)
// code totp when the identity asks for one; it returns the fingerprint.
func (a *app) login(args []js.Value) (any, error) {
	if err := a.ready(); err != nil {
		return nil, err
	}
	var opts []client.LoginOption
	if a.identity != "" {
		opts = append(opts, client.LoginFingerprint(a.identity))
	}
	if code := str(args, 0); code != "" {
		opts = append(opts, client.LoginTOTP(func(context.Context) (string, error) { return code, nil }))
	}
	t, err := a.c.Login(context.Background(), a.key, opts...)
	return map[string]any{"fingerprint": t.Fingerprint, "expires_at": t.AccessExpiresAt}, err
}

func (a *app) refresh([]js.Value) (any, error) {
	if a.c == nil {
		return nil, client.ErrNotLoggedIn
	}
	t, err := a.c.Refresh(context.Background())
	return map[string]any{"fingerprint": t.Fingerprint, "expires_at": t.AccessExpiresAt}, err
}

func (a *app) logout([]js.Value) (any, error) {
	if a.c == nil {
		return true, nil
	}
	if a.rt != nil {
		a.rt.Close()
		a.rt = nil
	}
	return true, a.c.Logout(context.Background())
}

func (a *app) me([]js.Value) (any, error) {
	if a.c == nil {
		return nil, client.ErrNotLoggedIn
	}
	return a.c.Me(context.Background())
}

func (a *app) createInvite([]js.Value) (any, error) {
	if a.c == nil {
		return nil, client.ErrNotLoggedIn
	}
	return a.c.CreateInvite(context.Background(), 24*time.Hour)
}

// adminStats(hours) returns the ceremonies of the last hours by the hour.
func (a *app) adminStats(args []js.Value) (any, error) {
	if a.c == nil {
		return nil, client.ErrNotLoggedIn
	}
	return a.c.AdminCeremonyStats(context.Background(), integer(args, 0))
}

// adminInvites(cursor) returns a page of invites, newest first.
func (a *app) adminInvites(args []js.Value) (any, error) {
	if a.c == nil {
		return nil, client.ErrNotLoggedIn
	}
	return a.c.AdminInvites(context.Background(), client.InviteQuery{Cursor: str(args, 0)})
}

// revokeInvite(id) revokes an unused invite.
func (a *app) revokeInvite(args []js.Value) (any, error) {
	if a.c == nil {
		return nil, client.ErrNotLoggedIn
	}
	return struct{}{}, a.c.AdminRevokeInvite(context.Background(), str(args, 0))
}

// adminIdentities(cursor) returns a page of the server's identities.
func (a *app) adminIdentities(args []js.Value) (any, error) {
	if a.c == nil {
		return nil, client.ErrNotLoggedIn
	}
	return a.c.AdminIdentities(context.Background(), client.IdentityQuery{Cursor: str(args, 0)})
}

// ban(fp) bans identity fp.
func (a *app) ban(args []js.Value) (any, error) {
	if a.c == nil {
		return nil, client.ErrNotLoggedIn
	}
	return a.c.Ban(context.Background(), str(args, 0))
}

// unban(fp) lifts the ban of identity fp.
func (a *app) unban(args []js.Value) (any, error) {
	if a.c == nil {
		return nil, client.ErrNotLoggedIn
	}
	return a.c.Unban(context.Background(), str(args, 0))
}

// watch(onEvent, onState) opens the WebSocket (the ticket flow, client's
// Realtime, which reconnects and catches up by itself) and calls
// onEvent(ceremony JSON) with every new state of the caller's ceremonies
// and onState(connected, reason) when the connection goes up or down.
// The drivers wait on its events too.
func (a *app) watch(args []js.Value) (any, error) {
	if a.c == nil {
		return nil, client.ErrNotLoggedIn
	}
	onEvent, onState := arg(args, 0), arg(args, 1)
	if onEvent.Type() != js.TypeFunction || onState.Type() != js.TypeFunction {
		return nil, errors.New("watch needs onEvent and onState functions")
	}
	if a.rt != nil {
		a.rt.Close()
	}
	a.rt = a.c.Realtime(context.Background(), client.RealtimeOptions{
		OnEvent: func(info chusme.CeremonyInfo) {
			if data, err := json.Marshal(info); err == nil {
				onEvent.Invoke(string(data))
			}
		},
		OnState: func(up bool, err error) {
			reason := ""
			if err != nil {
				reason = err.Error()
			}
			onState.Invoke(up, reason)
		},
	})
	return true, nil
}

// enrolTOTP() starts turning TOTP on and returns the secret and its
// otpauth:// URI for the person's authenticator.
func (a *app) enrolTOTP([]js.Value) (any, error) {
	if err := a.ready(); err != nil {
		return nil, err
	}
	en, err := a.c.EnrolTOTP(context.Background())
	if err != nil {
		return nil, err
	}
	a.totp = &en
	return en, nil
}

// confirmTOTP(code) turns TOTP on with the authenticator's code, the
// enrolment signed by the identity key, and returns the recovery codes.
func (a *app) confirmTOTP(args []js.Value) (any, error) {
	if err := a.ready(); err != nil {
		return nil, err
	}
	if a.totp == nil {
		return nil, errors.New("no TOTP enrolment started")
	}
	codes, err := a.c.ConfirmTOTP(context.Background(), a.key, *a.totp, str(args, 0))
	if err == nil {
		a.totp = nil
	}
	return codes, err
}

// ceremonies(cursor, status) returns a page of the caller's ceremonies.
func (a *app) ceremonies(args []js.Value) (any, error) {
	if a.c == nil {
		return nil, client.ErrNotLoggedIn
	}
	return a.c.CeremonyPage(context.Background(), chusme.CeremonyListQuery{Cursor: str(args, 0), Status: str(args, 1), Limit: 20})
}

// ceremony(id) returns one ceremony.
func (a *app) ceremony(args []js.Value) (any, error) {
	if a.c == nil {
		return nil, client.ErrNotLoggedIn
	}
	return a.c.Ceremony(context.Background(), str(args, 0))
}

// wait(id, after) returns ceremony id once its version is past after (a
// long poll of the server's).
func (a *app) wait(args []js.Value) (any, error) {
	if a.c == nil {
		return nil, client.ErrNotLoggedIn
	}
	return a.c.WaitCeremony(context.Background(), str(args, 0), int64(arg(args, 1).Int()))
}

// startDKG(threshold, participants []string) starts a DKG.
func (a *app) startDKG(args []js.Value) (any, error) {
	if err := a.ready(); err != nil {
		return nil, err
	}
	parts, err := a.resolve(stringsOf(arg(args, 1)))
	if err != nil {
		return nil, err
	}
	return a.c.StartDKG(context.Background(), a.key, arg(args, 0).Int(), parts)
}

// startSign(keyID, message Uint8Array, signers []string) starts a signing
// ceremony.
func (a *app) startSign(args []js.Value) (any, error) {
	if err := a.ready(); err != nil {
		return nil, err
	}
	signers, err := a.resolve(stringsOf(arg(args, 2)))
	if err != nil {
		return nil, err
	}
	return a.c.StartSign(context.Background(), a.key, str(args, 0), bytesOf(arg(args, 1)), signers)
}

// resolve turns names, contacts' names or fingerprints (or prefixes of
// them), into fingerprints, each once, in order (client.ContactBook.Resolve).
func (a *app) resolve(names []string) ([]string, error) {
	book, err := a.contactBook()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		fp, err := book.Resolve(n)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, fp) {
			out = append(out, fp)
		}
	}
	return out, nil
}

// contacts() lists the contact book, by name: an array, empty for an
// empty book (never null).
func (a *app) contacts([]js.Value) (any, error) {
	book, err := a.contactBook()
	if err != nil {
		return nil, err
	}
	list, err := book.List()
	if list == nil {
		list = []client.Contact{}
	}
	return list, err
}

// addContact(name, fingerprint) adds a contact.
func (a *app) addContact(args []js.Value) (any, error) {
	book, err := a.contactBook()
	if err != nil {
		return nil, err
	}
	return book.Add(str(args, 0), str(args, 1))
}

// removeContact(name) removes a contact.
func (a *app) removeContact(args []js.Value) (any, error) {
	book, err := a.contactBook()
	if err != nil {
		return nil, err
	}
	return book.Remove(str(args, 0))
}

// contactBook returns the contact book, once setStateFiles has set it.
func (a *app) contactBook() (*client.ContactBook, error) {
	if a.book == nil {
		return nil, errors.New("the contact book is not set up yet")
	}
	return a.book, nil
}

// stringsOf returns JS array v of strings.
func stringsOf(v js.Value) []string {
	var out []string
	for i := range v.Get("length").Int() {
		out = append(out, v.Index(i).String())
	}
	return out
}

// progress returns a client.Progress calling JS function f with the
// ceremony's JSON, or nil.
func progress(f js.Value) client.Progress {
	if f.Type() != js.TypeFunction {
		return nil
	}
	return func(info chusme.CeremonyInfo) {
		if data, err := json.Marshal(info); err == nil {
			f.Invoke(string(data))
		}
	}
}

// runDKG(id, passphrase, onProgress) takes part in DKG ceremony id and
// returns {key_id, share_file}: the share sealed under passphrase, as the
// CLI's share file (sharefile.Seal).
func (a *app) runDKG(args []js.Value) (any, error) {
	if err := a.ready(); err != nil {
		return nil, err
	}
	pass := []byte(str(args, 1))
	defer clear(pass)
	me, err := a.c.Me(context.Background())
	if err != nil {
		return nil, err
	}
	store, err := a.roundState(pass)
	if err != nil {
		return nil, err
	}
	defer store.Wipe()
	var file []byte
	save := client.WithKeyPackageSaver(func(res *client.DKGResult) error {
		var err error
		file, err = sharefile.Seal(&sharefile.Share{KeyID: res.KeyID, Generation: 1, Identity: me.Fingerprint,
			CeremonyID: res.Ceremony.ID, KeyPackage: res.KeyPackage, PublicKeyPackage: res.PublicKeyPackage}, pass, vault.Params{})
		return err
	})
	res, err := a.c.RunDKG(context.Background(), str(args, 0), a.key, progress(arg(args, 2)), save, client.WithRoundState(store))
	if err != nil {
		return nil, err
	}
	res.KeyPackage.Zero()
	return map[string]string{"key_id": res.KeyID, "share_file": string(file)}, nil
}

// shareInfo(shareFile) returns the public part of a share file.
func (a *app) shareInfo(args []js.Value) (any, error) {
	return sharefile.Parse([]byte(str(args, 0)))
}

// runSign(id, shareFile, passphrase, approve, onProgress) takes part in
// signing ceremony id with the share of shareFile: approve gets the
// request as the driver verified it (JSON) and returns a Promise of true
// to sign or false to decline. It returns {signature} (hex).
func (a *app) runSign(args []js.Value) (any, error) {
	if err := a.ready(); err != nil {
		return nil, err
	}
	f, err := sharefile.Parse([]byte(str(args, 1)))
	if err != nil {
		return nil, err
	}
	pass := []byte(str(args, 2))
	defer clear(pass)
	s, err := f.Open(pass)
	if err != nil {
		return nil, err
	}
	defer s.Zero()
	store, err := a.roundState(pass)
	if err != nil {
		return nil, err
	}
	defer store.Wipe()
	approveFn := arg(args, 3)
	approve := func(_ context.Context, req client.SignRequest) (bool, error) {
		data, err := json.Marshal(signRequestView(req))
		if err != nil {
			return false, err
		}
		v, err := client.Await(approveFn.Invoke(string(data)))
		if err != nil {
			return false, err
		}
		return v.Truthy(), nil
	}
	sig, err := a.c.RunSign(context.Background(), str(args, 0), a.key, s.KeyID, s.KeyPackage, approve, progress(arg(args, 4)), client.WithRoundState(store))
	if err != nil {
		return nil, err
	}
	return map[string]any{"signature": chusme.Bytes(sig)}, nil
}

// signRequestView is what the approval screen shows of a verified request.
func signRequestView(r client.SignRequest) map[string]any {
	return map[string]any{
		"ceremony_id": r.CeremonyID, "key_id": r.KeyID, "requester": r.Requester, "requester_head": r.RequesterHead,
		"signers": r.Signers, "message": chusme.Bytes(r.Message), "message_sha256": chusme.Bytes(r.MessageSHA256[:]),
		"deadline": r.Deadline,
	}
}
