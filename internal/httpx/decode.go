package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/fault"
)

// maxSafeInteger is the largest integer an IEEE 754 double holds exactly
// (2^53-1). RFC 7493 (I-JSON) limits interoperable integers to it: a
// larger one would silently change in a float64 variable, or in any
// JavaScript client reading it back.
const maxSafeInteger = 1<<53 - 1

// Decode reads a JSON object from the request body into dst: exactly one
// object, UTF-8, no unknown fields, within limit bytes. Its errors say which
// rule was broken: malformed JSON, a body that is not UTF-8 and unknown
// fields are 400, a body over the limit is 413, and a value of the wrong
// type, a string holding NUL or a number a double cannot hold exactly is 422
// naming the field. The limit is the caller's: each endpoint knows how
// large its bodies may be.
func Decode(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	body, err := ReadBody(w, r, limit)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return fault.New(fault.CodeMalformed, "the body is empty; a JSON object is required")
	}
	return decodeJSON(r, body, dst)
}

// DecodeOptional is Decode for endpoints whose body may be left out: an
// empty body leaves dst as it is, anything else must be a valid object.
func DecodeOptional(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	body, err := ReadBody(w, r, limit)
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return err
	}
	return decodeJSON(r, body, dst)
}

// ReadBody reads the whole body, up to limit bytes: over it is 413
// payload_too_large.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	// The body's read deadline is set around the whole handler tree, from
	// the request's start to the body's end (BodyDeadline): lifting
	// it here would let a client that sends a bad start and then nothing
	// hold the connection forever.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, fault.New(fault.CodeTooLarge, "the body is larger than the limit of %d bytes", limit)
	case err != nil:
		return nil, &fault.Error{Code: fault.CodeMalformed, Message: "the body could not be read", Err: err}
	}
	return body, nil
}

// decodeJSON decodes a non-empty body into dst and then checks the text it
// carried (see checkJSONText).
func decodeJSON(r *http.Request, body []byte, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return fault.New(fault.CodeMalformed, "the body must be JSON sent as Content-Type: application/json, not %q", ct)
		}
	}
	// encoding/json would quietly turn bytes that are not UTF-8 into
	// U+FFFD, storing something the client never sent.
	if !utf8.Valid(body) {
		return fault.New(fault.CodeMalformed, "the body is not valid UTF-8 (at byte %d); JSON must be sent as UTF-8", invalidUTF8At(body))
	}
	// A null, array or scalar would decode into a struct without an error
	// and leave it untouched; only an object is a request.
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); trimmed[0] != '{' {
		return fault.New(fault.CodeMalformed, "the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return fault.New(fault.CodeMalformed, "the body must hold a single JSON object")
		}
		return checkJSONText(body)
	}
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		fieldErr  *fault.Error
	)
	switch {
	case errors.As(err, &fieldErr):
		return err
	case errors.As(err, &syntaxErr):
		return fault.New(fault.CodeMalformed, "malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fault.New(fault.CodeMalformed, "malformed JSON: the body ends too early")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return fault.New(fault.CodeMalformed, "the body must be a JSON object")
		}
		return fault.Invalid(typeErrorPath(body, typeErr), "%s", typeErrorMessage(typeErr))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return fault.New(fault.CodeMalformed, "unknown field %s", name)
	}
	return &fault.Error{Code: fault.CodeMalformed, Message: "the body could not be read as JSON", Err: err}
}

// invalidUTF8At returns the offset of the first byte of b that is not UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// checkJSONText refuses, as 422s naming each field, what a valid JSON body
// may carry but Parley must not store: the NUL character, which
// PostgreSQL's text cannot hold (SQLite would keep it, so the two stores
// would disagree), and numbers a float64 cannot hold: integers beyond
// ±(2^53-1), which would be rounded, and numbers beyond a double's range.
func checkJSONText(body []byte) error {
	var v fault.Validation
	seen := map[string]bool{}
	add := func(field, msg string) {
		if !seen[field] {
			seen[field] = true
			v.Add(field, "%s", msg)
		}
	}
	err := walkJSON(body, func(path string, tok json.Token, key bool) error {
		switch x := tok.(type) {
		case string:
			if strings.IndexByte(x, 0) < 0 {
				return nil
			}
			if key {
				add(rootName(path), "names must not contain the NUL character (U+0000)")
			} else {
				add(rootName(path), "must not contain the NUL character (U+0000)")
			}
		case json.Number:
			if msg := numberProblem(string(x)); msg != "" {
				add(rootName(path), msg)
			}
		}
		return nil
	})
	if err != nil {
		return &fault.Error{Code: fault.CodeMalformed, Message: "the body could not be read as JSON", Err: err}
	}
	return v.Err()
}

