// Package page implements keyset pagination: opaque cursors that name the
// last row seen, so a page costs the same at any depth and stays stable
// while new rows arrive.
package page

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

// Limits of per_page.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Cursor is a position between two rows of an ordered list.
type Cursor struct {
	// Sort names the ordering the cursor was made for; a cursor is only
	// valid with the same ordering.
	Sort string `json:"s,omitempty"`
	// Value is the sort key of the row, when it is not the row's key.
	Value int64 `json:"v,omitempty"`
	// Key identifies the row and breaks ties.
	Key string `json:"k"`
	// Seq is a numeric row key, used where rows have one.
	Seq int64 `json:"q,omitempty"`
	// Before is true for a cursor that pages backwards (prev_cursor).
	Before bool `json:"b,omitempty"`
}

// ErrBadCursor is returned for a cursor that was not made by this
// instance for the same list, or was made for another ordering.
var ErrBadCursor = errors.New("invalid cursor")

// Codec turns cursors into opaque, tamper-evident strings. Each string is
// the cursor's JSON followed by an HMAC-SHA256 tag over the list's scope
// and that JSON, so a cursor cannot be forged, edited, or replayed against
// another list, filter, ordering or workspace: Decode refuses all of
// those with ErrBadCursor. Every node of one installation must use the
// same key for cursors to work across nodes.
type Codec struct {
	key []byte
}

// tagSize is the length of the HMAC tag kept in a cursor: 128 bits.
const tagSize = 16

// NewCodec returns a codec keyed with secret. The key it uses is derived
// from secret for this purpose only, so cursors never reveal anything
// about a key used elsewhere.
func NewCodec(secret []byte) *Codec {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("parley cursor v1"))
	return &Codec{key: m.Sum(nil)}
}

func (k *Codec) tag(scope string, payload []byte) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(scope))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)[:tagSize]
}

// Encode renders a cursor of the list named by scope as an opaque
// URL-safe string. scope must name everything the cursor is only valid
// for: the workspace, the list (and its parent, such as a conversation),
// the filters and the ordering.
func (k *Codec) Encode(scope string, c Cursor) string {
	payload, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(k.tag(scope, payload))
}

// Decode checks and parses a cursor that Encode made for the same scope.
func (k *Codec) Decode(scope, s string) (*Cursor, error) {
	p64, t64, ok := strings.Cut(s, ".")
	if !ok || len(s) > maxCursorLen {
		return nil, ErrBadCursor
	}
	payload, err := base64.RawURLEncoding.DecodeString(p64)
	if err != nil {
		return nil, ErrBadCursor
	}
	tag, err := base64.RawURLEncoding.DecodeString(t64)
	if err != nil || !hmac.Equal(tag, k.tag(scope, payload)) {
		return nil, ErrBadCursor
	}
	var c Cursor
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || (c.Key == "" && c.Seq == 0) {
		return nil, ErrBadCursor
	}
	return &c, nil
}

// maxCursorLen bounds what Decode reads; real cursors are far shorter.
const maxCursorLen = 1024

// Request asks for one page.
type Request struct {
	Limit  int
	Cursor *Cursor // nil for the first page
}

// Backward reports whether the page is read backwards from the cursor.
func (r Request) Backward() bool { return r.Cursor != nil && r.Cursor.Before }

// Result is one page of rows and the cursors around it.
type Result[T any] struct {
	Items []T
	Next  *Cursor
	Prev  *Cursor
}

// Build turns the rows a store fetched into a page. Stores fetch up to
// Limit+1 rows in the direction of travel (reversed for a backward page,
// i.e. nearest the cursor first); the extra row only tells whether more
// rows exist. keyOf returns the cursor that points at a row.
func Build[T any](rows []T, req Request, keyOf func(T) Cursor) Result[T] {
	more := len(rows) > req.Limit
	if more {
		rows = rows[:req.Limit]
	}
	backward := req.Backward()
	if backward {
		slices.Reverse(rows)
	}
	res := Result[T]{Items: rows}
	if len(rows) == 0 {
		return res
	}
	first, last := keyOf(rows[0]), keyOf(rows[len(rows)-1])
	first.Before = true
	if backward {
		if more {
			res.Prev = &first
		}
		res.Next = &last
	} else {
		if more {
			res.Next = &last
		}
		if req.Cursor != nil {
			res.Prev = &first
		}
	}
	return res
}

// Slice is what a store would fetch for req from rows already held in
// memory and sorted by ascending key: up to Limit+1 rows after (or, paging
// backwards, before) the cursor's Key, in the direction of travel. It
// serves short lists that are read whole, with the same cursors as lists
// paged in the database.
func Slice[T any](rows []T, req Request, key func(T) string) []T {
	start, end := 0, len(rows)
	if req.Cursor != nil {
		at, found := slices.BinarySearchFunc(rows, req.Cursor.Key, func(r T, k string) int { return strings.Compare(key(r), k) })
		if req.Backward() {
			end = at
		} else {
			start = at
			if found {
				start++
			}
		}
	}
	out := slices.Clone(rows[start:end])
	if req.Backward() {
		slices.Reverse(out)
	}
	if len(out) > req.Limit+1 {
		out = out[:req.Limit+1]
	}
	return out
}
