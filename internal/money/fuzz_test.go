package money

import "testing"

// FuzzParse checks that any amount Parse accepts renders back to a string
// that parses to the same amount, and that Parse never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "2.50", "-1.000000001", ".5", "1e3", "9999999999", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		back, err := Parse(m.String())
		if err != nil || back != m {
			t.Fatalf("%q → %d → %q → %d, %v", s, m, m.String(), back, err)
		}
	})
}
