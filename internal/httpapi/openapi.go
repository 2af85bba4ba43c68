package httpapi

import (
	"bytes"
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.1 description of this API. It is kept
// by hand next to the handlers, and the API tests check every real
// response against it (internal/apptest), so it cannot drift from them.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns a copy of the OpenAPI 3.1 document that
// GET /api/v1/openapi.json serves.
func OpenAPI() []byte { return bytes.Clone(openAPIDocument) }

// Router is what Register adds routes to: an *http.ServeMux in the
// server, a recorder in the test that checks that every route is
// documented.
type Router interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// serveOpenAPI answers with the document. It needs no API key: clients
// are generated from it before anyone has one.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPIDocument)
}
