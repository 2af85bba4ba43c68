package widget

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/seal"
)

// session is what a session token vouches for: one visitor of one
// assistant, in one conversation, until it expires. The visitor can reach
// nothing else with it.
type session struct {
	Workspace    string `json:"w"`
	Assistant    string `json:"a"`
	Conversation string `json:"c"`
	Visitor      string `json:"v"`
	// User is the verified user id, "" for an anonymous visitor.
	User    string `json:"u,omitempty"`
	Expires int64  `json:"e"` // Unix seconds

	// transcribes is whether the token's assistant has its recordings
	// transcribed, as the request found it (not part of the token). Only
	// this is kept, not the assistant: an event stream holds its session
	// for hours, and the assistant with its prompt and knowledge would
	// cost every open stream kilobytes.
	transcribes bool
}

// errToken is any token that is not one this instance issued, unaltered
// and unexpired.
var errToken = errors.New("widget: bad session token")

// maxToken bounds what is parsed at all.
const maxToken = 1024

// tokens signs and checks session tokens with a key derived from the
// instance secret for this purpose only (see seal.Derive), so the same
// token is good on every node.
type tokens struct{ key []byte }

func newTokens(secret []byte) tokens { return tokens{key: seal.Derive(secret, "widget session v1")} }

func (k tokens) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write(payload)
	return m.Sum(nil)
}

// issue returns the token of s.
func (k tokens) issue(s session) string {
	payload, _ := json.Marshal(s)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(k.mac(payload))
}

// check returns the session of a token that this instance issued and
// that has not expired at now.
func (k tokens) check(tok string, now time.Time) (*session, error) {
	if len(tok) > maxToken {
		return nil, errToken
	}
	p64, m64, ok := strings.Cut(tok, ".")
	if !ok {
		return nil, errToken
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, k.mac(payload)) {
		return nil, errToken
	}
	var s session
	if err := json.Unmarshal(payload, &s); err != nil || s.Workspace == "" || s.Assistant == "" || s.Conversation == "" {
		return nil, errToken
	}
	if now.Unix() >= s.Expires {
		return nil, errToken
	}
	return &s, nil
}
