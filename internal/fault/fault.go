// Package fault defines the errors that Parley's services return to their
// callers. Each carries a stable machine code; the HTTP layer maps codes to
// status codes in one place, so services never think in HTTP terms.
package fault

import (
	"errors"
	"fmt"
)

// Stable machine codes. They appear in API problem responses as "code" and
// must never change meaning once released.
const (
	CodeValidation    = "validation_failed"
	CodeNotFound      = "not_found"
	CodeConflict      = "conflict"
	CodeUnauthorized  = "unauthorized"
	CodeForbidden     = "forbidden"
	CodeMalformed     = "malformed_request"
	CodeInvalidCursor = "invalid_cursor"
	// CodeCursorExpired: a resume point older than what is still kept.
	CodeCursorExpired    = "cursor_expired"
	CodeTooLarge         = "payload_too_large"
	CodeRateLimited      = "rate_limited"
	CodeWindowClosed     = "window_closed"
	CodeConversationOver = "conversation_ended"
	CodeUnavailable      = "service_unavailable"
	// CodeQueryTimeout: a read ran out of its time budget and was stopped.
	CodeQueryTimeout     = "query_timeout"
	CodeModelUnavailable = "model_unavailable"
	CodeModelFailed      = "model_failed"
	CodeModelTimeout     = "model_timeout"
	// Model failures that trying again will not fix.
	CodeContextLength        = "context_length_exceeded"
	CodeContentFiltered      = "content_filtered"
	CodeProviderAuth         = "provider_auth"
	CodeProviderQuota        = "provider_quota"
	CodeUnsupportedParameter = "unsupported_parameter"
	CodeInternal             = "internal_error"
	// WhatsApp: a template that Meta has not approved cannot be sent; a
	// recipient that is no phone number cannot be reached.
	CodeTemplateNotApproved = "template_not_approved"
	CodeInvalidPhone        = "invalid_phone"
	// CodeChannelFailed: the channel's provider (Meta's Graph API)
	// refused or failed a request made on the caller's behalf.
	CodeChannelFailed = "channel_failed"
	// CodeUnsupportedMedia: a body of a media type the endpoint does not
	// take (the widget's recordings).
	CodeUnsupportedMedia = "unsupported_media_type"
)

// FieldError names one invalid input field and says what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a failure with a stable code and a message fit to show a user.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	Err     error // optional cause, never shown to clients
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error with the given code and formatted message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound reports that a resource of the named kind does not exist in the
// caller's workspace.
func NotFound(kind string) *Error {
	return &Error{Code: CodeNotFound, Message: kind + " not found"}
}

// Code returns the code of err, or CodeInternal when err is not a *Error.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Is reports whether err carries the given code.
func Is(err error, code string) bool { return err != nil && Code(err) == code }

// Validation collects field errors; its Err method returns nil while empty,
// so callers can check every field and report all problems at once.
type Validation struct {
	Fields []FieldError
}

// Add records a problem with a field.
func (v *Validation) Add(field, format string, args ...any) {
	v.Fields = append(v.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns the collected problems as one validation error, or nil.
func (v *Validation) Err() error {
	if len(v.Fields) == 0 {
		return nil
	}
	msg := v.Fields[0].Field + ": " + v.Fields[0].Message
	if len(v.Fields) > 1 {
		msg = fmt.Sprintf("%s (and %d more)", msg, len(v.Fields)-1)
	}
	return &Error{Code: CodeValidation, Message: msg, Fields: v.Fields}
}

// Invalid returns a validation error about a single field.
func Invalid(field, format string, args ...any) error {
	var v Validation
	v.Add(field, format, args...)
	return v.Err()
}

// permanentError marks a failure that doing the same work again cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that retrying cannot fix (a refused
// API key, a request the provider rejects as invalid): background work
// that fails so is given up at once instead of being run, and billed,
// again and again. The services decide what is permanent; the job layer
// only reads the mark.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
