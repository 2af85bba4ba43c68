package money

import (
	"encoding/json"
	"testing"
)

func TestParseAndString(t *testing.T) {
	cases := []struct {
		in   string
		want Money
		str  string
	}{
		{"0", 0, "0.000000000"},
		{"2.50", 2_500_000_000, "2.500000000"},
		{"0.000412500", 412_500, "0.000412500"},
		{".5", 500_000_000, "0.500000000"},
		{"-1.000000001", -1_000_000_001, "-1.000000001"},
		{"123456789", 123456789 * NanosPerUSD, "123456789.000000000"},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
		if got.String() != c.str {
			t.Errorf("%d.String() = %q, want %q", got, got.String(), c.str)
		}
	}
	for _, bad := range []string{"", ".", "1.2.3", "abc", "1e3", "0.0000000001", "99999999999999999999", " 1", "1,5", "-"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestJSON(t *testing.T) {
	b, _ := json.Marshal(struct{ C Money }{412_500})
	if string(b) != `{"C":"0.000412500"}` {
		t.Errorf("marshal = %s", b)
	}
	var m Money
	if err := json.Unmarshal([]byte(`"1.25"`), &m); err != nil || m != 1_250_000_000 {
		t.Errorf("unmarshal = %d, %v", m, err)
	}
	if err := json.Unmarshal([]byte(`1.25`), &m); err == nil {
		t.Error("a bare number was accepted")
	}
}

func TestCost(t *testing.T) {
	// 1234 tokens at $2.50/Mtok = $0.003085 exactly.
	if got := Cost(TokenPrice{1234, 2_500_000_000}); got != 3_085_000 {
		t.Errorf("cost = %d", got)
	}
	// 1 token at $0.075/Mtok = 75 nano exactly; 3 tokens at $0.0000005/Mtok rounds.
	if got := Cost(TokenPrice{1, 75_000_000}); got != 75 {
		t.Errorf("cost = %d", got)
	}
	if got := Cost(TokenPrice{1, 500_000}); got != 1 { // 0.5 nano rounds half up
		t.Errorf("half = %d", got)
	}
	if got := Cost(TokenPrice{1, 499_999}); got != 0 {
		t.Errorf("below half = %d", got)
	}
	// Parts are summed before the single rounding.
	if got := Cost(TokenPrice{1, 400_000}, TokenPrice{1, 400_000}); got != 1 {
		t.Errorf("summed rounding = %d", got)
	}
	// Huge values saturate instead of wrapping.
	if got := Cost(TokenPrice{1 << 62, 1 << 62}); got != 1<<63-1 {
		t.Errorf("overflow = %d", got)
	}
}
