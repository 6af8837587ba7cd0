package auth

import (
	"context"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/keys"
)

// ListIdentities returns, to an administrator, at most limit (1 to
// chusme.MaxAdminPage) identities of status ("" for any) by fingerprint
// after cursor ("" from the first), and the next page's cursor if there
// is more. CodeInvalidRequest for a bad limit, status or cursor.
func (s *Service) ListIdentities(ctx context.Context, p Principal, status, cursor string, limit int) (chusme.AdminIdentityPage, error) {
	page := chusme.AdminIdentityPage{Identities: []chusme.AdminIdentity{}}
	if err := s.requireAdmin(ctx, p); err != nil {
		return page, err
	}
	switch {
	case limit < 1 || limit > chusme.MaxAdminPage:
		return page, chusme.Errorf(chusme.CodeInvalidRequest, "limit must be 1 to %d", chusme.MaxAdminPage)
	case status != "" && status != chusme.StatusActive && status != chusme.StatusBanned:
		return page, chusme.Errorf(chusme.CodeInvalidRequest, "status must be %s or %s", chusme.StatusActive, chusme.StatusBanned)
	case cursor != "" && !chusme.ValidFingerprint(cursor):
		return page, chusme.Errorf(chusme.CodeInvalidRequest, "the cursor is not one a page returned")
	}
	ids, err := s.store.ListIdentities(ctx, status, cursor, limit+1)
	if err != nil {
		return page, err
	}
	if len(ids) > limit {
		ids = ids[:limit]
		page.NextCursor = ids[limit-1].Fingerprint
	}
	for _, id := range ids {
		a, _, err := s.adminIdentity(ctx, id)
		if err != nil {
			return page, err
		}
		page.Identities = append(page.Identities, a)
	}
	return page, nil
}

// AdminIdentity returns, to an administrator, identity fp with its chain
// and its live sessions. CodeNotFound if unknown.
func (s *Service) AdminIdentity(ctx context.Context, p Principal, fp string) (chusme.AdminIdentityDetail, error) {
	var d chusme.AdminIdentityDetail
	if err := s.requireAdmin(ctx, p); err != nil {
		return d, err
	}
	id, err := s.Identity(ctx, fp)
	if err != nil {
		return d, err
	}
	if d.AdminIdentity, d.Chain, err = s.adminIdentity(ctx, id); err != nil {
		return d, err
	}
	sessions, err := s.store.LiveSessions(ctx, fp, s.now().UTC())
	if err != nil {
		return d, err
	}
	d.Sessions = []chusme.AdminSession{}
	for _, ss := range sessions {
		d.Sessions = append(d.Sessions, chusme.AdminSession{ID: ss.ID, CreatedAt: ss.CreatedAt, LastUsedAt: ss.LastUsedAt, ExpiresAt: ss.ExpiresAt, DeviceKey: ss.DeviceKey})
	}
	return d, nil
}

// Unban makes a banned identity active again (an active one stays so);
// the sessions the ban ended stay ended. CodeNotFound if unknown.
func (s *Service) Unban(ctx context.Context, p Principal, fp string) (chusme.Identity, error) {
	if err := s.requireAdmin(ctx, p); err != nil {
		return chusme.Identity{}, err
	}
	if _, err := s.Identity(ctx, fp); err != nil {
		return chusme.Identity{}, err
	}
	if err := s.store.UnbanIdentity(ctx, fp); err != nil {
		return chusme.Identity{}, err
	}
	s.log.Info("identity unbanned", "fingerprint", fp, "by", p.Fingerprint)
	return s.store.GetIdentity(ctx, fp)
}

// adminIdentity returns id as an administrator sees it, with its chain:
// the keys the chain leaves are the chain's rules' (chusme.VerifyChainKeys).
func (s *Service) adminIdentity(ctx context.Context, id chusme.Identity) (chusme.AdminIdentity, chusme.ChainResponse, error) {
	rest, err := s.store.ListChain(ctx, id.Fingerprint)
	if err != nil {
		return chusme.AdminIdentity{}, chusme.ChainResponse{}, err
	}
	ch := chusme.ChainResponse{Fingerprint: id.Fingerprint, Issuer: s.cfg.Issuer, Entries: append([]chusme.ChainEntry{chusme.GenesisEntry(id)}, rest...)}
	k, err := chusme.VerifyChainKeys(s.cfg.Issuer, id.Fingerprint, ch.Entries, keys.CheckPublicKey, keys.Verify)
	if err != nil {
		return chusme.AdminIdentity{}, ch, err
	}
	a := chusme.AdminIdentity{
		Fingerprint: id.Fingerprint, Role: id.Role, Status: id.Status, CreatedAt: id.CreatedAt,
		PublicKey: k.Devices[0], ChainLength: len(ch.Entries), RecoveryKeys: len(k.Recovery), Devices: len(k.Devices),
	}
	if !id.BannedAt.IsZero() {
		a.BannedAt = &id.BannedAt
	}
	return a, ch, nil
}
