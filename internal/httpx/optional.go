package httpx

import (
	"bytes"
	"encoding/json"

	"github.com/parley-dev/parley/internal/fault"
)

// Optional is a field of a request body that tells "left out" from "null"
// from a value, which plain Go fields cannot: Set is true when the field
// was present, Null when it was null. It carries the one rule for null
// across the API: a left-out field is unchanged, null resets an optional
// field to its default, and null on a required field is refused.
type Optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON records that the field was present, and decodes its
// value as strictly as the body around it (unknown fields refused).
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(&o.Value)
}

// NullRefused is the problem with null on a required field.
const NullRefused = "cannot be null: leave it out to keep its value"

// Put applies an optional field to dst: a value replaces it, null resets
// it to def, and a left-out field leaves it.
func (o Optional[T]) Put(dst *T, def T) {
	switch {
	case !o.Set:
	case o.Null:
		*dst = def
	default:
		*dst = o.Value
	}
}

// Require applies a required field to dst: a value replaces it, a
// left-out field leaves it, and null is refused, since a required field
// has no default to go back to.
func (o Optional[T]) Require(field string, dst *T, v *fault.Validation) {
	switch {
	case !o.Set:
	case o.Null:
		v.Add(field, "%s", NullRefused)
	default:
		*dst = o.Value
	}
}

// Ptr returns a required field as a pointer for a patch: nil when it was
// left out (or refused as null).
func (o Optional[T]) Ptr(field string, v *fault.Validation) *T {
	if !o.Set {
		return nil
	}
	if o.Null {
		v.Add(field, "%s", NullRefused)
		return nil
	}
	val := o.Value
	return &val
}
