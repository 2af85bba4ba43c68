// Package httpx is the HTTP plumbing every HTTP surface of Parley shares
// (the REST API, the widget, webhooks, the dashboard): strict JSON
// decoding, RFC 9457 problem responses with the one map from error codes
// to statuses, content negotiation, server-sent events, request ids,
// logging and panic recovery, body deadlines, security headers and rate
// limiting. It knows HTTP, not Parley's domain: it imports no service,
// store or handler package, so each surface keeps only its handlers.
package httpx
