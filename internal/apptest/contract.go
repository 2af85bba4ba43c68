package apptest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	valerrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/responses"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/parley-dev/parley/internal/httpapi"
)

// Contract checks real HTTP exchanges against an OpenAPI 3.1 document, so
// the document the API serves cannot drift from what the API does. It is
// strict: a response must have a documented status and media type, its
// body must match the schema and carry no property the schema does not
// declare, and a request the server accepted (2xx) must be one the
// document allows.
type Contract struct {
	mu        sync.Mutex // the validator's caches are not meant for concurrent use
	doc       *v3.Document
	validator validator.Validator
	options   *config.ValidationOptions
}

// validationOptions are the checks every exchange gets. Headers every
// response carries (X-Request-Id, ignored by default, and
// X-Content-Type-Options) are described once in the document's
// introduction instead of under each response.
func validationOptions() []config.Option {
	return []config.Option{config.WithStrictMode(), config.WithFormatAssertions(),
		config.WithStrictIgnoredHeadersExtra("x-content-type-options")}
}

// NewContract parses an OpenAPI document and checks that it is valid
// OpenAPI (3.1 here: the version comes from the document itself).
func NewContract(document []byte) (*Contract, error) {
	d, err := libopenapi.NewDocument(document)
	if err != nil {
		return nil, fmt.Errorf("parse the OpenAPI document: %w", err)
	}
	m, err := d.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("build the OpenAPI model: %w", err)
	}
	v, errs := validator.NewValidator(d, validationOptions()...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("load the OpenAPI document: %w", errors.Join(errs...))
	}
	if ok, errs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", describe(errs))
	}
	return &Contract{doc: &m.Model, validator: v, options: config.NewValidationOptions(validationOptions()...)}, nil
}

// apiContract is the contract of the document the API serves, parsed once
// for all tests.
var apiContract = sync.OnceValues(func() (*Contract, error) { return NewContract(httpapi.OpenAPI()) })

// APIContract returns the contract of the API's own OpenAPI document.
func APIContract() (*Contract, error) { return apiContract() }

// Check returns how an exchange breaks the contract, or nil. req is the
// request as sent, with reqBody its body; status, header and body are the
// response. Paths outside /api/ that the document does not describe are
// not its business and pass; an undocumented path or method under /api/
// must get the catch-all 404 problem.
func (c *Contract) Check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	op := c.operation(req)
	if op == nil {
		if !strings.HasPrefix(req.URL.Path, "/api/") {
			return nil
		}
		if status != http.StatusNotFound {
			return fmt.Errorf("%s %s is not in the OpenAPI document, yet it answered %d: document the route", req.Method, req.URL.Path, status)
		}
		return c.checkNotFound(req, header, body)
	}
	var problems []error
	check := func(b []byte) error {
		resp := &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(bytes.NewReader(b)), Request: req}
		defer resp.Body.Close()
		if _, errs := c.validator.ValidateHttpResponse(req, resp); len(errs) > 0 {
			return describe(errs)
		}
		return nil
	}
	mediaType, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	switch {
	case op.OperationId == selfOperation:
		// Its schema says only "an object"; what the body must be is
		// checked in full instead: a valid OpenAPI document.
		if c.mediaType(op, status, mediaType) == nil {
			problems = append(problems, fmt.Errorf("%d %s is not documented for this operation", status, mediaType))
		} else if _, err := NewContract(body); err != nil {
			problems = append(problems, err)
		}
	case mediaType == "text/event-stream":
		if err := check(nil); err != nil {
			problems = append(problems, err)
		}
		problems = append(problems, c.checkEvents(req, op, status, body)...)
	case mediaType == "application/x-ndjson":
		// Each line is one document of the media type's schema.
		lines := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
		if len(body) == 0 {
			lines = nil
			if c.mediaType(op, status, mediaType) == nil {
				problems = append(problems, fmt.Errorf("%d %s is not documented for this operation", status, mediaType))
			}
		}
		for i, line := range lines {
			if err := check(line); err != nil {
				problems = append(problems, fmt.Errorf("line %d: %w", i+1, err))
			}
		}
	default:
		if err := check(body); err != nil {
			problems = append(problems, err)
		}
	}
	if status >= 200 && status < 300 {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
		if _, errs := c.validator.ValidateHttpRequestSync(r); len(errs) > 0 {
			problems = append(problems, fmt.Errorf("the server accepted (%d) a request the document does not allow: %w", status, describe(errs)))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s %s → %d does not match the OpenAPI document:\n%w", req.Method, req.URL.Path, status, errors.Join(problems...))
	}
	return nil
}

// operation returns the documented operation for the request, or nil.
func (c *Contract) operation(req *http.Request) *v3.Operation {
	item, errs, _ := paths.FindPath(req, c.doc, c.options)
	if item == nil || len(errs) > 0 {
		return nil
	}
	return item.GetOperations().GetOrZero(strings.ToLower(req.Method))
}

