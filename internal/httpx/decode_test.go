package httpx

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/fault"
)

// TestDecode: each broken rule gets its own code, and a field problem
// names the field by its path in the body.
func TestDecode(t *testing.T) {
	type in struct {
		Name  string            `json:"name"`
		Count int32             `json:"count"`
		Tags  []struct{ N int } `json:"tags"`
	}
	for _, c := range []struct {
		body, contentType, code, field string
	}{
		{`{"name":"a","count":2}`, "application/json", "", ""},
		{`{"name":"a"}`, "application/problem+json", "", ""},
		{``, "", fault.CodeMalformed, ""},
		{`{"name":"a"`, "", fault.CodeMalformed, ""},
		{`[]`, "", fault.CodeMalformed, ""},
		{`{} {}`, "", fault.CodeMalformed, ""},
		{`{"other":1}`, "", fault.CodeMalformed, ""},
		{`{"name":"a"}`, "text/plain", fault.CodeMalformed, ""},
		{"{\"name\":\"\xff\"}", "", fault.CodeMalformed, ""},
		{`{"name":1}`, "", fault.CodeValidation, "name"},
		{`{"count":1.5}`, "", fault.CodeValidation, "count"},
		{`{"count":3000000000}`, "", fault.CodeValidation, "count"},
		{`{"tags":[{"N":1},{"N":"x"}]}`, "", fault.CodeValidation, "tags[1].N"},
		{`{"name":"a\u0000b"}`, "", fault.CodeValidation, "name"},
		{`{"name":"` + strings.Repeat("x", 100) + `"}`, "", fault.CodeTooLarge, ""},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		if c.contentType != "" {
			r.Header.Set("Content-Type", c.contentType)
		}
		var dst in
		err := Decode(httptest.NewRecorder(), r, 64, &dst)
		var fe *fault.Error
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: %v", c.body, err)
		case c.code == "":
		case !errors.As(err, &fe) || fe.Code != c.code:
			t.Errorf("%q: error %v, want code %s", c.body, err, c.code)
		case c.field != "" && (len(fe.Fields) != 1 || fe.Fields[0].Field != c.field):
			t.Errorf("%q: fields %+v, want %s", c.body, fe.Fields, c.field)
		}
	}
}

// TestDecodeOptional: an empty body is no body; anything else is decoded
// as strictly as by Decode.
func TestDecodeOptional(t *testing.T) {
	var dst struct{}
	if err := DecodeOptional(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader(" \n")), 64, &dst); err != nil {
		t.Errorf("empty body: %v", err)
	}
	if err := DecodeOptional(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader(`{"x":1}`)), 64, &dst); !fault.Is(err, fault.CodeMalformed) {
		t.Errorf("unknown field: %v", err)
	}
}

// TestCheckURL: NUL and bytes that are not UTF-8 are refused in the path
// and the query, as is a query that does not decode.
func TestCheckURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"/api/v1/x?q=caf%C3%A9": true,
		"/api/v1/x%00":          false,
		"/api/v1/%FF":           false,
		"/x?q=a%00":             false,
		"/x?q%00=a":             false,
		"/x?q=%FF":              false,
		"/x?q=%zz":              false,
	} {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckURL(u); (err == nil) != ok {
			t.Errorf("CheckURL(%s) = %v", raw, err)
		}
	}
}
