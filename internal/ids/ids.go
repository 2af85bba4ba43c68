// Package ids makes the public identifiers of Parley's resources: a type
// prefix over a ULID, so ids sort by creation time and say what they name.
package ids

import (
	"crypto/rand"
	"fmt"
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
	Session      = "sess"
	// Thread, Rate and Unrouted are the WhatsApp channel's customer
	// threads, rate card rows and unrouted webhook changes.
	Thread   = "thr"
	Rate     = "rate"
	Unrouted = "unr"
)

var (
	mu      sync.Mutex
	entropy = ulid.Monotonic(rand.Reader, 0)
)

// NewAt returns a new id with the given prefix whose time part is t, e.g.
// "conv_01J…". There is deliberately no variant that reads the wall clock:
// callers pass their injected clock's time, so ids sort with the times
// stored beside them and tests can fix both. Ids made in one process with
// the same t are strictly increasing.
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

// Time returns the time an id was made at (its ULID's millisecond
// timestamp), so tests and tools can check which clock made it.
func Time(id string) (time.Time, error) {
	_, rest, ok := strings.Cut(id, "_")
	if !ok {
		return time.Time{}, fmt.Errorf("id %q has no prefix", id)
	}
	u, err := ulid.ParseStrict(strings.ToUpper(rest))
	if err != nil {
		return time.Time{}, fmt.Errorf("id %q: %w", id, err)
	}
	return ulid.Time(u.Time()).UTC(), nil
}
