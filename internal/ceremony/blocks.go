package ceremony

import (
	"context"

	"github.com/chusme/chusme"
)

// Block makes caller block identity fp from inviting it to ceremonies
// (chusme.BlockStore): fp's later ceremonies naming caller are refused.
// Blocking an identity blocked already changes nothing; fp must be another
// existing identity.
func (s *Service) Block(ctx context.Context, caller, fp string) error {
	if err := s.blockable(ctx, caller, fp); err != nil {
		return err
	}
	return s.store.Block(ctx, caller, fp, s.now())
}

// Unblock lifts caller's block of fp. CodeNotFound if there is none.
func (s *Service) Unblock(ctx context.Context, caller, fp string) error {
	if !chusme.ValidFingerprint(fp) {
		return invalid("%q is not a fingerprint", fp)
	}
	return s.store.Unblock(ctx, caller, fp)
}

// Blocked returns whom caller blocks, sorted.
func (s *Service) Blocked(ctx context.Context, caller string) ([]string, error) {
	return s.store.ListBlocked(ctx, caller)
}

// blockable checks that caller may block fp: another identity that exists.
func (s *Service) blockable(ctx context.Context, caller, fp string) error {
	if !chusme.ValidFingerprint(fp) {
		return invalid("%q is not a fingerprint", fp)
	}
	if fp == caller {
		return invalid("you can't block yourself")
	}
	if _, err := s.store.GetIdentity(ctx, fp); err != nil {
		if chusme.ErrorCode(err) == chusme.CodeNotFound {
			return chusme.Errorf(chusme.CodeNotFound, "no identity %s", fp)
		}
		return err
	}
	return nil
}
