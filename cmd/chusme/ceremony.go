package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/roundstate"
	"github.com/chusme/chusme/client/sharefile"
	"github.com/chusme/chusme/client/vault"
)

const ceremonyUsage = `
FROST ceremonies (key shares are kept in CONFIG/shares/KEY_ID.share, sealed with the key passphrase):
  ceremony dkg --threshold T --participants FP,FP,… [--round-timeout D]
                                     start a T-of-N distributed key generation and take part in it
                                     (you are a participant whether listed or not); saves your share;
                                     each round may take D (e.g. 30m; default: the server's, 5m)
  ceremony refresh KEY [--remove FP,…] [--round-timeout D]
                                     give every holder of KEY a new share of the same key (shares
                                     stolen before no longer sign with the new ones), leaving out
                                     the holders FP; your share file is replaced by the new
                                     generation's and the backup follows
  ceremony reshare KEY --threshold T --participants FP,FP,… [--dealers FP,…] [--round-timeout D]
                                     deal KEY's secret anew to the new holders FP (a new group, a
                                     new threshold T, the same public key and key id); its holders
                                     deal, all of them or the --dealers (at least its threshold); a
                                     dealer that is no new holder has its share file wiped
  ceremony repair KEY --for FP [--helpers FP,…] [--round-timeout D]
                                     rebuild the lost share of KEY's holder FP with the help of other
                                     holders (all of them, or the --helpers: at least the threshold),
                                     none of whom learns it; FP runs chusme ceremony join to get it
  ceremony join [ID] [--wait D] [--yes --expect-sha256 HEX]
                                     take part in a ceremony you are invited to (no ID:
                                     the one waiting for you, or the first to come within D; IDs and
                                     KEY ids may be given by their
                                     first 8 or more hex digits, as the progress line shows them); for
                                     signing, shows the message's SHA-256 and requester and asks, or
                                     with --yes signs only a message whose SHA-256 is HEX; resumes a
                                     ceremony this identity was interrupted in (Ctrl-C, a crash)
  ceremony sign --key KEY --message-file F [--signers FP,…] [--all-signers] [--round-timeout D]
                [--signature-out FILE]
                                     start a signing ceremony of F with group key KEY and take part;
                                     the first T of the signers to commit sign (default signers:
                                     every participant of KEY), or with --all-signers every one of
                                     them; prints the signature (and writes it, hex, to FILE)
  ceremony status ID                 show a ceremony: round, who has submitted, declined or is still
                                     missing, the deadline and time left, the result
  ceremony list [--status S --limit N --from-contacts]
                                     your ceremonies, newest first (S: open, completed, failed,
                                     cancelled): every one, or the N newest (1 to 100); with
                                     --from-contacts only those whose creator is in your contacts
  ceremony cancel ID                 cancel an open ceremony (its creator or an administrator)
  ceremony decline ID                decline a ceremony you are invited to (signed): a DKG fails at
                                     once, a signing ceremony goes on without you while T are left
  keys list [--ids]                  every key share you hold: key id, group key, T of N, participants
                                     (contact names, else fingerprints), generation, whether the backup
                                     holds it, and its state against the key's current generation on
                                     the server, verified: current, outdated, removed (a refresh or
                                     reshare left you out) or unchecked; with --ids only the key ids,
                                     one a line
  keys remove KEY [--yes]            delete your share of KEY when the key's current generation,
                                     verified, no longer names you (state removed), after asking or
                                     with --yes; the backup drops it too
  keys show KEY                      show a group key: public key, threshold, participants
  keys verify KEY SIG MSGFILE        verify an Ed25519 signature (hex or base64) of MSGFILE under the
                                     group key KEY; exits with status 1 if it does not verify
  keys verify-cert KEY               check that group key KEY was made by its participants: every
                                     signed confirmation of its certificate, each under the key at
                                     the chain head it names; prints who made it at which heads
While a ceremony runs, its progress is shown on stderr. Each step's round state (secret: DKG
secrets, signing nonces) is kept in CONFIG/ceremonies/ID.state, sealed with the key passphrase,
until the ceremony ends; after an interruption "ceremony join ID" continues from it.
`

// statusNotNeeded is the status ceremony sign and join print when the
// signing package was made without this signer.
const statusNotNeeded = "not_needed"

// Codes of the errors the ceremony commands report themselves.
const (
	codeNotApproved      = "not_approved"      // the signer declined, or nobody approved
	codeMessageMismatch  = "message_mismatch"  // the message is not the one expected
	codeInvalidSignature = "invalid_signature" // keys verify: the signature does not verify
	codeShareGeneration  = "share_generation"  // the local share is of another generation than the ceremony's
)

// ceremonyStatuses are the values of ceremony list --status.
var ceremonyStatuses = []string{chusme.CeremonyOpen, chusme.CeremonyCompleted, chusme.CeremonyFailed, chusme.CeremonyCancelled}

// ceremony runs the ceremony subcommands.
func (e *env) ceremony(args []string) error {
	return e.runSub("ceremony", args, sub{"dkg", e.ceremonyDKG}, sub{"refresh", e.ceremonyRefresh}, sub{"reshare", e.ceremonyReshare}, sub{"repair", e.ceremonyRepair}, sub{"join", e.ceremonyJoin}, sub{"sign", e.ceremonySign},
		sub{"status", e.ceremonyStatus}, sub{"list", e.ceremonyList}, sub{"cancel", e.ceremonyCancel}, sub{"decline", e.ceremonyDecline})
}

// keys runs the group key subcommands.
func (e *env) keys(args []string) error {
	return e.runSub("keys", args, sub{"list", e.keysList}, sub{"remove", e.keysRemove}, sub{"show", e.keysShow}, sub{"verify", e.keysVerify}, sub{"verify-cert", e.keysVerifyCert})
}

// fingerprintList parses a comma-separated list of distinct fingerprints
// (or contact names and prefixes, see resolveFingerprint).
func (e *env) fingerprintList(name, flagName, s string) ([]string, error) {
	var out []string
	for arg := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(arg) == "" {
			continue
		}
		fp, err := e.resolveFingerprint(name+": "+flagName, arg)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, fp) {
			return nil, usagef("%s: %s: %s is listed twice", name, flagName, fp)
		}
		out = append(out, fp)
	}
	return out, nil
}

// unlocked is the identity key opened with its passphrase, which also seals
// and opens the key shares.
type unlocked struct {
	fp   string // the identity's fingerprint
	key  ed25519.PrivateKey
	pass []byte
}

func (u *unlocked) wipe() {
	clear(u.key)
	clear(u.pass)
}

// unlock opens the identity key and keeps the passphrase. The caller wipes
// the result.
func (e *env) unlock() (*unlocked, error) {
	path, err := e.keyPath()
	if err != nil {
		return nil, err
	}
	return e.unlockFile(path)
}

// sharePath returns where the share of keyID lives.
func (e *env) sharePath(keyID string) (string, error) {
	dir, err := e.config()
	if err != nil {
		return "", err
	}
	return sharefile.Path(dir, keyID), nil
}

