package httpapi

import "testing"

func TestCSVText(t *testing.T) {
	for in, want := range map[string]string{
		"":               "",
		"Ada":            "Ada",
		"=1+1":           "'=1+1",
		"+1":             "'+1",
		"-1":             "'-1",
		"@SUM(A1)":       "'@SUM(A1)",
		"\t=1":           "'\t=1",
		"\r=1":           "'\r=1",
		"\x00=1":         "'\x00=1",
		"  =1+1":         "'  =1+1", // spreadsheets may trim leading blanks
		"\n\t -cmd":      "'\n\t -cmd",
		"   ":            "   ",
		"a=1":            "a=1",
		"'=1":            "'=1", // already text to a spreadsheet
		"{\"a\":\"=1\"}": "{\"a\":\"=1\"}",
	} {
		if got := csvText(in); got != want {
			t.Errorf("csvText(%q) = %q, want %q", in, got, want)
		}
	}
}
