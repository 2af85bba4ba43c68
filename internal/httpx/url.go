package httpx

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/fault"
)

// CheckURL refuses a request URL whose path or query holds text Parley
// cannot store or search for: NUL characters and bytes that are not UTF-8
// (PostgreSQL refuses both, SQLite would not, so the stores would answer
// differently), and a query string that does not decode.
func CheckURL(u *url.URL) error {
	if !cleanText(u.Path) {
		return fault.New(fault.CodeMalformed, "the URL path must be UTF-8 text without NUL characters")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fault.New(fault.CodeMalformed, "the query string is malformed: %v", err)
	}
	return checkValues(q, "query parameter")
}

// CheckForm refuses form fields (names or values) holding NUL characters
// or bytes that are not UTF-8, for the reasons CheckURL gives: a form is
// not JSON, so nothing else has checked its text.
func CheckForm(form url.Values) error {
	return checkValues(form, "form field")
}

func checkValues(vs url.Values, what string) error {
	for name, values := range vs {
		if !cleanText(name) {
			return fault.New(fault.CodeMalformed, "%s names must be UTF-8 text without NUL characters", what)
		}
		for _, val := range values {
			if !cleanText(val) {
				return fault.New(fault.CodeMalformed, "%s %s must be UTF-8 text without NUL characters", what, name)
			}
		}
	}
	return nil
}

// cleanText reports whether s is UTF-8 without NUL characters.
func cleanText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
