package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/keyfile"
	"github.com/chusme/chusme/client/sharefile"
	"github.com/chusme/chusme/client/vault"
)

// backupStateName is the config directory's backup state file
// (client.BackupState): the backup's key, sealed with the key passphrase,
// and what this device last pushed.
const backupStateName = "backup.key"

// codeSharesRefused is the code of a restore that brought back the identity
// key but not every share.
const codeSharesRefused = "shares_refused"

// codeStaleBackup is the code of a restore refused because the backup's key
// was replaced and can't cancel the replacement.
const codeStaleBackup = "stale_backup"

// backup runs the backup subcommands.
func (e *env) backup(args []string) error {
	return e.runSub("backup", args, sub{"push", e.backupPush}, sub{"restore", e.backupRestore}, sub{"status", e.backupStatus})
}

// backupStatePath returns where the backup state file lives.
func (e *env) backupStatePath() (string, error) {
	dir, err := e.config()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, backupStateName), nil
}

// backupState reads the backup state file of identity fp: nil (and no
// error) if there is none or it is another identity's.
func (e *env) backupState(fp string) (*client.BackupState, string, error) {
	path, err := e.backupStatePath()
	if err != nil {
		return nil, "", err
	}
	st, err := client.LoadBackupState(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, path, nil
	case err != nil:
		return nil, path, fmt.Errorf("%s: %w", path, err)
	case st.Identity != fp:
		return nil, path, nil
	}
	return st, path, nil
}

// localBackup is what u's identity's backup holds from this config
// directory: the identity key, every share in CONFIG/shares and the shares
// the backup state st (nil if none) records as dropped, which keep an
// older share of their key out. The caller Zeroes it.
func (e *env) localBackup(u *unlocked, st *client.BackupState) (*client.Backup, error) {
	ids, err := e.heldKeys()
	if err != nil {
		return nil, err
	}
	b := &client.Backup{Fingerprint: u.fp, Key: bytes.Clone(u.key)}
	for _, id := range ids {
		sh, err := e.loadShare(id, u)
		if err != nil {
			b.Zero()
			return nil, err
		}
		b.Shares = append(b.Shares, sh)
	}
	if st != nil {
		for _, d := range st.Dropped {
			b.Drop(d)
		}
	}
	return b, nil
}

// backupOutput is what backup push prints.
type backupOutput struct {
	Fingerprint string   `json:"fingerprint"`
	ETag        string   `json:"etag"`
	Shares      []string `json:"shares"` // key ids
}