// loadShare opens u's share of group key keyID. The caller Zeroes it.
func (e *env) loadShare(keyID string, u *unlocked) (*sharefile.Share, error) {
	path, err := e.sharePath(keyID)
	if err != nil {
		return nil, err
	}
	sh, err := sharefile.Load(path, u.pass)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no share of key %s at %s: this identity did not take part in its DKG from this config directory", keyID, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sh.Identity != u.fp {
		sh.Zero()
		return nil, fmt.Errorf("%s is the share of %s, not of this identity %s", path, sh.Identity, u.fp)
	}
	return sh, nil
}

// unlockShare unlocks the identity key (unlock) and opens its share of
// group key keyID (loadShare). The caller wipes the one and Zeroes the
// other.
func (e *env) unlockShare(keyID string) (*unlocked, *sharefile.Share, error) {
	u, err := e.unlock()
	if err != nil {
		return nil, nil, err
	}
	sh, err := e.loadShare(keyID, u)
	if err != nil {
		u.wipe()
		return nil, nil, err
	}
	return u, sh, nil
}

// stateDir is where the round state of the ceremonies this identity takes
// part in is sealed: CONFIG/ceremonies.
const stateDir = "ceremonies"

// roundState returns the round-state store of the config directory,
// sealing under u's passphrase. The caller Wipes it.
func (e *env) roundState(u *unlocked) (*roundstate.Store, error) {
	dir, err := e.config()
	if err != nil {
		return nil, err
	}
	params, err := e.kdfParams()
	if err != nil {
		return nil, err
	}
	return roundstate.New(filepath.Join(dir, stateDir), u.pass, params), nil
}

// resuming reports whether the driver will resume ceremony info from its
// state file, and says so on stderr with the round the state is at.
func (e *env) resuming(store *roundstate.Store, info chusme.CeremonyInfo) bool {
	round, err := store.Round(info.ID)
	if err != nil {
		return false // none, or one the driver will refuse, saying why
	}
	fmt.Fprintf(e.stderr, "resuming ceremony %s at round %d\n", info.ID, round)
	return true
}

// hintOnInterrupt tells, when the command was interrupted, how to go on
// with ceremony id: its round state stays, so join resumes it.
func (e *env) hintOnInterrupt(id string) {
	if e.ctx.Err() != nil {
		fmt.Fprintf(e.stderr, "Interrupted: \"chusme ceremony join %s\" resumes the ceremony, \"chusme ceremony cancel %s\" gives it up.\n", id, id)
	}
}

// dkgOutput is what ceremony dkg, and ceremony join of a DKG, print.
type dkgOutput struct {
	CeremonyID   string       `json:"ceremony_id"`
	Kind         string       `json:"kind"`
	Status       string       `json:"status"`
	KeyID        string       `json:"key_id"`
	PublicKey    chusme.Bytes `json:"public_key"`
	Threshold    int          `json:"threshold"`
	Participants []string     `json:"participants"`
	Generation   int          `json:"generation"`
	ShareFile    string       `json:"share_file"`
}

// ceremonyDKG starts a DKG and takes part in it.
func (e *env) ceremonyDKG(args []string) error {
	fs := e.flags("ceremony dkg")
	threshold := fs.Int("threshold", 0, "")
	partsFlag := fs.String("participants", "", "")
	roundFlag := fs.Duration("round-timeout", 0, "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	round, err := roundTimeoutFlag("ceremony dkg", *roundFlag)
	if err != nil {
		return err
	}
	parts, err := e.fingerprintList("ceremony dkg", "--participants", *partsFlag)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return usagef("ceremony dkg: --participants FP,FP,… is required")
	}
	if *threshold < 2 {
		return usagef("ceremony dkg: --threshold must be at least 2")
	}
	if _, err := e.kdfParams(); err != nil {
		return err
	}
	u, err := e.unlock()
	if err != nil {
		return err
	}
	defer u.wipe()
	if !slices.Contains(parts, u.fp) {
		parts = append(parts, u.fp)
	}
	if *threshold > len(parts) {
		return usagef("ceremony dkg: --threshold %d is above the %d participants", *threshold, len(parts))
	}
	if err := e.prepareShareDir(); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	return e.startAndRun(c, u, chusme.CreateCeremonyRequest{Kind: chusme.KindDKG, Threshold: *threshold,
		Participants: parts, RoundTimeout: round}, "for each other participant, or chusme ceremony join alone", e.runDKG)
}

// startAndRun creates the ceremony req asks for, prints the command the
// others (whom) run, and takes part in it with run.
func (e *env) startAndRun(c *client.Client, u *unlocked, req chusme.CreateCeremonyRequest, whom string,
	run func(*client.Client, *unlocked, chusme.CeremonyInfo) error) error {
	info, err := c.CreateCeremony(e.ctx, u.key, req)
	if err != nil {
		return err
	}
	e.next("chusme ceremony join "+info.ID, whom)
	if err := run(c, u, info); err != nil {
		e.hintOnInterrupt(info.ID)
		return err
	}
	return nil
}

// roundTimeoutFlag checks a --round-timeout: 0 (the server's default) or
// whole seconds from chusme.MinRoundTimeout to a day (the server may allow
// less: it says so); it returns the seconds.
func roundTimeoutFlag(name string, d time.Duration) (int64, error) {
	if d != 0 && (d < chusme.MinRoundTimeout || d > chusme.MaxCeremonyRequestAhead || d%time.Second != 0) {
		return 0, usagef("%s: --round-timeout must be whole seconds from %s to %s (0 or none: the server's default)",
			name, chusme.MinRoundTimeout, chusme.MaxCeremonyRequestAhead)
	}
	return int64(d / time.Second), nil
}

// prepareShareDir creates CONFIG/shares before a DKG, so that the share can
// be saved once the ceremony ends.
func (e *env) prepareShareDir() error {
	dir, err := e.config()
	if err != nil {
		return err
	}
	return os.MkdirAll(filepath.Join(dir, sharefile.Dir), 0o700)
}

