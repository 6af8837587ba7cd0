package chusme

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// Labels. Every message a ChusMe key signs, every hash ChusMe takes over
// structured data, every key it derives and every associated data it binds
// into a ciphertext carries one of these labels, so that a value made for one
// protocol step can never be presented as another step's; the signed
// messages also bind the issuer, so that they can't be replayed against
// another server. (The one unlabelled hash, CommitmentDigest, is the server's
// record of used commitments: nothing signs or derives from it.) All of them
// live in this file; docs/protocol.md describes each use.
//
// In signed messages and hashes (signedMessage) a label is followed by a NUL
// byte, so "chusme/v1/rotate" and "chusme/v1/rotate-cancel" can't be
// confused: the test checks that no label, as it appears in the bytes, is a
// prefix of another.
const (
	// LabelRegister heads RegisterMessage: proof of possession at
	// registration (and at setup).
	LabelRegister = "chusme/v1/register"
	// LabelLogin heads LoginMessage: challenge-response login.
	LabelLogin = "chusme/v1/login"
	// LabelTOTPConfirm heads TOTPConfirmMessage: turning TOTP on, signed by
	// the identity's current key.
	LabelTOTPConfirm = "chusme/v1/totp-confirm"
	// LabelRotate heads RotationMessage: a rotation statement, signed by the
	// old and the new key.
	LabelRotate = "chusme/v1/rotate"
	// LabelRotateCancel heads CancelMessage: a cancellation, signed by the
	// key the rotation replaced.
	LabelRotateCancel = "chusme/v1/rotate-cancel"
	// LabelRecoveryKeys heads RecoveryKeysMessage: setting an identity's
	// recovery keys, signed by the signer and each key added.
	LabelRecoveryKeys = "chusme/v1/recovery-keys"
	// LabelRecover heads RecoverMessage: a recovery rotation, signed by a
	// recovery key and the new device key.
	LabelRecover = "chusme/v1/recover"
	// LabelRecoveryCancel heads RecoveryCancelMessage: a cancellation
	// signed by a recovery key.
	LabelRecoveryCancel = "chusme/v1/recovery-cancel"
	// LabelDeviceJoin heads DeviceJoinMessage: a new device key's join
	// request (proof of possession).
	LabelDeviceJoin = "chusme/v1/device-join"
	// LabelDeviceAdd heads DeviceAddMessage: adding a device key, signed
	// by a current device key.
	LabelDeviceAdd = "chusme/v1/device-add"
	// LabelDeviceRemove heads DeviceRemoveMessage: removing a device key,
	// signed by a current device key or a recovery key.
	LabelDeviceRemove = "chusme/v1/device-remove"
	// LabelRecoveryKeyCheck heads what a recovery key's printed check is
	// hashed over (RecoveryKeyText; never signed).
	LabelRecoveryKeyCheck = "chusme/v1/recovery-key-check"
	// LabelChainGenesis heads the genesis entry's content (never signed).
	LabelChainGenesis = "chusme/v1/chain-genesis"
	// LabelChainEntry heads what a chain entry's hash is taken over (never
	// signed).
	LabelChainEntry = "chusme/v1/chain-entry"
	// LabelSafetyNumber heads what SafetyNumber hashes: two fingerprints
	// (never signed).
	LabelSafetyNumber = "chusme/v1/safety-number"
	// LabelCeremonyPackage heads CeremonyPackageMessage: every relayed
	// ceremony package, signed by its sender.
	LabelCeremonyPackage = "chusme/v1/ceremony-package"
	// LabelCeremonyComplaint heads CeremonyComplaintMessage: a DKG
	// participant's complaint that a round-2 package it received fails
	// its sender's signature, signed by the complainer.
	LabelCeremonyComplaint = "chusme/v1/ceremony-complaint"
	// LabelCeremonySecret heads CeremonySecretMessage: a sealed
	// point-to-point secret, signed by its sender inside the ciphertext.
	LabelCeremonySecret = "chusme/v1/ceremony-secret"
	// LabelCeremonyRequest heads CeremonyRequestMessage: a ceremony's
	// request, signed by its creator.
	LabelCeremonyRequest = "chusme/v1/ceremony-request"
	// LabelCeremonyDecline heads CeremonyDeclineMessage: a participant's
	// refusal to take part in a ceremony, signed by its identity key.
	LabelCeremonyDecline = "chusme/v1/ceremony-decline"
	// LabelDKGShare heads DKGShareInfo: the HPKE info of a sealed DKG
	// round-2 package.
	LabelDKGShare = "chusme/v1/dkg-share"
	// LabelDKGTranscript heads what DKGTranscriptHash hashes: the round-1
	// payloads.
	LabelDKGTranscript = "chusme/v1/dkg-transcript"
	// LabelGroupKeyConfirm heads GroupKeyConfirmMessage: a DKG
	// participant's round-3 confirmation, its part of the group key's
	// certificate, signed by its identity key.
	LabelGroupKeyConfirm = "chusme/v1/group-key-confirm"
	// LabelGroupKeyEndorse heads GroupKeyEndorseMessage: a holder of a
	// group key's generation endorsing, in a refresh's or reshare's round
	// 3, the next generation made from its share, signed by its identity
	// key.
	LabelGroupKeyEndorse = "chusme/v1/group-key-endorse"
	// LabelVerifyingShares heads what VerifyingSharesHash hashes: a group
	// key's verifying shares.
	LabelVerifyingShares = "chusme/v1/verifying-shares"
	// LabelSharePossession heads SharePossessionMessage: a holder's
	// round-3 proof that it holds its share, signed with the share.
	LabelSharePossession = "chusme/v1/share-possession"

	// LabelTOTPSecret is the server's associated data for a TOTP secret
	// sealed under its data key (AES-256-GCM): the label, a NUL byte, then
	// the fingerprint. Server-side only; it never crosses the wire.
	LabelTOTPSecret = "chusme/v1/data/totp-secret"
	// LabelLoginChallengeMAC is the HKDF-SHA-256 info (whole) of the key
	// that authenticates login challenge ids, derived from the data key.
	LabelLoginChallengeMAC = "chusme/v1/kdf/login-challenge-mac"
	// LabelRefreshTokenMAC is the HKDF-SHA-256 info (whole) of the key
	// that authenticates refresh tokens (their session id and sequence
	// number), derived from the data key.
	LabelRefreshTokenMAC = "chusme/v1/kdf/refresh-token-mac"
	// LabelCeremonyState is the associated data, with the ceremony id
	// (CeremonyStateAD), of a participant's sealed round state
	// (client/roundstate): AES-256-GCM under the ceremony's random state
	// key. Client-side only; it never crosses the wire.
	LabelCeremonyState = "chusme/v1/data/ceremony-state"
	// LabelVaultKey prefixes the HKDF-SHA-256 info of a vault key
	// (client/vault): the info is LabelVaultKey followed by the vault's
	// purpose, one of the VaultPurpose constants.
	LabelVaultKey = "chusme/v1/vault/"
)

