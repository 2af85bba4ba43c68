package page

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCodecRefusesForgedAndForeignCursors(t *testing.T) {
	k := NewCodec([]byte("instance secret"))
	c := Cursor{Sort: "created_at:desc", Value: 1700000000000, Seq: 42, Key: "conv_x"}
	s := k.Encode("ws_a /api/v1/conversations", c)
	got, err := k.Decode("ws_a /api/v1/conversations", s)
	if err != nil {
		t.Fatalf("own cursor refused: %v", err)
	}
	if diff := cmp.Diff(c, *got); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	payload, tag, _ := strings.Cut(s, ".")
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"k":"x","q":1}`))
	edited := []byte(`{"s":"created_at:desc","v":1700000000000,"k":"conv_x","q":41}`)
	bad := map[string]struct{ scope, cursor string }{
		"unsigned":        {"ws_a /api/v1/conversations", forged},
		"forged payload":  {"ws_a /api/v1/conversations", forged + "." + tag},
		"edited payload":  {"ws_a /api/v1/conversations", base64.RawURLEncoding.EncodeToString(edited) + "." + tag},
		"other workspace": {"ws_b /api/v1/conversations", s},
		"other list":      {"ws_a /api/v1/conversations/conv_y/messages", s},
		"other key":       {"ws_a /api/v1/conversations", NewCodec([]byte("another secret")).Encode("ws_a /api/v1/conversations", c)},
		"no tag":          {"ws_a /api/v1/conversations", payload},
		"empty tag":       {"ws_a /api/v1/conversations", payload + "."},
		"short tag":       {"ws_a /api/v1/conversations", payload + "." + tag[:10]},
		"not base64":      {"ws_a /api/v1/conversations", "!!!.???"},
		"too long":        {"ws_a /api/v1/conversations", strings.Repeat("a", 2000) + "." + tag},
	}
	for name, b := range bad {
		if _, err := k.Decode(b.scope, b.cursor); !errors.Is(err, ErrBadCursor) {
			t.Errorf("%s: Decode = %v, want ErrBadCursor", name, err)
		}
	}
}

func TestSlice(t *testing.T) {
	rows := []string{"a", "b", "c", "d", "e"}
	id := func(s string) string { return s }
	cases := []struct {
		name string
		req  Request
		want []string
	}{
		{"first page", Request{Limit: 2}, []string{"a", "b", "c"}},
		{"after b", Request{Limit: 2, Cursor: &Cursor{Key: "b"}}, []string{"c", "d", "e"}},
		{"after missing bb", Request{Limit: 2, Cursor: &Cursor{Key: "bb"}}, []string{"c", "d", "e"}},
		{"after e", Request{Limit: 2, Cursor: &Cursor{Key: "e"}}, []string{}},
		{"before d", Request{Limit: 2, Cursor: &Cursor{Key: "d", Before: true}}, []string{"c", "b", "a"}},
		{"before b", Request{Limit: 2, Cursor: &Cursor{Key: "b", Before: true}}, []string{"a"}},
	}
	for _, tc := range cases {
		got := Slice(rows, tc.req, id)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}
