// Package ids makes the public identifiers of Parley's resources: a type
// prefix over a ULID, so ids sort by creation time and say what they name.
package ids

import (
	"crypto/rand"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Prefixes of public ids, one per resource type.
const (
	Workspace    = "ws"
	User         = "usr"
	APIKey       = "key"
	Assistant    = "asst"
	Conversation = "conv"
	Message      = "msg"
	ModelPrice   = "price"
	Sender       = "wa"
	Template     = "tpl"
	Webhook      = "whk"
	PublicKey    = "pub"
)

var (
	mu      sync.Mutex
	entropy = ulid.Monotonic(rand.Reader, 0)
)

// New returns a new id with the given prefix, e.g. "conv_01J…". Ids made in
// one process are strictly increasing even within one millisecond.
func New(prefix string) string {
	return NewAt(prefix, time.Now())
}

// NewAt returns a new id whose time part is t.
func NewAt(prefix string, t time.Time) string {
	mu.Lock()
	id := ulid.MustNew(ulid.Timestamp(t), entropy)
	mu.Unlock()
	return prefix + "_" + strings.ToLower(id.String())
}

// HasPrefix reports whether id looks like an id of the given type. It is a
// cheap syntactic check used to reject obviously wrong ids early.
func HasPrefix(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix+"_")
	if !ok || len(rest) != ulid.EncodedSize {
		return false
	}
	_, err := ulid.ParseStrict(strings.ToUpper(rest))
	return err == nil
}