// runDKG takes part in DKG ceremony info and saves the share.
func (e *env) runDKG(c *client.Client, u *unlocked, info chusme.CeremonyInfo) error {
	params, err := e.kdfParams()
	if err != nil {
		return err
	}
	if err := e.prepareShareDir(); err != nil {
		return err
	}
	store, err := e.roundState(u)
	if err != nil {
		return err
	}
	defer store.Wipe()
	e.resuming(store, info)
	pv := e.newProgress(u.fp)
	pv.update(info)
	var path string
	save := func(res *client.DKGResult) error {
		p, err := e.sharePath(res.KeyID)
		if err != nil {
			return err
		}
		path = p
		err = sharefile.Save(path, &sharefile.Share{
			KeyID:            res.KeyID,
			Identity:         u.fp,
			CeremonyID:       info.ID,
			KeyPackage:       res.KeyPackage,
			PublicKeyPackage: res.PublicKeyPackage,
		}, u.pass, params, false)
		if errors.Is(err, sharefile.ErrExists) {
			// Saved by the run a crash ended before it removed its round
			// state: the same ceremony's share of the same key.
			if sf, rerr := sharefile.Read(path); rerr == nil && sf.KeyID == res.KeyID && sf.Identity == u.fp && sf.CeremonyID == info.ID {
				return nil
			}
		}
		if err != nil {
			return fmt.Errorf("saving the key share: %w", err)
		}
		return nil
	}
	res, err := c.RunDKG(e.ctx, info.ID, u.key, pv.update, client.WithRoundState(store), client.WithKeyPackageSaver(save))
	pv.finish()
	if err != nil {
		return err
	}
	defer res.KeyPackage.Zero()
	e.backupAfterChange(c, u)
	return e.dealt(res.Ceremony, res.KeyID, res.PublicKeyPackage.VerifyingKey().Bytes(), 1, path)
}

// dealt prints what a DKG or a refresh left this participant.
func (e *env) dealt(info chusme.CeremonyInfo, keyID string, publicKey []byte, generation int, path string) error {
	out := dkgOutput{
		CeremonyID:   info.ID,
		Kind:         info.Kind,
		Status:       info.Status,
		KeyID:        keyID,
		PublicKey:    publicKey,
		Threshold:    info.Threshold,
		Participants: info.Participants,
		Generation:   generation,
		ShareFile:    path,
	}
	return e.output(out, func(w io.Writer) {
		fmt.Fprintf(w, "ceremony\t%s completed\n", out.CeremonyID)
		fmt.Fprintf(w, "key\t%s\n", out.KeyID)
		fmt.Fprintf(w, "public key\t%x\n", []byte(out.PublicKey))
		fmt.Fprintf(w, "threshold\t%d of %d\n", out.Threshold, len(out.Participants))
		fmt.Fprintf(w, "generation\t%d\n", out.Generation)
		fmt.Fprintf(w, "share file\t%s\n", out.ShareFile)
	})
}

// keyChangeArgs parses the arguments of a command that changes the shares
// of a group key, name: the KEY (a prefix of a held key's id will do) and
// --round-timeout, with fs's other flags.
func (e *env) keyChangeArgs(name string, fs *flag.FlagSet, args []string) (keyID string, round int64, err error) {
	roundFlag := fs.Duration("round-timeout", 0, "")
	rest, err := parse(fs, args)
	if err != nil {
		return "", 0, err
	}
	if len(rest) != 1 {
		return "", 0, usagef("%s: give the KEY whose shares change", name)
	}
	if keyID, err = e.keyIDArg(name, rest[0]); err != nil {
		return "", 0, err
	}
	round, err = roundTimeoutFlag(name, *roundFlag)
	return keyID, round, err
}

// newShareSaver saves the share ceremony info gave u, of generation, over
// the file at path.
func (e *env) newShareSaver(path string, u *unlocked, info chusme.CeremonyInfo, generation int, params vault.Params) func(*client.DKGResult) error {
	return func(res *client.DKGResult) error {
		err := sharefile.Save(path, &sharefile.Share{
			KeyID:            res.KeyID,
			Generation:       generation,
			Identity:         u.fp,
			CeremonyID:       info.ID,
			KeyPackage:       res.KeyPackage,
			PublicKeyPackage: res.PublicKeyPackage,
		}, u.pass, params, true)
		if err != nil {
			return fmt.Errorf("saving the new key share: %w", err)
		}
		return nil
	}
}

