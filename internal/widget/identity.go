package widget

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// UserHash is the hash a site computes on its server to vouch for one of
// its users: hex HMAC-SHA256 of the user id with the assistant's identity
// secret.
func UserHash(userID, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(userID))
	return hex.EncodeToString(m.Sum(nil))
}

// verifyUser reports whether hash vouches for userID, in constant time
// (upper- or lower-case hex).
func verifyUser(userID, hash, secret string) bool {
	got, err := hex.DecodeString(strings.ToLower(hash))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(userID))
	return hmac.Equal(got, m.Sum(nil))
}
