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
// key id, group key, threshold, participants, generation and whether the
// backup holds it; with --ids only the key ids, one a line (so that
// KEY=$(chusme keys list --ids) works with one key).
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
			Generation: sf.Generation, InBackup: st != nil && st.Holds(sf.KeyID, sf.Generation), ShareFile: path}
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
	return e.output(struct {
		Keys []keyRow `json:"keys"`
	}{rows}, func(w io.Writer) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintln(w, "KEY\tGROUP KEY\tT OF N\tGENERATION\tBACKUP\tPARTICIPANTS")
		for _, r := range rows {
			labels := make([]string, len(r.Participants))
			for i, p := range r.Participants {
				labels[i] = p.label(me)
			}
			backup := "no"
			if r.InBackup {
				backup = "yes"
			}
			fmt.Fprintf(w, "%s\t%x\t%d of %d\t%d\t%s\t%s\n", r.KeyID[:12], []byte(r.GroupKey), r.Threshold, r.N, r.Generation, backup, strings.Join(labels, ", "))
		}
	})
}
