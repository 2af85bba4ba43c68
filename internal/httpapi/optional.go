package httpapi

import (
	"bytes"
	"encoding/json"

	"github.com/parley-dev/parley/internal/fault"
)

// optional is a field of a request body that tells "left out" from "null"
// from a value, which plain Go fields cannot: Set is true when the field
// was present, Null when it was null. It carries the one rule for null
// across the API: a left-out field is unchanged, null resets an optional
// field to its default, and null on a required field is refused.
type optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON records that the field was present, and decodes its
// value as strictly as the body around it (unknown fields refused).
func (o *optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(&o.Value)
}

// nullRefused is the problem with null on a required field.
const nullRefused = "cannot be null: leave it out to keep its value"

// put applies an optional field to dst: a value replaces it, null resets
// it to def, and a left-out field leaves it.
func (o optional[T]) put(dst *T, def T) {
	switch {
	case !o.Set:
	case o.Null:
		*dst = def
	default:
		*dst = o.Value
	}
}

// require applies a required field to dst: a value replaces it, a
// left-out field leaves it, and null is refused, since a required field
// has no default to go back to.
func (o optional[T]) require(field string, dst *T, v *fault.Validation) {
	switch {
	case !o.Set:
	case o.Null:
		v.Add(field, "%s", nullRefused)
	default:
		*dst = o.Value
	}
}

// ptr returns a required field as a pointer for a patch: nil when it was
// left out (or refused as null).
func (o optional[T]) ptr(field string, v *fault.Validation) *T {
	if !o.Set {
		return nil
	}
	if o.Null {
		v.Add(field, "%s", nullRefused)
		return nil
	}
	val := o.Value
	return &val
}

// textPatch returns an optional text field as a patch takes it: nil when
// left out, and "" for null, since empty is every optional text's default.
func textPatch(o optional[string]) *string {
	if !o.Set {
		return nil
	}
	val := o.Value // "" after null
	return &val
}
