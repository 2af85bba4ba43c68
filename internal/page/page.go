// Package page implements keyset pagination: opaque cursors that name the
// last row seen, so a page costs the same at any depth and stays stable
// while new rows arrive.
package page

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
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

// ErrBadCursor is returned for a cursor that was not made by Encode or was
// made for another ordering.
var ErrBadCursor = errors.New("invalid cursor")

// Encode renders a cursor as an opaque URL-safe string.
func Encode(c Cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode parses a cursor made by Encode.
func Decode(s string) (*Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrBadCursor
	}
	var c Cursor
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || (c.Key == "" && c.Seq == 0) {
		return nil, ErrBadCursor
	}
	return &c, nil
}

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
