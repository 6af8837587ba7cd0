package sqlstore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/chusme/chusme"
)

// A ceremony is two rows: its state in ceremonies, rewritten at every
// submission, and its terms in ceremony_terms (migration 0022), written once
// at its creation: the participants, the message, a reshare's new
// participants and dealers. So a submission to a ceremony of 100 rewrites
// a row without its 100 participants.
const (
	// ceremonyColumns are what scanCeremony scans, from ceremonyFrom.
	ceremonyColumns = `c.id, c.kind, c.creator, c.status, c.round, c.threshold, t.participants, c.key_id, t.message,
	c.submitted, c.deadline, c.version, c.created_at, c.updated_at, c.round_started_at, c.transcript, c.signing_package,
	c.failure_reason, c.failure_message, c.culprits, c.result_key_id, c.signature, c.public_key,
	c.request_deadline, c.request_nonce, c.request_signature, c.round_timeout, c.request_round_timeout, c.all_signers,
	c.signers, c.excluded, c.declines, c.key_generation, t.new_participants, t.dealers`
	ceremonyFrom = ` FROM ceremonies c JOIN ceremony_terms t ON t.ceremony_id = c.id`
)

var (
	qInsertCeremony = newQuery(`INSERT INTO ceremonies (id, kind, creator, status, round, threshold, key_id,
	submitted, deadline, version, created_at, updated_at, round_started_at, transcript, signing_package,
	failure_reason, failure_message, culprits, result_key_id, signature, public_key,
	request_deadline, request_nonce, request_signature, round_timeout, request_round_timeout, all_signers,
	signers, excluded, declines, key_generation)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	qInsertTerms = newQuery(`INSERT INTO ceremony_terms (ceremony_id, participants, message, new_participants, dealers)
		VALUES (?, ?, ?, ?, ?)`)
	qInsertMember = newQuery(`INSERT INTO ceremony_members (fingerprint, ceremony_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT DO NOTHING`)
	qGetCeremony  = newQuery(`SELECT ` + ceremonyColumns + ceremonyFrom + ` WHERE c.id = ?`)
	qLockCeremony = newQuery(`SELECT ` + ceremonyColumns + ceremonyFrom + ` WHERE c.id = ?{lock}`)
	// qListCeremonies[member][status][after] lists the ceremonies of a
	// member (if member), with a status (if status), after a cursor (if
	// after), newest first; ids compare bytewise in every dialect.
	qListCeremonies = func() (q [2][2][2]query) {
		for _, member := range []int{0, 1} {
			for _, status := range []int{0, 1} {
				for _, after := range []int{0, 1} {
					// A member's list walks the ceremony_members_by_time
					// index (0012) in order: the member's rows carry the
					// ceremony's creation time and id.
					from, at, id := ceremonyFrom, "c.created_at", "c.id"
					var where []string
					if member == 1 {
						from, at, id = ` FROM ceremony_members m JOIN ceremonies c ON c.id = m.ceremony_id JOIN ceremony_terms t ON t.ceremony_id = c.id`, "m.created_at", "m.ceremony_id"
						where = append(where, `m.fingerprint = ?`)
					}
					if status == 1 {
						where = append(where, `c.status = ?`)
					}
					if after == 1 {
						where = append(where, `(`+at+` < ? OR (`+at+` = ? AND `+id+`{bytewise} > ?))`)
					}
					text := `SELECT ` + ceremonyColumns + from
					if len(where) > 0 {
						text += ` WHERE ` + strings.Join(where, ` AND `)
					}
					q[member][status][after] = newQuery(text + ` ORDER BY ` + at + ` DESC, ` + id + `{bytewise} LIMIT ?`)
				}
			}
		}
		return q
	}()
	qListSubmissions = newQuery(`SELECT ` + submissionColumns + `
		FROM ceremony_submissions WHERE ceremony_id = ? AND round = ? ORDER BY sender{bytewise}, recipient{bytewise}`)
	// qListInbox reads a recipient's packages and the broadcasts (recipient
	// '') along the index of migration 0013.
	qListInbox = newQuery(`SELECT ` + submissionColumns + `
		FROM ceremony_submissions WHERE ceremony_id = ? AND round = ? AND recipient IN ('', ?) ORDER BY sender{bytewise}`)
	// qListSent reads a sender's submissions along the primary key.
	qListSent = newQuery(`SELECT ` + submissionColumns + `
		FROM ceremony_submissions WHERE ceremony_id = ? AND round = ? AND sender = ? ORDER BY recipient{bytewise}`)
	qUpdateCeremony = newQuery(`UPDATE ceremonies SET status = ?, round = ?, submitted = ?, deadline = ?,
		version = ?, updated_at = ?, round_started_at = ?, transcript = ?, signing_package = ?,
		failure_reason = ?, failure_message = ?, culprits = ?, result_key_id = ?, signature = ?, public_key = ?,
		signers = ?, excluded = ?, declines = ? WHERE id = ?`)
	qInsertSubmission = newQuery(`INSERT INTO ceremony_submissions
		(ceremony_id, round, sender, recipient, payload, signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	qInsertPackages = newQuery(`INSERT INTO ceremony_packages (ceremony_id, round, sender, packages) VALUES (?, ?, ?, ?)`)
	// qListPackages and qSentPackages read a round's packed point-to-point
	// packages (see packages.go), every sender's or one's, along the
	// primary key.
	qListPackages   = newQuery(`SELECT sender, packages FROM ceremony_packages WHERE ceremony_id = ? AND round = ?`)
	qSentPackages   = newQuery(`SELECT sender, packages FROM ceremony_packages WHERE ceremony_id = ? AND round = ? AND sender = ?`)
	qUseCommitment  = newQuery(`INSERT INTO used_commitments (key_id, digest, ceremony_id, created_at) VALUES (?, ?, ?, ?)`)
	qInsertGroupKey = newQuery(`INSERT INTO group_keys (id, public_key, threshold, participants,
		verifying_shares, public_key_package, ceremony_id, created_at, issuer, transcript, kind, endorsements)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	// qNextGeneration moves a group key to its next generation, if it is
	// still at the one before.
	qNextGeneration = newQuery(`UPDATE group_keys SET generation = ?, threshold = ?, participants = ?,
		verifying_shares = ?, public_key_package = ?, ceremony_id = ?, created_at = ?, issuer = ?, transcript = ?,
		kind = ?, endorsements = ? WHERE id = ? AND generation = ? AND public_key = ?`)
	qKeepGeneration = newQuery(`INSERT INTO group_key_history (key_id, generation, threshold, participants,
		verifying_shares, public_key_package, ceremony_id, created_at, issuer, transcript, confirmations, kind, endorsements)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	qDeleteConfirmations = newQuery(`DELETE FROM group_key_confirmations WHERE key_id = ?`)
	qInsertConfirmation  = newQuery(`INSERT INTO group_key_confirmations (key_id, position, fingerprint,
		head_seq, head_hash, public_key, signature, share_signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	// The open status is written into the queries that always ask for it,
	// not bound: SQLite plans a statement whose parameter a partial index's
	// WHERE compares (status = 'open', status <> 'open') again at every new
	// binding, which made the scheduler's scan, once a second on an idle
	// server, 4.5 times as costly (40 against 9 µs on an empty database).
	qDueCeremonies   = newQuery(`SELECT id FROM ceremonies WHERE status = ` + openStatus + ` AND deadline <= ? ORDER BY deadline`)
	qCountCeremonies = newQuery(`SELECT count(*) FROM ceremonies WHERE status = ?`)
	qCountOpenBy     = newQuery(`SELECT count(*) FROM ceremonies WHERE creator = ? AND status = ` + openStatus)
	qGetGroupKey     = newQuery(`SELECT id, public_key, generation, threshold, participants, verifying_shares,
		public_key_package, ceremony_id, created_at, issuer, transcript, kind, endorsements FROM group_keys WHERE id = ?`)
	qGetGroupKeyHistory = newQuery(`SELECT threshold, participants, verifying_shares,
		public_key_package, ceremony_id, created_at, issuer, transcript, confirmations, kind, endorsements
		FROM group_key_history WHERE key_id = ? AND generation = ?`)
	qListConfirmations = newQuery(`SELECT fingerprint, head_seq, head_hash, public_key, signature, share_signature
		FROM group_key_confirmations WHERE key_id = ? ORDER BY position`)
)

// openStatus is chusme.CeremonyOpen as an SQL string literal.
const openStatus = `'` + chusme.CeremonyOpen + `'`

// boolInt stores a flag as 1 or 0, in an INTEGER column of either engine.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jsonDeclines stores a ceremony's declines as a JSON list.
func jsonDeclines(ds []chusme.CeremonyDecline) string {
	if ds == nil {
		ds = []chusme.CeremonyDecline{}
	}
	b, _ := json.Marshal(ds)
	return string(b)
}

// scanCeremony scans ceremonyColumns.
func scanCeremony(r Row) (chusme.Ceremony, error) {
	var c chusme.Ceremony
	var parts, submitted, culprits, signers, excluded, declines, newParts, dealers string
	var deadline, created, updated, started, reqDeadline sql.NullInt64
	var roundTimeout int64
	var allSigners int
	err := r.Scan(&c.ID, &c.Kind, &c.Creator, &c.Status, &c.Round, &c.Threshold, &parts, &c.KeyID, &c.Message,
		&submitted, &deadline, &c.Version, &created, &updated, &started, &c.Transcript, &c.SigningPackage,
		&c.FailureReason, &c.FailureMessage, &culprits, &c.ResultKeyID, &c.Signature, &c.PublicKey,
		&reqDeadline, &c.RequestNonce, &c.RequestSignature, &roundTimeout, &c.RequestRoundTimeout, &allSigners,
		&signers, &excluded, &declines, &c.KeyGeneration, &newParts, &dealers)
	if err != nil {
		return c, err
	}
	c.RoundTimeout, c.AllSigners = time.Duration(roundTimeout), allSigners != 0
	if err := fromJSON(declines, &c.Declines); err != nil {
		return c, err
	}
	for _, l := range []struct {
		dst *[]string
		src string
	}{{&c.Participants, parts}, {&c.Submitted, submitted}, {&c.Culprits, culprits}, {&c.Signers, signers}, {&c.Excluded, excluded},
		{&c.NewParticipants, newParts}, {&c.Dealers, dealers}} {
		if err := fromJSONList(l.src, l.dst); err != nil {
			return c, err
		}
	}
	c.Deadline, c.CreatedAt, c.UpdatedAt, c.RoundStarted = fromNano(deadline), fromNano(created), fromNano(updated), fromNano(started)
	c.RequestDeadline = reqDeadline.Int64
	return c, nil
}

// CreateCeremony stores a new ceremony with its members (participants and
// creator). CodeConflict if the id exists.
func (s *Store) CreateCeremony(ctx context.Context, cer chusme.Ceremony) error {
	return s.wrap("create ceremony", s.e.Write(ctx, func(c Conn) error {
		if _, err := c.Exec(ctx, s.sql[qInsertCeremony],
			cer.ID, cer.Kind, cer.Creator, cer.Status, cer.Round, cer.Threshold, cer.KeyID,
			jsonList(cer.Submitted), unixNano(cer.Deadline), cer.Version, unixNano(cer.CreatedAt), unixNano(cer.UpdatedAt),
			unixNano(cer.RoundStarted), cer.Transcript, cer.SigningPackage, cer.FailureReason, cer.FailureMessage,
			jsonList(cer.Culprits), cer.ResultKeyID, cer.Signature, cer.PublicKey,
			cer.RequestDeadline, cer.RequestNonce, cer.RequestSignature, int64(cer.RoundTimeout), cer.RequestRoundTimeout,
			boolInt(cer.AllSigners), jsonList(cer.Signers), jsonList(cer.Excluded), jsonDeclines(cer.Declines), cer.KeyGeneration); err != nil {
			return err
		}
		if _, err := c.Exec(ctx, s.sql[qInsertTerms],
			cer.ID, jsonList(cer.Participants), cer.Message, jsonList(cer.NewParticipants), jsonList(cer.Dealers)); err != nil {
			return err
		}
		members := append([]string{cer.Creator}, cer.Participants...)
		if s.d.InsertMembers != "" {
			_, err := c.Exec(ctx, s.d.InsertMembers, members, cer.ID, unixNano(cer.CreatedAt))
			return err
		}
		for _, fp := range members {
			if _, err := c.Exec(ctx, s.sql[qInsertMember], fp, cer.ID, unixNano(cer.CreatedAt)); err != nil {
				return err
			}
		}
		return nil
	}))
}

// GetCeremony returns a ceremony. CodeNotFound if unknown.
func (s *Store) GetCeremony(ctx context.Context, id string) (chusme.Ceremony, error) {
	return read(ctx, s, "get ceremony", qGetCeremony, id, "ceremony", scanCeremony)
}

// ListCeremonies returns the ceremonies f selects, newest first.
func (s *Store) ListCeremonies(ctx context.Context, f chusme.CeremonyFilter) ([]chusme.Ceremony, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var args []any
	member, status, after := 0, 0, 0
	if f.Member != "" {
		member, args = 1, append(args, f.Member)
	}
	if f.Status != "" {
		status, args = 1, append(args, f.Status)
	}
	if !f.After.IsZero() {
		at := unixNano(f.After.CreatedAt)
		after, args = 1, append(args, at, at, f.After.ID)
	}
	rows, err := s.e.Read().Query(ctx, s.sql[qListCeremonies[member][status][after]], append(args, limit)...)
	out, err := collect(rows, err, scanCeremony)
	return out, s.wrap("list ceremonies", err)
}

const submissionColumns = `ceremony_id, round, sender, recipient, payload, signature, created_at`

// scanSubmission scans submissionColumns.
func scanSubmission(r Row) (chusme.CeremonySubmission, error) {
	var sub chusme.CeremonySubmission
	var created sql.NullInt64
	err := r.Scan(&sub.CeremonyID, &sub.Round, &sub.Sender, &sub.Recipient, &sub.Payload, &sub.Signature, &created)
	sub.CreatedAt = fromNano(created)
	return sub, err
}

// submissions runs q, one of the submission queries, on c.
func (s *Store) submissions(ctx context.Context, c Conn, q query, args ...any) ([]chusme.CeremonySubmission, error) {
	rows, err := c.Query(ctx, s.sql[q], args...)
	return collect(rows, err, scanSubmission)
}

// roundRows reads, on c, a round's rows of ceremony_submissions with q (its
// arguments args), then the packed packages of ceremony id's round with
// packed (its arguments after the id and round: more) whose recipient keep
// selects (copied: a kept package holds none of its row's others), and
// orders them all with order (stable: a sender's broadcast stays before its
// packages).
func (s *Store) roundRows(ctx context.Context, c Conn, q query, args []any, packed query, id string, round int, more []any,
	keep func(recipient string) bool, order func(a, b chusme.CeremonySubmission) int) ([]chusme.CeremonySubmission, error) {
	subs, err := s.submissions(ctx, c, q, args...)
	if err != nil {
		return nil, err
	}
	rows, err := c.Query(ctx, s.sql[packed], append([]any{id, round}, more...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var sender string
		var b []byte
		if err := rows.Scan(&sender, &b); err != nil {
			return nil, err
		}
		if err := unpackSubmissions(id, round, sender, b, func(r chusme.CeremonySubmission) {
			if keep(r.Recipient) {
				r.Payload, r.Signature = bytes.Clone(r.Payload), bytes.Clone(r.Signature)
				subs = append(subs, r)
			}
		}); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(subs, order)
	return subs, nil
}

// sent is ListSent on c.
func (s *Store) sent(ctx context.Context, c Conn, id string, round int, sender string) ([]chusme.CeremonySubmission, error) {
	return s.roundRows(ctx, c, qListSent, []any{id, round, sender}, qSentPackages, id, round, []any{sender},
		func(string) bool { return true }, byRecipient)
}

// ListSubmissions returns the submissions of a ceremony's round, ordered by
// sender then recipient.
func (s *Store) ListSubmissions(ctx context.Context, id string, round int) ([]chusme.CeremonySubmission, error) {
	subs, err := s.roundRows(ctx, s.e.Read(), qListSubmissions, []any{id, round}, qListPackages, id, round, nil,
		func(string) bool { return true }, func(a, b chusme.CeremonySubmission) int {
			return cmp.Or(bySender(a, b), byRecipient(a, b))
		})
	return subs, s.wrap("list submissions", err)
}

// ListInbox returns a round's broadcasts and the packages addressed to
// recipient, ordered by sender. A round of point-to-point packages reads
// every sender's packed row (once per recipient: the ceremony service
// reads a complete round once and answers every recipient from it).
func (s *Store) ListInbox(ctx context.Context, id string, round int, recipient string) ([]chusme.CeremonySubmission, error) {
	subs, err := s.roundRows(ctx, s.e.Read(), qListInbox, []any{id, round, recipient}, qListPackages, id, round, nil,
		func(r string) bool { return r == recipient }, bySender)
	return subs, s.wrap("list inbox", err)
}

// ListSent returns what sender submitted in a round, ordered by recipient.
func (s *Store) ListSent(ctx context.Context, id string, round int, sender string) ([]chusme.CeremonySubmission, error) {
	subs, err := s.sent(ctx, s.e.Read(), id, round, sender)
	return subs, s.wrap("list sent", err)
}

// UpdateCeremony runs fn in one write transaction on the ceremony, with
// reads of its current round's submissions, then writes what fn decided (see
// chusme.CeremonyStore). Where the dialect locks rows, the transaction holds
// the ceremony's row from before it reads the ceremony until it commits:
// transitions of one ceremony are serialized across every node.
func (s *Store) UpdateCeremony(ctx context.Context, id string, fn func(st *chusme.CeremonyState) error) (chusme.Ceremony, error) {
	var out chusme.Ceremony
	err := s.e.Write(ctx, func(c Conn) error {
		cer, err := one(c.QueryRow(ctx, s.sql[qLockCeremony], id), "ceremony", scanCeremony)
		if err != nil {
			return err
		}
		st := &chusme.CeremonyState{Ceremony: cer,
			Sent: func(sender string) ([]chusme.CeremonySubmission, error) {
				return s.sent(ctx, c, id, cer.Round, sender)
			},
			Broadcasts: func() ([]chusme.CeremonySubmission, error) {
				return s.submissions(ctx, c, qListInbox, id, cer.Round, "")
			},
		}
		st.Ceremony.Participants = append([]string(nil), cer.Participants...)
		st.Ceremony.Submitted = append([]string(nil), cer.Submitted...)
		st.Ceremony.Signers = append([]string(nil), cer.Signers...)
		st.Ceremony.Excluded = append([]string(nil), cer.Excluded...)
		st.Ceremony.Declines = slices.Clone(cer.Declines)
		if err := fn(st); err != nil {
			if errors.Is(err, chusme.ErrUnchanged) {
				out = cer
				return errUnchanged
			}
			return err
		}
		n := st.Ceremony
		n.ID, n.Version = cer.ID, cer.Version+1
		if _, err := c.Exec(ctx, s.sql[qUpdateCeremony],
			n.Status, n.Round, jsonList(n.Submitted), unixNano(n.Deadline), n.Version, unixNano(n.UpdatedAt),
			unixNano(n.RoundStarted), n.Transcript, n.SigningPackage, n.FailureReason, n.FailureMessage,
			jsonList(n.Culprits), n.ResultKeyID, n.Signature, n.PublicKey, jsonList(n.Signers), jsonList(n.Excluded),
			jsonDeclines(n.Declines), cer.ID); err != nil {
			return err
		}
		broadcasts, packed, err := packedRows(st.Add)
		if err != nil {
			return err
		}
		for _, sub := range broadcasts {
			if _, err := c.Exec(ctx, s.sql[qInsertSubmission],
				cer.ID, sub.Round, sub.Sender, sub.Recipient, sub.Payload, sub.Signature, unixNano(sub.CreatedAt)); err != nil {
				return err
			}
		}
		for _, p := range packed {
			if _, err := c.Exec(ctx, s.sql[qInsertPackages], cer.ID, p[0].Round, p[0].Sender, packSubmissions(p)); err != nil {
				return err
			}
		}
		// Where transactions run side by side, in a fixed order, so that two
		// ceremonies recording the same digests can't deadlock: the second
		// waits for the first and then finds them used.
		digests := st.Commitments
		if s.locks() && len(digests) > 1 {
			digests = slices.Clone(digests)
			slices.SortFunc(digests, bytes.Compare)
		}
		for _, d := range digests {
			if _, err := c.Exec(ctx, s.sql[qUseCommitment], cer.KeyID, d, cer.ID, unixNano(n.UpdatedAt)); err != nil {
				if s.d.IsUnique(err) {
					return chusme.Errorf(chusme.CodeCommitmentReused, "a signing commitment was used before with this key")
				}
				return err
			}
		}
		if k := st.Key; k != nil {
			if err := s.putGroupKey(ctx, c, k); err != nil {
				return err
			}
		}
		out = n
		return nil
	})
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	return out, s.wrap("update ceremony", err)
}

// putGroupKey creates group key k inside transaction c or, with a
// Generation above 1, moves the stored key to it, keeping the generation
// it replaces (and its certificate) in the key's history.
func (s *Store) putGroupKey(ctx context.Context, c Conn, k *chusme.GroupKey) error {
	shares, err := json.Marshal(k.VerifyingShares)
	if err != nil {
		return err
	}
	endorsements, err := json.Marshal(k.Endorsements)
	if err != nil {
		return err
	}
	if k.Generation <= 1 {
		if _, err := c.Exec(ctx, s.sql[qInsertGroupKey],
			k.ID, k.PublicKey, k.Threshold, jsonList(k.Participants), string(shares), k.PublicKeyPackage,
			k.CeremonyID, unixNano(k.CreatedAt), k.Issuer, k.Transcript, k.Kind, string(endorsements)); err != nil {
			return err
		}
	} else {
		prev, err := s.groupKey(ctx, c, k.ID)
		if err != nil {
			return err
		}
		confirmations, err := json.Marshal(prev.Confirmations)
		if err != nil {
			return err
		}
		prevShares, err := json.Marshal(prev.VerifyingShares)
		if err != nil {
			return err
		}
		prevEndorsements, err := json.Marshal(prev.Endorsements)
		if err != nil {
			return err
		}
		if prev.Generation != k.Generation-1 || !bytes.Equal(prev.PublicKey, k.PublicKey) {
			return chusme.Errorf(chusme.CodeConflict, "group key %s is at generation %d, not %d", k.ID, prev.Generation, k.Generation-1)
		}
		if _, err := c.Exec(ctx, s.sql[qKeepGeneration], prev.ID, prev.Generation, prev.Threshold, jsonList(prev.Participants),
			string(prevShares), prev.PublicKeyPackage, prev.CeremonyID, unixNano(prev.CreatedAt), prev.Issuer, prev.Transcript,
			string(confirmations), prev.Kind, string(prevEndorsements)); err != nil {
			return err
		}
		moved, err := c.Exec(ctx, s.sql[qNextGeneration], k.Generation, k.Threshold, jsonList(k.Participants), string(shares),
			k.PublicKeyPackage, k.CeremonyID, unixNano(k.CreatedAt), k.Issuer, k.Transcript, k.Kind, string(endorsements),
			k.ID, prev.Generation, k.PublicKey)
		if err != nil {
			return err
		}
		if moved != 1 {
			return chusme.Errorf(chusme.CodeConflict, "group key %s moved to another generation meanwhile", k.ID)
		}
		if _, err := c.Exec(ctx, s.sql[qDeleteConfirmations], k.ID); err != nil {
			return err
		}
	}
	for i, cf := range k.Confirmations {
		if _, err := c.Exec(ctx, s.sql[qInsertConfirmation], k.ID, i, cf.Fingerprint, int64(cf.HeadSeq),
			[]byte(cf.HeadHash), []byte(cf.PublicKey), []byte(cf.Signature), []byte(cf.ShareSignature)); err != nil {
			return err
		}
	}
	return nil
}

// errUnchanged rolls back the transaction of a callback that returned
// chusme.ErrUnchanged.
var errUnchanged = errors.New("unchanged")

// DueCeremonies returns the ids of open ceremonies whose deadline is at or
// before now.
func (s *Store) DueCeremonies(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := s.e.Read().Query(ctx, s.sql[qDueCeremonies], now.UnixNano())
	ids, err := collect(rows, err, scanID)
	return ids, s.wrap("due ceremonies", err)
}

// CountCeremonies returns how many ceremonies have the status.
func (s *Store) CountCeremonies(ctx context.Context, status string) (int, error) {
	return s.count(ctx, "count ceremonies", qCountCeremonies, status)
}

// CountOpenCeremonies returns how many open ceremonies the creator started.
func (s *Store) CountOpenCeremonies(ctx context.Context, creator string) (int, error) {
	return s.count(ctx, "count open ceremonies", qCountOpenBy, creator)
}

// GetGroupKey returns a group key's current generation. CodeNotFound if
// unknown.
func (s *Store) GetGroupKey(ctx context.Context, id string) (chusme.GroupKey, error) {
	k, err := s.groupKey(ctx, s.e.Read(), id)
	return k, s.wrap("get group key", err)
}

// groupKey reads a group key's current generation through c.
func (s *Store) groupKey(ctx context.Context, c Conn, id string) (chusme.GroupKey, error) {
	var k chusme.GroupKey
	var parts, shares, endorsements string
	var created sql.NullInt64
	err := c.QueryRow(ctx, s.sql[qGetGroupKey], id).
		Scan(&k.ID, &k.PublicKey, &k.Generation, &k.Threshold, &parts, &shares, &k.PublicKeyPackage, &k.CeremonyID, &created, &k.Issuer, &k.Transcript,
			&k.Kind, &endorsements)
	if noRows(err) {
		return k, notFound("group key")
	}
	if err == nil {
		err = fromJSON(parts, &k.Participants)
	}
	if err == nil {
		err = fromJSON(shares, &k.VerifyingShares)
	}
	if err == nil {
		err = fromJSON(endorsements, &k.Endorsements)
	}
	if err == nil {
		rows, qerr := c.Query(ctx, s.sql[qListConfirmations], id)
		k.Confirmations, err = collect(rows, qerr, scanConfirmation)
	}
	k.CreatedAt = fromNano(created)
	return k, err
}

// GetGroupKeyGeneration returns a generation of a group key, the current
// one or one kept in its history. CodeNotFound if the key or the
// generation is unknown.
func (s *Store) GetGroupKeyGeneration(ctx context.Context, id string, generation int) (chusme.GroupKey, error) {
	k, err := s.groupKey(ctx, s.e.Read(), id)
	if err != nil || k.Generation == generation {
		return k, s.wrap("get group key generation", err)
	}
	if generation < 1 || generation > k.Generation {
		return chusme.GroupKey{}, notFound("group key generation")
	}
	old := chusme.GroupKey{ID: id, PublicKey: k.PublicKey, Generation: generation}
	var parts, shares, confirmations, endorsements string
	var created sql.NullInt64
	err = s.e.Read().QueryRow(ctx, s.sql[qGetGroupKeyHistory], id, generation).Scan(&old.Threshold, &parts, &shares,
		&old.PublicKeyPackage, &old.CeremonyID, &created, &old.Issuer, &old.Transcript, &confirmations, &old.Kind, &endorsements)
	if noRows(err) {
		return chusme.GroupKey{}, notFound("group key generation")
	}
	if err == nil {
		err = fromJSON(parts, &old.Participants)
	}
	if err == nil {
		err = fromJSON(shares, &old.VerifyingShares)
	}
	if err == nil {
		err = fromJSON(confirmations, &old.Confirmations)
	}
	if err == nil {
		err = fromJSON(endorsements, &old.Endorsements)
	}
	old.CreatedAt = fromNano(created)
	return old, s.wrap("get group key generation", err)
}

// scanConfirmation scans a row of qListConfirmations.
func scanConfirmation(r Row) (chusme.GroupKeyConfirmation, error) {
	var c chusme.GroupKeyConfirmation
	var seq int64
	var hash, key, sig, shareSig []byte
	err := r.Scan(&c.Fingerprint, &seq, &hash, &key, &sig, &shareSig)
	c.HeadSeq, c.HeadHash, c.PublicKey, c.Signature, c.ShareSignature = uint64(seq), hash, key, sig, shareSig
	return c, err
}
