package httpx

import (
	"net/http/httptest"
	"testing"
)

// TestPrefersEventStream: the stream is chosen only when the client names
// it, with a weight above zero and not below JSON's.
func TestPrefersEventStream(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                      false,
		"*/*":                   false,
		"text/*":                false,
		"application/json":      false,
		"text/event-stream":     true,
		"TEXT/Event-Stream":     true,
		"text/event-stream;q=0": false,
		"text/event-stream;q=0.5, application/json":            false,
		"text/event-stream, application/json;q=0.9":            true,
		"application/json;q=0.5, text/event-stream;q=0.5":      true,
		"text/event-stream;q=1.5":                              false, // invalid weight: ignored
		"text/event-stream;q=0.1234":                           false,
		"text/event-stream;q=0.2, */*;q=0.1":                   true,
		"text/event-stream;q=0.2, */*;q=0.3":                   false,
		"text/event-stream;q=0.3;level=1, application/*;q=0.2": true,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		if got := PrefersEventStream(r); got != want {
			t.Errorf("Accept %q: PrefersEventStream = %v, want %v", accept, got, want)
		}
	}
}
