package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/sharefile"
)

// Codes of the errors of ids given by a prefix.
const (
	codeUnknownID   = "unknown_id"      // a prefix of none of the ids it could be
	codeAmbiguousID = "ambiguous_id"    // a prefix of several: the message lists them
	codeNoPending   = "no_pending"      // ceremony join without an id, and no invitation waits
	codeSeveral     = "several_pending" // ceremony join without an id, and several wait: the message lists them
)

// isHexPrefix reports whether s can be a prefix of a lowercase hex id at
// least client.MinFingerprintPrefix long and shorter than n.
func isHexPrefix(s string, n int) bool {
	if len(s) < client.MinFingerprintPrefix || len(s) >= n {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}

// matchPrefix returns the one of ids that starts with prefix: an error
// naming the candidates when several do, or none.
func matchPrefix(what, prefix string, ids []string) (string, error) {
	var found []string
	for _, id := range ids {
		if strings.HasPrefix(id, prefix) && !slices.Contains(found, id) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", chusme.Errorf(codeUnknownID, "%s: no %s starts with %s", what, strings.SplitN(what, " ", 2)[0], prefix)
	}
	return "", chusme.Errorf(codeAmbiguousID, "%s %s is the start of %d: give more digits of one of %s", what, prefix, len(found), strings.Join(found, ", "))
}

// ceremonyIDArg resolves a command's one ceremony argument: a whole
// ceremony id, or the start of one of the identity's ceremonies (8 or more
// hex digits, as the progress line shows 12).
func (e *env) ceremonyIDArg(name string, rest []string) (string, error) {
	if len(rest) != 1 {
		return "", usagef("%s: give exactly one ceremony ID (32 hex digits, or the first 8 or more)", name)
	}
	id := strings.ToLower(rest[0])
	if chusme.ValidCeremonyID(id) {
		return id, nil
	}
	if !isHexPrefix(id, 32) {
		return "", usagef("%s: %q is not a ceremony ID (32 hex digits, or the first 8 or more)", name, rest[0])
	}
	c, err := e.client()
	if err != nil {
		return "", err
	}
	cs, err := c.Ceremonies(e.ctx, "")
	if err != nil {
		return "", err
	}
	ids := make([]string, len(cs))
	for i, ci := range cs {
		ids[i] = ci.ID
	}
	return matchPrefix("ceremony ID", id, ids)
}

// pendingInvitation is the one open ceremony that waits for this identity
// to take part (ceremony join without an id): it names it, or fails
// listing them when several wait. When none waits it looks again, every
// half second, for up to wait.
func (e *env) pendingInvitation(c *client.Client, me string, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	for {
		id, err := e.pendingOnce(c, me)
		if chusme.ErrorCode(err) != codeNoPending || !time.Now().Before(deadline) {
			return id, err
		}
		select {
		case <-e.ctx.Done():
			return "", e.ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// pendingOnce is one look of pendingInvitation.
func (e *env) pendingOnce(c *client.Client, me string) (string, error) {
	open, err := c.Ceremonies(e.ctx, chusme.CeremonyOpen)
	if err != nil {
		return "", err
	}
	var ids, waiting []string
	names := e.contactNames()
	for _, ci := range open {
		declined := slices.ContainsFunc(ci.Declines, func(d chusme.CeremonyDecline) bool { return d.Fingerprint == me })
		if slices.Contains(ci.Missing, me) && !declined {
			ids = append(ids, ci.ID)
			waiting = append(waiting, fmt.Sprintf("%s (%s from %s)", ci.ID, ci.Kind, names.label(ci.Creator)))
		}
	}
	switch len(ids) {
	case 1:
		return ids[0], nil
	case 0:
		return "", chusme.Errorf(codeNoPending, "no ceremony is waiting for you: chusme ceremony list shows yours (--wait 1m waits for one)")
	}
	return "", chusme.Errorf(codeSeveral, "%d ceremonies wait for you: run chusme ceremony join ID with one of %s", len(ids), strings.Join(waiting, "; "))
}

// keyIDArg resolves a group key argument: a whole key id, or the start of
// the id of a key this identity holds a share of (CONFIG/shares).
func (e *env) keyIDArg(name, s string) (string, error) {
	id := strings.ToLower(s)
	if chusme.ValidFingerprint(id) {
		return id, nil
	}
	if !isHexPrefix(id, 64) {
		return "", usagef("%s: %q is not a key id (64 hex digits, or the first 8 or more of a key you hold a share of)", name, s)
	}
	ids, err := e.heldKeys()
	if err != nil {
		return "", err
	}
	if len(ids) == 0 {
		return "", chusme.Errorf(codeUnknownID, "%s: no key starts with %s (this config directory holds no shares)", name, id)
	}
	return matchPrefix("key id", id, ids)
}

// heldKeys returns the ids of the group keys this config directory holds
// a share of (CONFIG/shares/KEY_ID.share), sorted.
func (e *env) heldKeys() ([]string, error) {
	dir, err := e.config()
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, sharefile.Dir, "*.share"))
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, f := range files {
		if k := strings.TrimSuffix(filepath.Base(f), ".share"); chusme.ValidFingerprint(k) {
			ids = append(ids, k)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// keyRow is a line of keys list: a share this config directory holds.
type keyRow struct {
	KeyID        string           `json:"key_id"`
	GroupKey     chusme.Bytes     `json:"group_key"`
	Threshold    int              `json:"threshold"`
	N            int              `json:"n"`
	Participants []keyParticipant `json:"participants"`
	Generation   int              `json:"generation"`
	InBackup     bool             `json:"in_backup"` // the backup this device last pushed (or restored) holds this generation
	ShareFile    string           `json:"share_file"`
	// State is how the share stands against the key's current generation
	// on the server (keyCurrent, keyOutdated, keyRemoved, keyUnchecked).
	State         string `json:"state"`
	KeyGeneration int    `json:"key_generation,omitempty"` // the key's current generation, when checked
}

// The states of a share in keys list: how it stands against its key's
// current generation as the server has it, verified (client.GroupKey: the
// key, its certificate and its participants' chains).
const (
	keyCurrent   = "current"   // the share is of the key's current generation
	keyOutdated  = "outdated"  // the current generation is another, which still names this identity
	keyRemoved   = "removed"   // the current generation does not name this identity: keys remove deletes the share
	keyUnchecked = "unchecked" // the server could not be asked, or its answer did not verify
)

// keyState returns how identity fp's share of key keyID, of generation,
// stands (keyCurrent…) and the key's current generation, verified; on an
// error, keyUnchecked.
func (e *env) keyState(c *client.Client, fp, keyID string, generation int) (string, chusme.GroupKeyInfo, error) {
	key, err := c.GroupKey(e.ctx, keyID)
	switch {
	case err != nil:
		return keyUnchecked, key, err
	case !slices.Contains(key.Participants, fp):
		return keyRemoved, key, nil
	case key.Generation != generation:
		return keyOutdated, key, nil
	}
	return keyCurrent, key, nil
}

// keyParticipant is a participant of a group key, by the fingerprint whose
// FROST identifier it has, when this device knows it (its own, a contact's,
// a pinned chain's), else by that identifier.
type keyParticipant struct {
	Fingerprint string       `json:"fingerprint,omitempty"`
	Name        string       `json:"name,omitempty"`
	Identifier  chusme.Bytes `json:"identifier,omitempty"` // when the fingerprint is not known
}

// label is how keys list shows p: "you", the contact name, or the first 12
// hex digits of the fingerprint (or "id:" and of the identifier).
func (p keyParticipant) label(me string) string {
	switch {
	case p.Fingerprint == me:
		return "you"
	case p.Name != "":
		return p.Name
	case p.Fingerprint != "":
		return p.Fingerprint[:12]
	}
	return fmt.Sprintf("id:%x", []byte(p.Identifier)[:6])
}

// knownIdentities returns the fingerprints of the identities this config
// directory knows, its own, its contacts' and those whose chains it pinned,
// and the contacts' names.
func (e *env) knownIdentities(me string) ([]string, contactNames) {
	names := e.contactNames()
	fps := []string{me}
	for fp := range names {
		fps = append(fps, fp)
	}
	if dir, err := e.config(); err == nil {
		pinned, err := client.NewFilePinStore(filepath.Join(dir, pinsFileName)).Fingerprints()
		if err != nil {
			fmt.Fprintf(e.stderr, "chusme: pinned identities not shown: %v\n", err)
		}
		fps = append(fps, pinned...)
	}
	return fps, names
}

// keysList prints every share this config directory holds (CONFIG/shares):
// key id, group key, threshold, participants, generation, whether the
// backup holds it and how it stands against the key's current generation
// on the server (keyState; a share whose key no longer names this identity
// is marked, not removed: keys remove does that); with --ids only the key
// ids, one a line (so that KEY=$(chusme keys list --ids) works with one
// key), without asking the server.
func (e *env) keysList(args []string) error {
	fs := e.flags("keys list")
	idsOnly := fs.Bool("ids", false, "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	ids, err := e.heldKeys()
	if err != nil {
		return err
	}
	if *idsOnly {
		return e.output(struct {
			Keys []string `json:"keys"`
		}{ids}, func(w io.Writer) {
			for _, id := range ids {
				fmt.Fprintln(w, id)
			}
		})
	}
	me, err := e.identityFingerprint()
	if err != nil {
		return err
	}
	st, _, err := e.backupState(me)
	if err != nil {
		return err
	}
	known, names := e.knownIdentities(me)
	c, uncheckedBy := e.client()
	rows := []keyRow{}
	for _, id := range ids {
		path, err := e.sharePath(id)
		if err != nil {
			return err
		}
		sf, err := sharefile.Read(path)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		sum, err := sf.Summary(known)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		row := keyRow{KeyID: sf.KeyID, GroupKey: sum.PublicKey, Threshold: sum.Threshold, N: sum.N, Participants: []keyParticipant{},
			Generation: sf.Generation, InBackup: st != nil && st.Holds(sf.KeyID, sf.Generation), ShareFile: path, State: keyUnchecked}
		if uncheckedBy == nil {
			var key chusme.GroupKeyInfo
			row.State, key, uncheckedBy = e.keyState(c, me, sf.KeyID, sf.Generation)
			row.KeyGeneration = key.Generation
		}
		for _, p := range sum.Participants {
			kp := keyParticipant{Fingerprint: p.Fingerprint, Name: names[p.Fingerprint]}
			if p.Fingerprint == "" {
				kp.Identifier = p.Identifier
			}
			row.Participants = append(row.Participants, kp)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 && !e.json {
		fmt.Fprintln(e.stderr, "No key shares in this config directory: chusme ceremony dkg makes one.")
	}
	if uncheckedBy != nil && len(rows) > 0 {
		fmt.Fprintf(e.stderr, "chusme: the shares were not all checked with the server (%v): their state is %s.\n", uncheckedBy, keyUnchecked)
	}
	return e.output(struct {
		Keys []keyRow `json:"keys"`
	}{rows}, func(w io.Writer) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintln(w, "KEY\tGROUP KEY\tT OF N\tGENERATION\tBACKUP\tSTATE\tPARTICIPANTS")
		for _, r := range rows {
			labels := make([]string, len(r.Participants))
			for i, p := range r.Participants {
				labels[i] = p.label(me)
			}
			backup := "no"
			if r.InBackup {
				backup = "yes"
			}
			fmt.Fprintf(w, "%s\t%x\t%d of %d\t%d\t%s\t%s\t%s\n", r.KeyID[:12], []byte(r.GroupKey), r.Threshold, r.N, r.Generation, backup, r.State, strings.Join(labels, ", "))
		}
		for _, r := range rows {
			if r.State == keyRemoved {
				fmt.Fprintf(e.stderr, "Key %s: its generation %d no longer names you as a holder (verified); your share of generation %d does not sign with it. chusme keys remove %s deletes it.\n",
					r.KeyID[:12], r.KeyGeneration, r.Generation, r.KeyID[:12])
			}
		}
	})
}

// codeStillHolder is the code of keys remove refusing a share of a key
// whose current generation still names this identity.
const codeStillHolder = "still_holder"

// removedKey is what keys remove prints.
type removedKey struct {
	KeyID      string `json:"key_id"`
	Generation int    `json:"generation"` // the share's, removed
	ShareFile  string `json:"share_file"` // removed
}

// keysRemove deletes this identity's share of a key whose current
// generation, verified, no longer names it (keyRemoved): after asking,
// unless --yes, it records the drop in the backup state, removes the share
// file and brings the backup up to date (dropShare, backupAfterChange). A
// share of a key that still names this identity, or one the server could
// not confirm, is not removed.
func (e *env) keysRemove(args []string) error {
	fs := e.flags("keys remove")
	yes := fs.Bool("yes", false, "")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("keys remove: give exactly one KEY id")
	}
	keyID, err := e.keyIDArg("keys remove", rest[0])
	if err != nil {
		return err
	}
	u, sh, err := e.unlockShare(keyID)
	if err != nil {
		return err
	}
	defer u.wipe()
	generation := sh.Generation
	sh.Zero()
	c, err := e.client()
	if err != nil {
		return err
	}
	state, key, err := e.keyState(c, u.fp, keyID, generation)
	if err != nil {
		return fmt.Errorf("keys remove: the key could not be checked, nothing was removed: %w", err)
	}
	if state != keyRemoved {
		return chusme.Errorf(codeStillHolder, "keys remove: key %s's current generation %d names you as a holder: your share is not removed (a reshare without you ends your part)", keyID, key.Generation)
	}
	if !*yes {
		line, err := e.askLine(fmt.Sprintf("Key %s: its generation %d, made by ceremony %s, no longer names you as a holder (verified).\nDelete your share of generation %d? [y/N] ",
			keyID, key.Generation, key.CeremonyID, generation), "")
		if err != nil {
			return err
		}
		if line = strings.ToLower(line); line != "y" && line != "yes" {
			return chusme.Errorf(codeNotApproved, "keys remove: not confirmed, nothing was removed")
		}
	}
	path, err := e.sharePath(keyID)
	if err != nil {
		return err
	}
	if err := e.dropShare(u, keyID, key.Generation, path); err != nil {
		return err
	}
	e.backupAfterChange(c, u)
	out := removedKey{KeyID: keyID, Generation: generation, ShareFile: path}
	return e.output(out, func(w io.Writer) {
		fmt.Fprintf(w, "removed\t%s\tgeneration %d\t%s\n", out.KeyID, out.Generation, out.ShareFile)
	})
}
