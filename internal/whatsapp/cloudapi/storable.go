package cloudapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/conversation"
)

// Meta passes on what customers type, into names and usernames as much as
// into messages, and a JSON string may carry any code point, NUL included
// (PostgreSQL stores no NUL in text and rejects invalid UTF-8): a delivery
// refused for one such character would be refused at every retry, and
// every other change in it with it. So every string a delivery yields is
// made storable (conversation.StorableText) as it is parsed.

// storable makes every string field reachable from v storable, in place.
func storable(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			storable(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				storable(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // raw bytes (json.RawMessage): not text
		}
		for i := range v.Len() {
			storable(v.Index(i))
		}
	case reflect.String:
		if v.CanSet() {
			if s := v.String(); conversation.StorableText(s) != s {
				v.SetString(conversation.StorableText(s))
			}
		}
	}
}

// storableJSON returns raw, a JSON value, with every string in it (keys
// included) storable, or raw itself when it needs nothing.
func storableJSON(raw json.RawMessage) json.RawMessage {
	// Decoding yields valid UTF-8 strings (the decoder replaces invalid
	// bytes and lone surrogates), so a NUL, which only the escape \u0000
	// can carry, is all it could change; valid raw without one is kept
	// as it is without decoding it.
	if utf8.Valid(raw) && !bytes.Contains(raw, []byte(`\u0000`)) {
		return raw
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return raw // not parsed here; the caller has refused it already
	}
	clean, changed := storableAny(v)
	if !changed && conversation.StorableText(string(raw)) == string(raw) {
		return raw
	}
	out, err := json.Marshal(clean)
	if err != nil {
		return raw
	}
	return out
}

// storableAny makes the strings of a decoded JSON value storable.
func storableAny(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		s := conversation.StorableText(x)
		return s, s != x
	case []any:
		changed := false
		for i := range x {
			var c bool
			x[i], c = storableAny(x[i])
			changed = changed || c
		}
		return x, changed
	case map[string]any:
		out := make(map[string]any, len(x))
		changed := false
		for k, e := range x {
			ck := conversation.StorableText(k)
			ce, c := storableAny(e)
			changed = changed || c || ck != k
			out[ck] = ce
		}
		return out, changed
	}
	return v, false
}
