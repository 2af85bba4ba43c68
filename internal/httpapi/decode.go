package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/parley-dev/parley/internal/fault"
)

// Body size limits.
const (
	defaultBodyLimit   = 1 << 20 // 1 MiB
	assistantBodyLimit = 8 << 20 // knowledge texts are large
)

// decode reads a JSON object from the request body into dst: exactly one
// object, no unknown fields, within limit bytes. Its errors say which rule
// was broken: malformed JSON and unknown fields are 400, a body over the
// limit is 413 and a value of the wrong type is 422.
func decode(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return fault.New(fault.CodeMalformed, "the body must be JSON sent as Content-Type: application/json, not %q", ct)
		}
	}
	// The body's read deadline is set for every request, from the
	// handler's start to the body's end, around the whole handler tree
	// (app.bodyDeadline): lifting it here would let a client that sends a
	// bad start and then nothing hold the connection forever.
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return fault.New(fault.CodeMalformed, "the body must hold a single JSON object")
		}
		return nil
	}
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		fieldErr  *fault.Error
	)
	switch {
	case errors.As(err, &maxErr):
		return fault.New(fault.CodeTooLarge, "the body is larger than the limit of %d bytes", limit)
	case errors.As(err, &fieldErr):
		return err
	case errors.As(err, &syntaxErr):
		return fault.New(fault.CodeMalformed, "malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.Is(err, io.EOF):
		return fault.New(fault.CodeMalformed, "the body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fault.New(fault.CodeMalformed, "malformed JSON: the body ends too early")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return fault.New(fault.CodeMalformed, "the body must be a JSON object")
		}
		return fault.Invalid(field, "must be %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return fault.New(fault.CodeMalformed, "unknown field %s", name)
	}
	return &fault.Error{Code: fault.CodeMalformed, Message: "the body could not be read as JSON", Err: err}
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "float64", "float32", "uint", "uint64":
		return "a number"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "of another type"
}