// Vault purposes: what a passphrase-sealed vault (client/vault) holds. The
// purpose is in the vault header and in its key's HKDF info (LabelVaultKey +
// purpose), so one passphrase never yields one key for two purposes.
const (
	VaultPurposeIdentityKey   = "identity-key"    // an identity key file's Ed25519 seed (client/keyfile)
	VaultPurposeKeyShare      = "frost-key-share" // a FROST key package in a share file (client/sharefile)
	VaultPurposeBackup        = "identity-backup" // the identity blob: the key backup (client.SealBackup)
	VaultPurposeCeremonyState = "ceremony-state"  // a ceremony's random round-state key (client/roundstate)
	VaultPurposeBackupKey     = "backup-key"      // a device's copy of its backup's key material (client.BackupState)
)

// domainSeparators lists every label as it starts the bytes it labels: the
// signedMessage labels and LabelTOTPSecret followed by their NUL byte, the
// HKDF infos whole. A new label goes here (the test checks that every Label
// constant does), and none may be a prefix of another.
var domainSeparators = []string{
	LabelRegister + "\x00",
	LabelLogin + "\x00",
	LabelTOTPConfirm + "\x00",
	LabelRotate + "\x00",
	LabelRotateCancel + "\x00",
	LabelRecoveryKeys + "\x00",
	LabelRecover + "\x00",
	LabelRecoveryCancel + "\x00",
	LabelDeviceJoin + "\x00",
	LabelDeviceAdd + "\x00",
	LabelDeviceRemove + "\x00",
	LabelRecoveryKeyCheck + "\x00",
	LabelChainGenesis + "\x00",
	LabelChainEntry + "\x00",
	LabelSafetyNumber + "\x00",
	LabelCeremonyPackage + "\x00",
	LabelCeremonyComplaint + "\x00",
	LabelCeremonySecret + "\x00",
	LabelCeremonyRequest + "\x00",
	LabelCeremonyDecline + "\x00",
	LabelDKGShare + "\x00",
	LabelDKGTranscript + "\x00",
	LabelGroupKeyConfirm + "\x00",
	LabelGroupKeyEndorse + "\x00",
	LabelVerifyingShares + "\x00",
	LabelSharePossession + "\x00",
	LabelTOTPSecret + "\x00",
	LabelCeremonyState + "\x00",
	LabelLoginChallengeMAC,
	LabelRefreshTokenMAC,
	LabelVaultKey + VaultPurposeIdentityKey,
	LabelVaultKey + VaultPurposeKeyShare,
	LabelVaultKey + VaultPurposeBackup,
	LabelVaultKey + VaultPurposeCeremonyState,
	LabelVaultKey + VaultPurposeBackupKey,
}

