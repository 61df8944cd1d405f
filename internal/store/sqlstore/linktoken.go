package sqlstore

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Invitation links carry a token derived from the invitation ID with the store's link
// key: token = base64url(HMAC-SHA256(key, id)). The token itself is never stored, only
// its SHA-256 (to find the invitation from a link); the store can still rebuild the
// link of an invitation when an idempotent request is replayed.

func linkToken(key []byte, invitationID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(invitationID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// inviteLink is the link a person follows: <publicURL>/invite/<token>.
func inviteLink(publicURL, token string) string {
	return strings.TrimSuffix(publicURL, "/") + "/invite/" + token
}

// randomID returns n random bytes, hex-encoded.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