// rootName names the body itself when a problem is not inside a field.
func rootName(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// numberProblem says what is wrong with a JSON number literal that a
// float64 would not hold exactly, or returns "".
func numberProblem(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		n, err := strconv.ParseInt(lit, 10, 64)
		if err != nil || n > maxSafeInteger || n < -maxSafeInteger {
			return fmt.Sprintf("must be an integer from %d to %d: larger integers lose precision (send them as strings)", -maxSafeInteger, maxSafeInteger)
		}
		return ""
	}
	if _, err := strconv.ParseFloat(lit, 64); err != nil {
		return "is beyond the range of a number (about ±1.8e308)"
	}
	return ""
}

// errStopWalk ends a walkJSON early.
var errStopWalk = errors.New("stop")

// walkJSON calls visit for every value of a valid JSON document, and for
// every object key (with key set and the object's path), in document
// order. Paths use the API's notation: "customer.phone", "ids[0]",
// "variables[1].name"; the document itself is "". Numbers arrive as
// json.Number, so their literal text is kept. visit returning errStopWalk
// ends the walk without an error.
func walkJSON(data []byte, visit func(path string, tok json.Token, key bool) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	err := walkValue(dec, "", visit)
	if errors.Is(err, errStopWalk) {
		return nil
	}
	return err
}

func walkValue(dec *json.Decoder, path string, visit func(string, json.Token, bool) error) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if err := visit(path, tok, false); err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	for i := 0; dec.More(); i++ {
		child := path + "[" + strconv.Itoa(i) + "]"
		if delim == '{' {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			name, _ := k.(string)
			if err := visit(path, name, true); err != nil {
				return err
			}
			child = name
			if path != "" {
				child = path + "." + name
			}
		}
		if err := walkValue(dec, child, visit); err != nil {
			return err
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// typeErrorPath finds the full path of the value a type error is about.
// encoding/json names the struct fields on the way ("variables.name") but
// leaves out array indices and map keys, so the path is found again in
// the document: the first value at or under those fields, ignoring
// indices, of the kind (and for numbers the literal) the error reports
// ("variables[1].name").
func typeErrorPath(body []byte, e *json.UnmarshalTypeError) string {
	found := e.Field
	_ = walkJSON(body, func(path string, tok json.Token, key bool) error {
		if p := stripIndices(path); key || (p != e.Field && !strings.HasPrefix(p, e.Field+".")) || !tokenIs(tok, e.Value) {
			return nil
		}
		found = path
		return errStopWalk
	})
	return found
}

// stripIndices removes array indices from a path: "a[1].b[0]" → "a.b".
func stripIndices(path string) string {
	if !strings.Contains(path, "[") {
		return path
	}
	var b strings.Builder
	depth := 0
	for _, r := range path {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// tokenIs reports whether tok is the kind of JSON value that
// UnmarshalTypeError.Value describes ("string", "number", "number 1.5",
// "bool", "array", "object").
func tokenIs(tok json.Token, value string) bool {
	switch x := tok.(type) {
	case string:
		return value == "string"
	case json.Number:
		return value == "number" || value == "number "+string(x)
	case bool:
		return value == "bool"
	case json.Delim:
		return (x == '[' && value == "array") || (x == '{' && value == "object")
	}
	return false
}

// typeErrorMessage says what a field must be, and what it was instead.
func typeErrorMessage(e *json.UnmarshalTypeError) string {
	lit, isNumber := strings.CutPrefix(e.Value, "number ")
	switch e.Type.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := e.Type.Bits()
		lo, hi := int64(-1)<<(bits-1), int64(1)<<(bits-1)-1
		return integerMessage(e.Value, lit, isNumber, float64(lo), float64(hi), fmt.Sprintf("from %d to %d", lo, hi))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		hi := ^uint64(0) >> (64 - e.Type.Bits())
		return integerMessage(e.Value, lit, isNumber, 0, float64(hi), fmt.Sprintf("from 0 to %d", hi))
	case reflect.Float32, reflect.Float64:
		if isNumber {
			return "is beyond the range of a number (about ±1.8e308)"
		}
	}
	return fmt.Sprintf("must be %s, not %s", jsonKind(e.Type.Kind()), describeJSON(e.Value))
}

// integerMessage explains why a JSON value is not an integer of a Go type
// holding lo to hi (bounds says so in words). encoding/json refuses a
// fraction, an exponent and a value out of range alike; the client needs
// to know which.
func integerMessage(value, lit string, isNumber bool, lo, hi float64, bounds string) string {
	if !isNumber {
		return "must be an integer, not " + describeJSON(value)
	}
	f, err := strconv.ParseFloat(lit, 64)
	switch {
	case err == nil && f != math.Trunc(f):
		return "must be an integer, not " + lit
	case err == nil && f >= lo && f <= hi && strings.ContainsAny(lit, ".eE"):
		return "must be an integer written with digits only, not " + lit
	}
	return "must be an integer " + bounds
}

// describeJSON names the JSON value an UnmarshalTypeError found.
func describeJSON(value string) string {
	switch value {
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "true or false"
	case "array":
		return "an array"
	case "object":
		return "an object"
	}
	if lit, ok := strings.CutPrefix(value, "number "); ok {
		return lit
	}
	return value
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	}
	return "of another type"
}