// CeremonyStateAD is the associated data of a participant's round state for
// ceremony id, sealed under its state key: LabelCeremonyState, a NUL byte,
// then the ceremony id as a length-prefixed field (the signedMessage frame).
func CeremonyStateAD(ceremonyID string) []byte {
	return signedMessage(LabelCeremonyState, []byte(ceremonyID))
}

// Fingerprint returns an identity's fingerprint: the lowercase hex SHA-256 of
// its genesis public key's 32 raw bytes. It never changes, even when the key
// rotates.
func Fingerprint(genesisKey []byte) string {
	sum := sha256.Sum256(genesisKey)
	return hex.EncodeToString(sum[:])
}

// ValidFingerprint reports whether s has the form of a fingerprint: 64
// lowercase hex digits.
func ValidFingerprint(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// signedMessage frames a label and fields unambiguously: the label, then each
// field as a 4-byte big-endian length and its bytes.
func signedMessage(label string, fields ...[]byte) []byte {
	n := len(label) + 1
	for _, f := range fields {
		n += 4 + len(f)
	}
	m := make([]byte, 0, n)
	m = append(m, label...)
	m = append(m, 0)
	for _, f := range fields {
		m = binary.BigEndian.AppendUint32(m, uint32(len(f)))
		m = append(m, f...)
	}
	return m
}

// LoginMessage is what a client signs with its current key to answer a login
// challenge: the login label, the server's issuer, the challenge id and the
// nonce.
func LoginMessage(issuer, challengeID string, nonce []byte) []byte {
	return signedMessage(LabelLogin, []byte(issuer), []byte(challengeID), nonce)
}

// RegisterMessage is what a client signs with its new key to register it: the
// registration label, the server's issuer and the public key itself. It
// proves possession of the private key.
func RegisterMessage(issuer string, publicKey []byte) []byte {
	return signedMessage(LabelRegister, []byte(issuer), publicKey)
}
