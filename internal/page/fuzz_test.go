package page

import "testing"

// FuzzDecode feeds arbitrary cursors (they come from query strings) to
// Decode: it must never panic, and what it accepts must round-trip.
func FuzzDecode(f *testing.F) {
	k := NewCodec([]byte("fuzz key"))
	f.Add(k.Encode("scope", Cursor{Sort: "created_at:desc", Value: 1700000000000, Seq: 42, Key: "conv_x"}))
	f.Add("zzz")
	f.Add("")
	f.Add("eyJrIjoieCIsInEiOjF9")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := k.Decode("scope", s)
		if err != nil {
			return
		}
		again, err := k.Decode("scope", k.Encode("scope", *c))
		if err != nil || *again != *c {
			t.Fatalf("round trip of %q: %+v vs %+v (%v)", s, c, again, err)
		}
	})
}