func (e *env) backupPush(args []string) error {
	fs := e.flags("backup push")
	newPass := fs.Bool("new-passphrase", false, "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	params, err := e.kdfParams()
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	u, err := e.unlock()
	if err != nil {
		return err
	}
	defer u.wipe()
	st, _, err := e.backupState(u.fp)
	if err != nil {
		return err
	}
	var out backupOutput
	if st != nil && !*newPass {
		out, err = e.updateBackup(c, u, st)
	} else {
		out, err = e.pushBackup(c, u, st, params)
	}
	if err != nil {
		return err
	}
	return e.output(out, func(w io.Writer) {
		fmt.Fprintf(w, "backed up\t%s\n", out.Fingerprint)
		fmt.Fprintf(w, "shares\t%d\n", len(out.Shares))
	})
}

// pushBackup asks a backup passphrase and pushes u's backup under it
// (client.PushBackup: what the blob holds under it, or under the key of
// prev, the state of the backup this replaces, joins), then keeps the
// backup's key in a new state file.
func (e *env) pushBackup(c *client.Client, u *unlocked, prev *client.BackupState, params vault.Params) (backupOutput, error) {
	var prevKey *vault.Key
	if prev != nil {
		prevKey, _ = prev.OpenKey(u.pass) // none: the old backup's shares are not merged
		defer prevKey.Wipe()
	}
	pass, err := e.passphrase("New backup passphrase: ", true)
	if err != nil {
		return backupOutput{}, err
	}
	defer clear(pass)
	b, err := e.localBackup(u, prev)
	if err != nil {
		return backupOutput{}, err
	}
	defer b.Zero()
	etag, k, err := c.PushBackup(e.ctx, b, pass, params, prevKey)
	if err != nil {
		return backupOutput{}, err
	}
	defer k.Wipe()
	st, err := client.NewBackupState(u.fp, k, u.pass, params)
	if err != nil {
		return backupOutput{}, err
	}
	return e.recordBackup(st, etag, b)
}

// updateBackup re-seals u's backup under the key its state st keeps
// (client.UpdateBackup) and records the push.
func (e *env) updateBackup(c *client.Client, u *unlocked, st *client.BackupState) (backupOutput, error) {
	path, err := e.backupStatePath()
	if err != nil {
		return backupOutput{}, err
	}
	k, err := st.OpenKey(u.pass)
	if err != nil {
		return backupOutput{}, fmt.Errorf("%s: %w (chusme backup push --new-passphrase makes a new one)", path, err)
	}
	defer k.Wipe()
	b, err := e.localBackup(u, st)
	if err != nil {
		return backupOutput{}, err
	}
	defer b.Zero()
	etag, err := c.UpdateBackup(e.ctx, b, k, st)
	if errors.Is(err, client.ErrBackupConflict) {
		return backupOutput{}, fmt.Errorf("%w; chusme backup push --new-passphrase replaces it with this device's", err)
	}
	if err != nil {
		return backupOutput{}, err
	}
	return e.recordBackup(st, etag, b)
}

// recordBackup saves, in the backup state st, that the blob is b since the
// push that gave it etag.
func (e *env) recordBackup(st *client.BackupState, etag string, b *client.Backup) (backupOutput, error) {
	path, err := e.backupStatePath()
	if err != nil {
		return backupOutput{}, err
	}
	st.Record(etag, time.Now(), b)
	if err := client.SaveBackupState(path, st); err != nil {
		return backupOutput{}, err
	}
	out := backupOutput{Fingerprint: b.Fingerprint, ETag: etag, Shares: []string{}}
	for _, s := range st.Shares {
		out.Shares = append(out.Shares, s.KeyID)
	}
	return out, nil
}

// backupAfterChange brings the backup up to date after a change of the
// identity key or of the shares (a DKG that saved a share, rotate, rotate
// cancel; refresh, repair and reshare): when this config directory has
// pushed the identity's backup (CONFIG/backup.key), it re-seals the key and
// every share under the backup's kept key, without asking the backup
// passphrase, and pushes them. Without a backup nothing happens. It never
// fails the change that called it: a failure is a warning on stderr with
// the next step. The client must be logged in as u's identity.
func (e *env) backupAfterChange(c *client.Client, u *unlocked) {
	st, _, err := e.backupState(u.fp)
	if err == nil && st == nil {
		return
	}
	if err == nil {
		var out backupOutput
		if out, err = e.updateBackup(c, u, st); err == nil {
			if !e.json {
				fmt.Fprintf(e.stderr, "The backup is up to date: the identity key and %d shares.\n", len(out.Shares))
			}
			return
		}
	}
	fmt.Fprintf(e.stderr, "Warning: the backup was not updated: %v. Run chusme backup push.\n", err)
}

// dropShare records, in u's identity's backup state, that the identity
// holds no share of key keyID from generation on (a reshare left it out, a
// refresh removed it: the caller has checked that), then removes the share
// file at path, if any. In that order, a crash between the two leaves a
// share the backup drops (localBackup), never a backup that brings back a
// share this device removed. Without a backup state there is nothing to
// record.
func (e *env) dropShare(u *unlocked, keyID string, generation int, path string) error {
	st, statePath, err := e.backupState(u.fp)
	if err != nil {
		return err
	}
	if st != nil {
		st.Drop(client.DroppedShare{KeyID: keyID, Generation: generation})
		if err := client.SaveBackupState(statePath, st); err != nil {
			return err
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the old key share: %w", err)
	}
	return nil
}

// restoreOutput is what backup restore prints.
type restoreOutput struct {
	Fingerprint string          `json:"fingerprint"`
	KeyFile     string          `json:"key_file"`
	Shares      []restoredShare `json:"shares"`
	// PendingRotation is the rotation that replaced the restored key,
	// which it can still cancel (chusme rotate cancel) until CancelUntil.
	PendingRotation uint64 `json:"pending_rotation,omitempty"`
	CancelUntil     string `json:"cancel_until,omitempty"` // RFC 3339
}

// restoredShare is a share backup restore wrote.
type restoredShare struct {
	KeyID      string `json:"key_id"`
	Generation int    `json:"generation"`
	ShareFile  string `json:"share_file"`
}

func (e *env) backupRestore(args []string) error {
	fs := e.flags("backup restore")
	fp := fs.String("fingerprint", "", "")
	force := fs.Bool("force", false, "")
	code := fs.String("totp-code", "", "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	resolved, path, err := e.newKeyFileFor("backup restore", *fp, *force)
	if err != nil {
		return err
	}
	*fp = resolved
	params, err := e.kdfParams()
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	pass, err := e.passphrase("Backup passphrase: ", false)
	if err != nil {
		return err
	}
	defer clear(pass)
	r, err := c.RestoreBackup(e.ctx, *fp, pass, e.loginOptions(*code)...)
	switch {
	case errors.Is(err, vault.ErrDecrypt):
		return errors.New("wrong backup passphrase (or a corrupted backup); nothing was written")
	case errors.Is(err, client.ErrNoBackup):
		return fmt.Errorf("%w; nothing was written: run chusme backup push on a device that holds the identity's current key", err)
	case errors.Is(err, client.ErrStaleBackup):
		return chusme.Errorf(codeStaleBackup, "%v; nothing was written: run chusme backup push on a device that holds the identity's current key, or chusme recover with a recovery key", err)
	case err != nil:
		return err
	}
	defer r.Zero()
	if err := os.MkdirAll(filepath.Join(filepath.Dir(path), sharefile.Dir), 0o700); err != nil {
		return err
	}
	// The restored files are sealed under the same passphrase.
	if err := keyfile.SaveFor(path, *fp, r.Key, pass, params, *force); err != nil {
		return err
	}
	out := restoreOutput{Fingerprint: *fp, KeyFile: path, Shares: []restoredShare{}}
	if p := r.Pending; p != nil {
		out.PendingRotation, out.CancelUntil = p.Seq, p.AcceptedAt.Add(chusme.RotationCancelWindow).UTC().Format(time.RFC3339)
		if !e.json {
			fmt.Fprintf(e.stderr, "The restored key was replaced by rotation %d, accepted %s: it can cancel it until %s. Run chusme rotate cancel.\n",
				p.Seq, formatTime(p.AcceptedAt), formatTime(p.AcceptedAt.Add(chusme.RotationCancelWindow)))
		}
	}
	for _, s := range r.Shares {
		sp, err := e.sharePath(s.KeyID)
		if err == nil {
			err = sharefile.Save(sp, s, pass, params, *force)
		}
		if err != nil {
			r.Refused = append(r.Refused, client.RefusedShare{KeyID: s.KeyID, Generation: s.Generation, Err: err})
			continue
		}
		out.Shares = append(out.Shares, restoredShare{s.KeyID, s.Generation, sp})
	}
	// This device keeps the backup's key, to update it after changes. The
	// shares refused for a reason that may pass stay in the backup; those
	// of keys that no longer name this identity are dropped from it
	// (r.Dropped) at the next push.
	st, err := client.NewBackupState(*fp, r.VaultKey, pass, params)
	if err == nil {
		st.Record(r.ETag, time.Time{}, &r.Backup)
		for _, rs := range r.Refused {
			if !errors.Is(rs.Err, client.ErrNotHolder) && !st.Holds(rs.KeyID, rs.Generation) {
				st.Shares = append(st.Shares, client.BackedUpShare{KeyID: rs.KeyID, Generation: rs.Generation})
			}
		}
		var sp string
		if sp, err = e.backupStatePath(); err == nil {
			err = client.SaveBackupState(sp, st)
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "Warning: the backup's key was not kept (%v): the next chusme backup push asks the backup passphrase.\n", err)
	}
	if len(r.Refused) == 0 || !e.json {
		if err := e.output(out, func(w io.Writer) {
			fmt.Fprintf(w, "restored\t%s\nkey file\t%s\n", out.Fingerprint, out.KeyFile)
			if out.PendingRotation != 0 {
				fmt.Fprintf(w, "can cancel\trotation %d until %s\n", out.PendingRotation, out.CancelUntil)
			}
			for _, s := range out.Shares {
				fmt.Fprintf(w, "share\t%s\tgeneration %d\t%s\n", s.KeyID, s.Generation, s.ShareFile)
			}
		}); err != nil {
			return err
		}
	}
	if len(r.Refused) > 0 {
		var why []string
		for _, rs := range r.Refused {
			note := ""
			switch {
			case errors.Is(rs.Err, client.ErrNotHolder):
				note = " (the next backup update drops it from the backup)"
			case errors.Is(rs.Err, client.ErrKeyReplaced):
				note = " (it stays in the backup: after chusme rotate cancel, chusme backup restore --force brings it back)"
			}
			why = append(why, fmt.Sprintf("%s (generation %d): %v%s", rs.KeyID, rs.Generation, rs.Err, note))
		}
		return chusme.Errorf(codeSharesRefused, "the identity key and %d shares were restored into %s, but not %d shares: %s",
			len(out.Shares), filepath.Dir(path), len(r.Refused), strings.Join(why, "; "))
	}
	return nil
}

// backupStatusOutput is what backup status prints.
type backupStatusOutput struct {
	Fingerprint string                 `json:"fingerprint"`
	OnServer    bool                   `json:"on_server"`           // the identity has a blob
	Size        int                    `json:"size,omitempty"`      // its size in bytes
	ETag        string                 `json:"etag,omitempty"`      // its ETag
	ThisDevice  bool                   `json:"this_device"`         // this config directory keeps the backup's key (CONFIG/backup.key)
	Current     bool                   `json:"current"`             // the blob is the one this device last pushed or restored
	PushedAt    string                 `json:"pushed_at,omitempty"` // when this device last pushed it (RFC 3339)
	Shares      []client.BackedUpShare `json:"shares"`              // the shares it held then
	Dropped     []client.DroppedShare  `json:"dropped"`             // the keys it records this identity no longer holds a share of
}

// backupStatus says whether the identity has a backup, whether it is what
// this device last pushed, and which shares it holds.
func (e *env) backupStatus(args []string) error {
	if err := parseNoArgs(e.flags("backup status"), args); err != nil {
		return err
	}
	fp, err := e.identityFingerprint()
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	out := backupStatusOutput{Fingerprint: fp, Shares: []client.BackedUpShare{}, Dropped: []client.DroppedShare{}}
	blob, etag, err := c.Blob(e.ctx, fp)
	switch {
	case err == nil:
		out.OnServer, out.Size, out.ETag = true, len(blob), etag
	case chusme.ErrorCode(err) != chusme.CodeNotFound:
		return err
	}
	st, _, err := e.backupState(fp)
	if err != nil {
		return err
	}
	if st != nil {
		out.ThisDevice, out.Current, out.Shares = true, out.OnServer && st.ETag == etag, st.Shares
		out.Dropped = append(out.Dropped, st.Dropped...)
		if !st.PushedAt.IsZero() {
			out.PushedAt = st.PushedAt.Format(time.RFC3339)
		}
	}
	return e.output(out, func(w io.Writer) {
		fmt.Fprintf(w, "fingerprint\t%s\n", fp)
		if !out.OnServer {
			fmt.Fprintln(w, "backup\tnone on the server (chusme backup push makes one)")
			return
		}
		fmt.Fprintf(w, "backup\ton the server, %d bytes\n", out.Size)
		switch {
		case !out.ThisDevice:
			fmt.Fprintln(w, "this device\tdoes not keep its key: chusme backup push (asks the backup passphrase) updates it")
			return
		case out.PushedAt == "":
			fmt.Fprintln(w, "this device\trestored it, never pushed it")
		default:
			fmt.Fprintf(w, "this device\tlast pushed it %s\n", formatTime(st.PushedAt))
		}
		if !out.Current {
			fmt.Fprintln(w, "changed\tby another device since (chusme backup push merges it)")
		}
		for _, s := range out.Shares {
			fmt.Fprintf(w, "share\t%s\tgeneration %d\n", s.KeyID, s.Generation)
		}
		for _, d := range out.Dropped {
			fmt.Fprintf(w, "dropped\t%s\tno longer held from generation %d\n", d.KeyID, d.Generation)
		}
	})
}