// mediaType returns the documented media type of a response, or nil.
func (c *Contract) mediaType(op *v3.Operation, status int, mediaType string) *v3.MediaType {
	if op.Responses == nil {
		return nil
	}
	r := op.Responses.Codes.GetOrZero(strconv.Itoa(status))
	if r == nil {
		return nil
	}
	return r.Content.GetOrZero(mediaType)
}

// checkNotFound checks the catch-all answer to an undocumented route
// against the NotFound problem response.
func (c *Contract) checkNotFound(req *http.Request, header http.Header, body []byte) error {
	r := c.doc.Components.Responses.GetOrZero("NotFound")
	if r == nil {
		return errors.New("the document has no NotFound response in components")
	}
	mt := r.Content.GetOrZero("application/problem+json")
	if ct := header.Get("Content-Type"); ct != "application/problem+json" {
		return fmt.Errorf("%s %s (no such route) answered 404 as %q, not application/problem+json", req.Method, req.URL.Path, ct)
	}
	if err := c.checkValue(req, http.StatusNotFound, mt.Schema.Schema(), body); err != nil {
		return fmt.Errorf("%s %s (no such route) → 404: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// checkValue validates one JSON value against a schema, strictly.
func (c *Contract) checkValue(req *http.Request, status int, schema *base.Schema, value []byte) error {
	resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(value)), Request: req}
	ok, errs := responses.ValidateResponseSchema(&responses.ValidateResponseSchemaInput{
		Request: req, Response: resp, Schema: schema, Version: 3.1,
		Options: []config.Option{config.WithExistingOpts(c.options)},
	})
	if !ok {
		return describe(errs)
	}
	return nil
}

// selfOperation is the operationId of GET /api/v1/openapi.json.
const selfOperation = "getOpenAPI"

// sseEventsExtension maps each server-sent event name of a
// text/event-stream media type to the schema of its data.
const sseEventsExtension = "x-sse-events"

// checkEvents checks a server-sent event stream: every event must be one
// the media type's x-sse-events names, and its data must match that
// event's schema.
func (c *Contract) checkEvents(req *http.Request, op *v3.Operation, status int, body []byte) []error {
	mt := c.mediaType(op, status, "text/event-stream")
	if mt == nil {
		return nil // reported by the response validator already
	}
	node := mt.Extensions.GetOrZero(sseEventsExtension)
	if node == nil {
		return []error{fmt.Errorf("the text/event-stream response has no %s", sseEventsExtension)}
	}
	var refs map[string]struct {
		Ref string `yaml:"$ref"`
	}
	if err := node.Decode(&refs); err != nil {
		return []error{fmt.Errorf("read %s: %w", sseEventsExtension, err)}
	}
	events, err := parseEvents(body)
	if err != nil {
		return []error{err}
	}
	var problems []error
	for i, e := range events {
		ref, ok := refs[e.name]
		if !ok {
			problems = append(problems, fmt.Errorf("event %d is %q, which %s does not name", i+1, e.name, sseEventsExtension))
			continue
		}
		name, ok := strings.CutPrefix(ref.Ref, "#/components/schemas/")
		proxy := c.doc.Components.Schemas.GetOrZero(name)
		if !ok || proxy == nil {
			problems = append(problems, fmt.Errorf("%s.%s: %q is not a component schema", sseEventsExtension, e.name, ref.Ref))
			continue
		}
		if err := c.checkValue(req, status, proxy.Schema(), e.data); err != nil {
			problems = append(problems, fmt.Errorf("event %d (%s): %w", i+1, e.name, err))
		}
	}
	return problems
}

type event struct {
	name string
	data []byte
}

// parseEvents reads a server-sent event stream of one-line data fields.
func parseEvents(body []byte) ([]event, error) {
	var out []event
	cur := event{name: "message"}
	has := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if has {
				out = append(out, cur)
			}
			cur, has = event{name: "message"}, false
		case strings.HasPrefix(line, "event:"):
			cur.name, has = strings.TrimSpace(strings.TrimPrefix(line, "event:")), true
		case strings.HasPrefix(line, "data:"):
			if len(cur.data) > 0 {
				cur.data = append(cur.data, '\n')
			}
			cur.data, has = append(cur.data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")...), true
		case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "id:"), strings.HasPrefix(line, "retry:"):
			// Comments (heartbeats), resume ids and retry hints carry no data.
		default:
			return nil, fmt.Errorf("not a server-sent event line: %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the event stream: %w", err)
	}
	if has {
		return nil, errors.New("the event stream ends inside an event (no blank line after it)")
	}
	return out, nil
}

// describe turns validation errors into one readable error.
func describe(errs []*valerrors.ValidationError) error {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("  - " + e.Message)
		if e.Reason != "" && e.Reason != e.Message {
			b.WriteString(": " + e.Reason)
		}
		for _, f := range e.SchemaValidationErrors {
			loc := f.FieldPath
			if loc == "" {
				loc = "/" + strings.Join(f.InstancePath, "/")
			}
			fmt.Fprintf(&b, "\n      at %s: %s", loc, f.Reason)
		}
	}
	return errors.New(b.String())
}