// savedBefore reports whether share sh is already the one a refresh or
// reshare, info, made: a run a crash ended after it saved the share and
// before it removed its round state, which it then removes.
func (e *env) savedBefore(u *unlocked, info chusme.CeremonyInfo, sh *sharefile.Share) (bool, error) {
	if sh.Generation != info.KeyGeneration+1 || sh.CeremonyID != info.ID {
		return false, nil
	}
	store, err := e.roundState(u)
	if err != nil {
		return false, err
	}
	defer store.Wipe()
	if err := os.Remove(store.Path(info.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	return true, nil
}

// ceremonyRefresh starts a refresh of a group key this identity holds a
// share of and takes part in it.
func (e *env) ceremonyRefresh(args []string) error {
	fs := e.flags("ceremony refresh")
	removeFlag := fs.String("remove", "", "")
	keyID, round, err := e.keyChangeArgs("ceremony refresh", fs, args)
	if err != nil {
		return err
	}
	removed, err := e.fingerprintList("ceremony refresh", "--remove", *removeFlag)
	if err != nil {
		return err
	}
	if _, err := e.kdfParams(); err != nil {
		return err
	}
	u, err := e.unlock()
	if err != nil {
		return err
	}
	defer u.wipe()
	if slices.Contains(removed, u.fp) {
		return usagef("ceremony refresh: you can't remove yourself; ask another holder to refresh without you")
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	key, err := c.GroupKey(e.ctx, keyID)
	if err != nil {
		return err
	}
	var keep []string
	for _, fp := range key.Participants {
		if !slices.Contains(removed, fp) {
			keep = append(keep, fp)
		}
	}
	for _, fp := range removed {
		if !slices.Contains(key.Participants, fp) {
			return usagef("ceremony refresh: --remove: %s holds no share of key %s", fp, keyID)
		}
	}
	if len(keep) < key.Threshold {
		return usagef("ceremony refresh: %d holders would be left, fewer than the key's threshold of %d", len(keep), key.Threshold)
	}
	run := e.runRefresh
	if !slices.Contains(keep, u.fp) {
		run = e.showStarted
	}
	return e.startAndRun(c, u, chusme.CreateCeremonyRequest{Kind: chusme.KindRefresh, KeyID: keyID,
		Participants: keep, RoundTimeout: round}, "for each holder", run)
}

// showStarted prints a ceremony its creator started without taking part
// in it: an administrator that holds no share of the key.
func (e *env) showStarted(_ *client.Client, _ *unlocked, info chusme.CeremonyInfo) error {
	return e.output(info, func(w io.Writer) { ceremonyText(w, info, e.contactNames()) })
}

// ceremonyReshare starts a reshare of a group key to new holders and takes
// part in it when this identity deals or holds.
func (e *env) ceremonyReshare(args []string) error {
	fs := e.flags("ceremony reshare")
	threshold := fs.Int("threshold", 0, "")
	partsFlag := fs.String("participants", "", "")
	dealersFlag := fs.String("dealers", "", "")
	keyID, round, err := e.keyChangeArgs("ceremony reshare", fs, args)
	if err != nil {
		return err
	}
	holders, err := e.fingerprintList("ceremony reshare", "--participants", *partsFlag)
	if err != nil {
		return err
	}
	dealers, err := e.fingerprintList("ceremony reshare", "--dealers", *dealersFlag)
	if err != nil {
		return err
	}
	if len(holders) < 2 || *threshold < 2 || *threshold > len(holders) {
		return usagef("ceremony reshare: --participants needs 2 or more new holders and --threshold from 2 to their number")
	}
	if _, err := e.kdfParams(); err != nil {
		return err
	}
	u, err := e.unlock()
	if err != nil {
		return err
	}
	defer u.wipe()
	c, err := e.client()
	if err != nil {
		return err
	}
	key, err := c.GroupKey(e.ctx, keyID)
	if err != nil {
		return err
	}
	if len(dealers) == 0 {
		dealers = key.Participants
	}
	for _, fp := range dealers {
		if !slices.Contains(key.Participants, fp) {
			return usagef("ceremony reshare: --dealers: %s holds no share of key %s", fp, keyID)
		}
	}
	if len(dealers) < key.Threshold {
		return usagef("ceremony reshare: %d dealers, fewer than the key's threshold of %d", len(dealers), key.Threshold)
	}
	members := slices.Clone(dealers)
	for _, fp := range holders {
		if !slices.Contains(members, fp) {
			members = append(members, fp)
		}
	}
	run := e.runReshare
	if !slices.Contains(members, u.fp) {
		run = e.showStarted
	}
	return e.startAndRun(c, u, chusme.CreateCeremonyRequest{Kind: chusme.KindReshare, KeyID: keyID, Threshold: *threshold,
		Participants: members, NewParticipants: holders, RoundTimeout: round}, "for each dealer and new holder", run)
}

// dealerShare prepares u's part in reshare or repair info: the sealing
// parameters, where its share of the key lives and, if u deals (or helps),
// that share (the caller Zeroes it; nil otherwise).
func (e *env) dealerShare(u *unlocked, info chusme.CeremonyInfo) (vault.Params, string, *sharefile.Share, error) {
	params, err := e.kdfParams()
	if err != nil {
		return params, "", nil, err
	}
	if err := e.prepareShareDir(); err != nil {
		return params, "", nil, err
	}
	path, err := e.sharePath(info.KeyID)
	if err != nil || !slices.Contains(info.Dealers, u.fp) {
		return params, path, nil, err
	}
	sh, err := e.loadShare(info.KeyID, u)
	return params, path, sh, err
}

// runReshare takes part in reshare ceremony info: a dealer with u's share
// of its key; a new holder saves its new share, replacing the old one if
// it had one; a dealer that is no new holder has its share file removed.
func (e *env) runReshare(c *client.Client, u *unlocked, info chusme.CeremonyInfo) error {
	params, path, sh, err := e.dealerShare(u, info)
	if err != nil {
		return err
	}
	defer sh.Zero()
	var old *client.OldShare
	if sh != nil {
		if done, err := e.savedBefore(u, info, sh); done || err != nil {
			return cmp.Or(err, e.dealt(info, info.KeyID, sh.PublicKeyPackage.VerifyingKey().Bytes(), sh.Generation, path))
		}
		old = &client.OldShare{KeyPackage: sh.KeyPackage, PublicKeyPackage: sh.PublicKeyPackage, Generation: sh.Generation}
	}
	store, err := e.roundState(u)
	if err != nil {
		return err
	}
	defer store.Wipe()
	e.resuming(store, info)
	pv := e.newProgress(u.fp)
	pv.update(info)
	res, err := c.RunReshare(e.ctx, info.ID, u.key, old, pv.update, client.WithRoundState(store),
		client.WithKeyPackageSaver(e.newShareSaver(path, u, info, info.KeyGeneration+1, params)))
	pv.finish()
	if err != nil {
		return err
	}
	if res.KeyPackage == nil {
		// A dealer that leaves: its share is of no use any more, and the
		// backup drops it.
		if err := e.dropShare(u, info.KeyID, info.KeyGeneration+1, path); err != nil {
			return err
		}
		path = ""
	} else {
		defer res.KeyPackage.Zero()
	}
	e.backupAfterChange(c, u)
	return e.dealtKey(c, res.Ceremony, info.KeyGeneration+1, path)
}

// dealtKey prints what a reshare or a repair, info, left this participant,
// with the key's holders and threshold as the key's generation now has
// them.
func (e *env) dealtKey(c *client.Client, info chusme.CeremonyInfo, generation int, path string) error {
	gk, err := c.GroupKeyGeneration(e.ctx, info.KeyID, generation)
	if err != nil {
		return err
	}
	info.Participants, info.Threshold = gk.Participants, gk.Threshold
	return e.dealt(info, gk.KeyID, gk.PublicKey, generation, path)
}

// ceremonyRepair starts a repair of a holder's lost share of a group key
// and takes part in it as a helper.
func (e *env) ceremonyRepair(args []string) error {
	fs := e.flags("ceremony repair")
	forFlag := fs.String("for", "", "")
	helpersFlag := fs.String("helpers", "", "")
	keyID, round, err := e.keyChangeArgs("ceremony repair", fs, args)
	if err != nil {
		return err
	}
	if *forFlag == "" {
		return usagef("ceremony repair: --for FP, the holder whose share is lost, is required")
	}
	target, err := e.resolveFingerprint("ceremony repair: --for", *forFlag)
	if err != nil {
		return err
	}
	helpers, err := e.fingerprintList("ceremony repair", "--helpers", *helpersFlag)
	if err != nil {
		return err
	}
	if _, err := e.kdfParams(); err != nil {
		return err
	}
	u, err := e.unlock()
	if err != nil {
		return err
	}
	defer u.wipe()
	c, err := e.client()
	if err != nil {
		return err
	}
	key, err := c.GroupKey(e.ctx, keyID)
	if err != nil {
		return err
	}
	if !slices.Contains(key.Participants, target) || target == u.fp {
		return usagef("ceremony repair: --for %s is not another holder of key %s", target, keyID)
	}
	if len(helpers) == 0 {
		helpers = slices.DeleteFunc(slices.Clone(key.Participants), func(fp string) bool { return fp == target })
	}
	if !slices.Contains(helpers, u.fp) {
		helpers = append(helpers, u.fp)
	}
	if len(helpers) < key.Threshold {
		return usagef("ceremony repair: %d helpers, fewer than the key's threshold of %d", len(helpers), key.Threshold)
	}
	return e.startAndRun(c, u, chusme.CreateCeremonyRequest{Kind: chusme.KindRepair, KeyID: keyID,
		Participants: append(helpers, target), NewParticipants: []string{target}, RoundTimeout: round},
		"for each other helper, and for "+target+" to get its share", e.runRepair)
}

// runRepair takes part in repair ceremony info: a helper with u's share of
// its key; the holder being repaired saves the rebuilt share.
func (e *env) runRepair(c *client.Client, u *unlocked, info chusme.CeremonyInfo) error {
	params, path, sh, err := e.dealerShare(u, info)
	if err != nil {
		return err
	}
	defer sh.Zero()
	var share *client.OldShare
	if sh != nil {
		share = &client.OldShare{KeyPackage: sh.KeyPackage, PublicKeyPackage: sh.PublicKeyPackage, Generation: sh.Generation}
	}
	store, err := e.roundState(u)
	if err != nil {
		return err
	}
	defer store.Wipe()
	e.resuming(store, info)
	pv := e.newProgress(u.fp)
	pv.update(info)
	res, err := c.RunRepair(e.ctx, info.ID, u.key, share, pv.update, client.WithRoundState(store),
		client.WithKeyPackageSaver(e.newShareSaver(path, u, info, info.KeyGeneration, params)))
	pv.finish()
	if err != nil {
		return err
	}
	if res.KeyPackage == nil {
		path = "" // a helper: its share is as it was
	} else {
		defer res.KeyPackage.Zero()
		e.backupAfterChange(c, u)
	}
	return e.dealtKey(c, res.Ceremony, info.KeyGeneration, path)
}

// runRefresh takes part in refresh ceremony info with u's share of its key
// and replaces the share file with the new generation's share.
func (e *env) runRefresh(c *client.Client, u *unlocked, info chusme.CeremonyInfo) error {
	params, err := e.kdfParams()
	if err != nil {
		return err
	}
	sh, err := e.loadShare(info.KeyID, u)
	if err != nil {
		return err
	}
	defer sh.Zero()
	path, err := e.sharePath(info.KeyID)
	if err != nil {
		return err
	}
	publicKey := sh.PublicKeyPackage.VerifyingKey().Bytes()
	if done, err := e.savedBefore(u, info, sh); done || err != nil {
		return cmp.Or(err, e.dealt(info, info.KeyID, publicKey, sh.Generation, path))
	}
	store, err := e.roundState(u)
	if err != nil {
		return err
	}
	defer store.Wipe()
	e.resuming(store, info)
	pv := e.newProgress(u.fp)
	pv.update(info)
	old := client.OldShare{KeyPackage: sh.KeyPackage, PublicKeyPackage: sh.PublicKeyPackage, Generation: sh.Generation}
	res, err := c.RunRefresh(e.ctx, info.ID, u.key, old, pv.update, client.WithRoundState(store),
		client.WithKeyPackageSaver(e.newShareSaver(path, u, info, info.KeyGeneration+1, params)))
	pv.finish()
	if err != nil {
		return err
	}
	defer res.KeyPackage.Zero()
	e.backupAfterChange(c, u)
	return e.dealt(res.Ceremony, res.KeyID, publicKey, info.KeyGeneration+1, path)
}

// signOutput is what ceremony sign, and ceremony join of a signing
// ceremony, print.
type signOutput struct {
	CeremonyID    string       `json:"ceremony_id"`
	Kind          string       `json:"kind"`
	Status        string       `json:"status"`
	KeyID         string       `json:"key_id"`
	Requester     string       `json:"requester"`
	Signers       []string     `json:"signers"`
	MessageSHA256 string       `json:"message_sha256"`
	Signature     chusme.Bytes `json:"signature,omitempty"`
}

// ceremonySign starts a signing ceremony and takes part in it.
func (e *env) ceremonySign(args []string) error {
	fs := e.flags("ceremony sign")
	keyID := fs.String("key", "", "")
	msgFile := fs.String("message-file", "", "")
	signersFlag := fs.String("signers", "", "")
	roundFlag := fs.Duration("round-timeout", 0, "")
	all := fs.Bool("all-signers", false, "")
	sigOut := fs.String("signature-out", "", "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	round, err := roundTimeoutFlag("ceremony sign", *roundFlag)
	if err != nil {
		return err
	}
	if *keyID == "" {
		return usagef("ceremony sign: --key KEY_ID is required (64 hex digits, or the first 8 or more of a key you hold a share of)")
	}
	if *keyID, err = e.keyIDArg("ceremony sign", *keyID); err != nil {
		return err
	}
	if *msgFile == "" {
		return usagef("ceremony sign: --message-file F is required")
	}
	signers, err := e.fingerprintList("ceremony sign", "--signers", *signersFlag)
	if err != nil {
		return err
	}
	msg, err := readSmallFile(*msgFile)
	if err != nil {
		return err
	}
	u, sh, err := e.unlockShare(*keyID)
	if err != nil {
		return err
	}
	defer u.wipe()
	defer sh.Zero()
	c, err := e.client()
	if err != nil {
		return err
	}
	return e.signMessage(c, u, sh, msg, signers, round, *all, *sigOut)
}

// signMessage starts a signing ceremony of msg with share sh among signers
// (nil: every holder; u joins them) and takes part (runSign).
func (e *env) signMessage(c *client.Client, u *unlocked, sh *sharefile.Share, msg []byte, signers []string, round int64, all bool, sigOut string) error {
	sum := sha256.Sum256(msg)
	if len(signers) > 0 && !slices.Contains(signers, u.fp) {
		signers = append(signers, u.fp)
	}
	info, err := c.CreateCeremony(e.ctx, u.key, chusme.CreateCeremonyRequest{Kind: chusme.KindSign, KeyID: sh.KeyID, Message: msg,
		Participants: signers, RoundTimeout: round, AllSigners: all})
	if err != nil {
		return err
	}
	e.next(fmt.Sprintf("chusme ceremony join %s --yes --expect-sha256 %x", info.ID, sum), "for each other signer who approves this message; or without --yes, to be asked")
	// The creator approves the message it chose, provided the server
	// relays that one.
	err = e.runSign(c, u, sh, info, e.approver(true, sum[:]), sigOut)
	if err != nil {
		e.hintOnInterrupt(info.ID)
	}
	return err
}

// runSign takes part in signing ceremony info with share sh and prints the
// signature.
func (e *env) runSign(c *client.Client, u *unlocked, sh *sharefile.Share, info chusme.CeremonyInfo, approve client.Approver, sigOut string) error {
	if info.KeyGeneration != 0 && sh.Generation != info.KeyGeneration {
		return chusme.Errorf(codeShareGeneration, "your share of key %s is of generation %d; ceremony %s signs with generation %d, "+
			"so a refresh or reshare has replaced it: chusme keys list shows your shares, chusme ceremony decline %s lets the others go on",
			sh.KeyID, sh.Generation, info.ID, info.KeyGeneration, info.ID)
	}
	store, err := e.roundState(u)
	if err != nil {
		return err
	}
	defer store.Wipe()
	id := info.ID
	pv := e.newProgress(u.fp)
	var refusal error // why the approver refused, if it did with a reason
	if e.resuming(store, info) {
		// Approved before the interruption: show the progress at once.
		pv.update(info)
	}
	sig, err := c.RunSign(e.ctx, id, u.key, sh.KeyID, sh.KeyPackage, func(ctx context.Context, r client.SignRequest) (bool, error) {
		ok, err := approve(ctx, r)
		if chusme.ErrorCode(err) == codeMessageMismatch {
			// A refusal: RunSign declines, so that nobody waits for us.
			refusal, ok, err = err, false, nil
		}
		if ok && err == nil {
			// Show the progress from here: nothing was sent before.
			if info, err := c.Ceremony(ctx, id); err == nil {
				pv.update(info)
			}
		}
		return ok, err
	}, pv.update, client.WithRoundState(store))
	pv.finish()
	if errors.Is(err, client.ErrNotApproved) {
		if refusal != nil {
			return fmt.Errorf("%w; the ceremony was declined", refusal)
		}
		return chusme.Errorf(codeNotApproved, "not signed: the request was not approved, and the ceremony was declined (non-interactively, use --yes --expect-sha256 HEX)")
	}
	sum := sha256.Sum256(info.Message)
	if errors.Is(err, client.ErrNotNeeded) {
		out := signOutput{CeremonyID: id, Kind: chusme.KindSign, Status: statusNotNeeded, KeyID: sh.KeyID, Requester: info.Creator,
			MessageSHA256: hex.EncodeToString(sum[:])}
		return e.output(out, func(w io.Writer) {
			fmt.Fprintf(w, "ceremony\t%s: not needed, other signers made the signing package\n", id)
		})
	}
	if err != nil {
		return err
	}
	if sigOut != "" {
		if err := os.WriteFile(sigOut, []byte(hex.EncodeToString(sig)+"\n"), 0o644); err != nil {
			return fmt.Errorf("--signature-out: %w", err)
		}
	}
	signers := info.Participants // the candidates; the first t of them signed
	if done, err := c.Ceremony(e.ctx, id); err == nil && len(done.Signers) > 0 {
		signers = done.Signers
	}
	out := signOutput{
		CeremonyID:    id,
		Kind:          chusme.KindSign,
		Status:        chusme.CeremonyCompleted,
		KeyID:         sh.KeyID,
		Requester:     info.Creator,
		Signers:       signers,
		MessageSHA256: hex.EncodeToString(sum[:]),
		Signature:     sig,
	}
	return e.output(out, func(w io.Writer) {
		fmt.Fprintf(w, "ceremony\t%s completed\n", out.CeremonyID)
		fmt.Fprintf(w, "key\t%s\n", out.KeyID)
		fmt.Fprintf(w, "message sha256\t%s\n", out.MessageSHA256)
		fmt.Fprintf(w, "signature\t%x\n", []byte(out.Signature))
	})
}

// approver decides whether to sign: the message's SHA-256 must be expect
// when given; then yes approves, and otherwise the request is shown on
// stderr and a "y" or "yes" line on standard input approves.
func (e *env) approver(yes bool, expect []byte) client.Approver {
	return func(_ context.Context, req client.SignRequest) (bool, error) {
		if expect != nil && !bytes.Equal(expect, req.MessageSHA256[:]) {
			return false, chusme.Errorf(codeMessageMismatch,
				"refusing to sign: the message of ceremony %s has SHA-256 %x, not the expected %x; nothing of it was signed",
				req.CeremonyID, req.MessageSHA256, expect)
		}
		if yes {
			return true, nil
		}
		w, names := e.stderr, e.contactNames()
		fmt.Fprintf(w, "Signing request, ceremony %s\n", req.CeremonyID)
		fmt.Fprintf(w, "  requester       %s\n", names.label(req.Requester))
		fmt.Fprintf(w, "  verified        the requester signed this request with its key at chain head %s\n", req.RequesterHead)
		fmt.Fprintf(w, "  group key       %s\n", req.KeyID)
		fmt.Fprintf(w, "  signers         %s\n", names.labels(req.Signers))
		fmt.Fprintf(w, "  message         %d bytes\n", len(req.Message))
		fmt.Fprintf(w, "  message sha256  %x\n", req.MessageSHA256)
		if st := describeStatement(names, req.Message); st != "" {
			fmt.Fprintf(w, "  statement       %s\n", st)
		} else if len(req.Message) <= 256 && utf8.Valid(req.Message) {
			fmt.Fprintf(w, "  message text    %q\n", req.Message)
		}
		fmt.Fprintf(w, "  request valid   until %s\n", formatTime(req.Deadline))
		line, err := e.askLine("Sign this message? [y/N] ", "")
		if err != nil {
			return false, err
		}
		line = strings.ToLower(line)
		return line == "y" || line == "yes", nil
	}
}

// ceremonyJoin takes part in a ceremony the identity is invited to.
func (e *env) ceremonyJoin(args []string) error {
	fs := e.flags("ceremony join")
	wait := fs.Duration("wait", 0, "")
	yes := fs.Bool("yes", false, "")
	expectHex := fs.String("expect-sha256", "", "")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return usagef("ceremony join: give at most one ceremony ID")
	}
	var expect []byte
	if *expectHex != "" {
		expect, err = hex.DecodeString(*expectHex)
		if err != nil || len(expect) != sha256.Size {
			return usagef("ceremony join: --expect-sha256 must be 64 hex digits")
		}
	}
	if *yes && expect == nil {
		return usagef("ceremony join: --yes needs --expect-sha256 HEX, the SHA-256 of the message you approve")
	}
	if _, err := e.kdfParams(); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	var id string
	if len(rest) == 1 {
		id, err = e.ceremonyIDArg("ceremony join", rest)
	} else {
		var me string
		if me, err = e.identityFingerprint(); err == nil {
			id, err = e.pendingInvitation(c, me, *wait)
		}
	}
	if err != nil {
		return err
	}
	info, err := c.Ceremony(e.ctx, id)
	if err != nil {
		return err
	}
	if info.Kind != chusme.KindSign && (expect != nil || *yes) {
		return usagef("ceremony join: --yes and --expect-sha256 are for signing ceremonies; %s is a %s", id, info.Kind)
	}
	u, err := e.unlock()
	if err != nil {
		return err
	}
	defer u.wipe()
	switch info.Kind {
	case chusme.KindDKG:
		return e.runDKG(c, u, info)
	case chusme.KindRefresh:
		return e.runRefresh(c, u, info)
	case chusme.KindReshare:
		return e.runReshare(c, u, info)
	case chusme.KindRepair:
		return e.runRepair(c, u, info)
	case chusme.KindSign:
		sh, err := e.loadShare(info.KeyID, u)
		if err != nil {
			return err
		}
		defer sh.Zero()
		return e.runSign(c, u, sh, info, e.approver(*yes, expect), "")
	}
	return fmt.Errorf("ceremony %s is of kind %q, which this client can't take part in", id, info.Kind)
}

// ceremonyStatus shows a ceremony.
func (e *env) ceremonyStatus(args []string) error {
	return e.ceremonyCall("ceremony status", args, (*client.Client).Ceremony)
}

// ceremonyText prints a ceremony's state, with the contact names of its
// members.
func ceremonyText(w io.Writer, info chusme.CeremonyInfo, names contactNames) {
	fmt.Fprintf(w, "ceremony\t%s\n", info.ID)
	fmt.Fprintf(w, "kind\t%s\n", info.Kind)
	fmt.Fprintf(w, "status\t%s\n", info.Status)
	fmt.Fprintf(w, "round\t%d of %d\n", info.Round, info.Rounds)
	fmt.Fprintf(w, "creator\t%s\n", names.label(info.Creator))
	fmt.Fprintf(w, "threshold\t%d\n", info.Threshold)
	if info.KeyID != "" {
		fmt.Fprintf(w, "key\t%s\n", info.KeyID)
	}
	if info.Kind == chusme.KindSign {
		fmt.Fprintf(w, "message sha256\t%x\n", sha256.Sum256(info.Message))
	}
	for _, fp := range info.Participants {
		fmt.Fprintf(w, "participant\t%s\t%s\n", names.label(fp), participantMark(info, fp))
	}
	fmt.Fprintf(w, "round timeout\t%s\n", time.Duration(info.RoundTimeout)*time.Second)
	if info.Status == chusme.CeremonyOpen {
		fmt.Fprintf(w, "needed\t%d more submission(s) this round\n", info.Needed)
		fmt.Fprintf(w, "deadline\t%s (%s left)\n", formatTime(info.Deadline), max(time.Until(info.Deadline), 0).Round(time.Second))
	}
	if f := info.Failure; f != nil {
		fmt.Fprintf(w, "failure\t%s (%s)\n", f.Message, f.Reason)
		if len(f.Culprits) > 0 {
			fmt.Fprintf(w, "named\t%s\n", names.labels(f.Culprits))
		}
	}
	if r := info.Result; r != nil {
		if r.KeyID != "" {
			fmt.Fprintf(w, "result key\t%s\n", r.KeyID)
		}
		if len(r.Signature) > 0 {
			fmt.Fprintf(w, "signature\t%x\n", []byte(r.Signature))
		}
	}
}

// participantMark is where participant fp stands in ceremony info: declined,
// submitted or waiting in the current round, or not needed (a signing
// candidate left out of the signing package); "" for the rest of an ended
// ceremony's.
func participantMark(info chusme.CeremonyInfo, fp string) string {
	switch {
	case slices.ContainsFunc(info.Declines, func(d chusme.CeremonyDecline) bool { return d.Fingerprint == fp }):
		return "declined"
	case info.Kind == chusme.KindSign && len(info.Signers) > 0 && !slices.Contains(info.Signers, fp):
		return "not needed"
	case info.Status != chusme.CeremonyOpen:
		return ""
	case slices.Contains(info.Submitted, fp):
		return "submitted"
	}
	return "waiting"
}

// ceremonyList lists the identity's ceremonies.
func (e *env) ceremonyList(args []string) error {
	fs := e.flags("ceremony list")
	status := fs.String("status", "", "")
	limit := fs.Int("limit", 0, "")
	fromContacts := fs.Bool("from-contacts", false, "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *status != "" && !slices.Contains(ceremonyStatuses, *status) {
		return usagef("ceremony list: --status must be one of %s", strings.Join(ceremonyStatuses, ", "))
	}
	if *limit < 0 || *limit > chusme.MaxCeremonyListLimit {
		return usagef("ceremony list: --limit must be 1 to %d (0 or none: every ceremony)", chusme.MaxCeremonyListLimit)
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	var list []chusme.CeremonyInfo
	if *limit > 0 {
		var page chusme.CeremonyList
		page, err = c.CeremonyPage(e.ctx, chusme.CeremonyListQuery{Status: *status, Limit: *limit})
		list = page.Ceremonies
	} else {
		list, err = c.Ceremonies(e.ctx, *status)
	}
	if err != nil {
		return err
	}
	if *fromContacts {
		book, err := e.contactBook()
		if err != nil {
			return err
		}
		if list, err = book.FromContacts(list); err != nil {
			return err
		}
	}
	if list == nil {
		list = []chusme.CeremonyInfo{}
	}
	return e.output(chusme.CeremonyList{Ceremonies: list}, func(w io.Writer) {
		fmt.Fprintf(w, "ID\tKIND\tSTATUS\tROUND\tPARTICIPANTS\tCREATED\n")
		for _, info := range list {
			fmt.Fprintf(w, "%s\t%s\t%s\t%d/%d\t%d\t%s\n", info.ID, info.Kind, info.Status, info.Round, info.Rounds,
				len(info.Participants), formatTime(info.CreatedAt))
		}
	})
}

// ceremonyCancel cancels an open ceremony.
func (e *env) ceremonyCancel(args []string) error {
	return e.ceremonyCall("ceremony cancel", args, (*client.Client).CancelCeremony)
}

// ceremonyDecline declines a ceremony the identity is invited to, with a
// decline signed by its identity key.
func (e *env) ceremonyDecline(args []string) error {
	rest, err := parse(e.flags("ceremony decline"), args)
	if err != nil {
		return err
	}
	id, err := e.ceremonyIDArg("ceremony decline", rest)
	if err != nil {
		return err
	}
	u, err := e.unlock()
	if err != nil {
		return err
	}
	defer u.wipe()
	return e.ceremonyCall("ceremony decline", []string{id}, func(c *client.Client, ctx context.Context, id string) (chusme.CeremonyInfo, error) {
		return c.DeclineCeremony(ctx, id, u.key)
	})
}

// ceremonyCall runs a command that takes a ceremony id, calls the server
// with it and shows the ceremony it answers.
func (e *env) ceremonyCall(name string, args []string, call func(*client.Client, context.Context, string) (chusme.CeremonyInfo, error)) error {
	rest, err := parse(e.flags(name), args)
	if err != nil {
		return err
	}
	id, err := e.ceremonyIDArg(name, rest)
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	info, err := call(c, e.ctx, id)
	if err != nil {
		return err
	}
	return e.output(info, func(w io.Writer) { ceremonyText(w, info, e.contactNames()) })
}

// keysArgs parses the arguments of keys show and keys verify: n of them,
// as want says, the first a KEY id.
func (e *env) keysArgs(name string, args []string, n int, want string) ([]string, error) {
	rest, err := parse(e.flags(name), args)
	if err != nil {
		return nil, err
	}
	if len(rest) != n {
		return nil, usagef("%s: %s", name, want)
	}
	if rest[0], err = e.keyIDArg(name, rest[0]); err != nil {
		return nil, err
	}
	return rest, nil
}

// groupKey fetches group key keyID.
func (e *env) groupKey(keyID string) (chusme.GroupKeyInfo, error) {
	c, err := e.client()
	if err != nil {
		return chusme.GroupKeyInfo{}, err
	}
	return c.GroupKey(e.ctx, keyID)
}

// groupKeyArg parses the arguments of command name, exactly one KEY id,
// and fetches that group key (client.GroupKey checks it).
func (e *env) groupKeyArg(name string, args []string) (chusme.GroupKeyInfo, error) {
	rest, err := e.keysArgs(name, args, 1, "give exactly one KEY id")
	if err != nil {
		return chusme.GroupKeyInfo{}, err
	}
	return e.groupKey(rest[0])
}

// keysShow shows a group key.
func (e *env) keysShow(args []string) error {
	gk, err := e.groupKeyArg("keys show", args)
	if err != nil {
		return err
	}
	share := ""
	if path, err := e.sharePath(gk.KeyID); err == nil {
		if _, err := sharefile.Read(path); err == nil {
			share = path
		}
	}
	return e.output(struct {
		chusme.GroupKeyInfo
		ShareFile string `json:"share_file,omitempty"`
	}{gk, share}, func(w io.Writer) {
		names := e.contactNames()
		fmt.Fprintf(w, "key\t%s\n", gk.KeyID)
		fmt.Fprintf(w, "public key\t%x\n", []byte(gk.PublicKey))
		fmt.Fprintf(w, "threshold\t%d of %d\n", gk.Threshold, len(gk.Participants))
		for _, fp := range gk.Participants {
			fmt.Fprintf(w, "participant\t%s\t%x\n", names.label(fp), []byte(gk.VerifyingShares[fp]))
		}
		fmt.Fprintf(w, "ceremony\t%s\n", gk.CeremonyID)
		fmt.Fprintf(w, "created\t%s\n", formatTime(gk.CreatedAt))
		if share != "" {
			fmt.Fprintf(w, "my share\t%s\n", share)
		}
	})
}

// parseSignature decodes a 64-byte signature given in hex or base64
// (standard or URL alphabet, padded or not).
func parseSignature(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == ed25519.SignatureSize {
		return b, true
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == ed25519.SignatureSize {
			return b, true
		}
	}
	return nil, false
}

// keysVerify verifies a signature under a group key, locally.
func (e *env) keysVerify(args []string) error {
	rest, err := e.keysArgs("keys verify", args, 3, "give KEY SIG MSGFILE")
	if err != nil {
		return err
	}
	keyID := rest[0]
	sig, ok := parseSignature(rest[1])
	if !ok {
		return usagef("keys verify: SIG must be a 64-byte signature in hex or base64")
	}
	msg, err := os.ReadFile(rest[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256(msg)
	gk, err := e.groupKey(keyID)
	if err != nil {
		return err
	}
	if !ed25519.Verify(ed25519.PublicKey(gk.PublicKey), msg, sig) {
		return chusme.Errorf(codeInvalidSignature, "the signature does NOT verify: it is not group key %s's signature of %s (SHA-256 %x)", keyID, rest[2], sum)
	}
	return e.output(struct {
		Valid         bool         `json:"valid"`
		KeyID         string       `json:"key_id"`
		PublicKey     chusme.Bytes `json:"public_key"`
		MessageSHA256 string       `json:"message_sha256"`
	}{true, keyID, gk.PublicKey, hex.EncodeToString(sum[:])}, func(w io.Writer) {
		fmt.Fprintf(w, "valid\tthe signature verifies under group key %s\n", keyID)
		fmt.Fprintf(w, "public key\t%x\n", []byte(gk.PublicKey))
		fmt.Fprintf(w, "message sha256\t%x\n", sum)
	})
}

// progressView shows a running ceremony on stderr: one line redrawn in place
// (with a live countdown to the deadline) on a terminal, otherwise one plain
// line for every new state.
type progressView struct {
	w   io.Writer
	me  string
	tty bool

	names contactNames // shown beside the fingerprints they name

	mu       sync.Mutex
	info     chusme.CeremonyInfo
	shown    bool
	lastVer  int64
	lastDraw string
	stop     chan struct{}
	done     chan struct{}
}

func (e *env) newProgress(me string) *progressView {
	v := &progressView{w: e.stderr, me: me, names: e.contactNames()}
	// Redraw one line only on a terminal this process has in the
	// foreground: a background job (&) writes a line per change instead,
	// so it never erases the shell's prompt or what is being typed.
	if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && foreground(f) {
		v.tty = true
	}
	return v
}

// update shows a new state of the ceremony (a client.Progress).
func (v *progressView) update(info chusme.CeremonyInfo) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.shown && info.Version == v.lastVer {
		return
	}
	v.info, v.lastVer = info, info.Version
	if !v.shown && v.tty {
		v.stop, v.done = make(chan struct{}), make(chan struct{})
		go v.tick(v.stop, v.done)
	}
	v.shown = true
	v.draw()
}

// tick redraws the line every second, for the countdown.
func (v *progressView) tick(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			v.mu.Lock()
			v.draw()
			v.mu.Unlock()
		}
	}
}

// draw writes the current line; v.mu is held.
func (v *progressView) draw() {
	line := progressLine(v.info, v.me, v.names, time.Now())
	if v.tty {
		if line != v.lastDraw {
			fmt.Fprintf(v.w, "\r\033[K%s", line)
		}
	} else {
		fmt.Fprintln(v.w, line)
	}
	v.lastDraw = line
}

// finish ends the display: the terminal line is left as last drawn.
func (v *progressView) finish() {
	v.mu.Lock()
	stop, done, shown := v.stop, v.done, v.shown
	v.stop = nil
	v.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	if shown && v.tty {
		fmt.Fprintln(v.w)
	}
}

// short abbreviates a fingerprint for the progress line, with its contact
// name beside it.
func short(fp, me string, names contactNames) string {
	if fp == me {
		return "you"
	}
	s := fp
	if len(fp) > 12 {
		s = fp[:12]
	}
	if name, ok := names[fp]; ok {
		s += " (" + name + ")"
	}
	return s
}

// progressLine describes a ceremony's state in one line.
func progressLine(info chusme.CeremonyInfo, me string, names contactNames, now time.Time) string {
	head := fmt.Sprintf("ceremony %s (%s)", info.ID, info.Kind)
	if info.Status != chusme.CeremonyOpen {
		s := fmt.Sprintf("%s: %s", head, info.Status)
		if f := info.Failure; f != nil {
			s += fmt.Sprintf(" in round %d: %s (%s)", info.Round, f.Message, f.Reason)
		}
		return s
	}
	var done, missing []string
	for _, fp := range info.Submitted {
		done = append(done, short(fp, me, names))
	}
	for _, fp := range info.Missing {
		missing = append(missing, short(fp, me, names))
	}
	s := fmt.Sprintf("%s: round %d/%d, %d submitted", head, info.Round, info.Rounds, len(done))
	if len(done) > 0 {
		s += " (" + strings.Join(done, ", ") + ")"
	}
	switch {
	case info.Needed > 0 && info.Needed < len(missing):
		s += fmt.Sprintf(", waiting for %d of %s", info.Needed, strings.Join(missing, ", "))
	case info.Needed > 0:
		s += ", waiting for " + strings.Join(missing, ", ")
	}
	if n := len(info.Declines); n > 0 {
		s += fmt.Sprintf(", %d declined", n)
	}
	if !info.Deadline.IsZero() {
		left := info.Deadline.Sub(now).Round(time.Second)
		if left < 0 {
			left = 0
		}
		s += fmt.Sprintf(", deadline %s (%s left)", info.Deadline.Local().Format(time.TimeOnly), left)
	}
	return s
}
