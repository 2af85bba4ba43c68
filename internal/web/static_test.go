package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"
)

// TestVendoredFiles hashes every embedded vendor file against VERSIONS,
// and checks that VERSIONS lists no file that is missing: an edited or
// half-updated vendor directory fails here.
func TestVendoredFiles(t *testing.T) {
	want, err := vendored()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := fs.ReadDir(staticFS, "static/vendor")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		if e.Name() == "VERSIONS" {
			continue
		}
		b, err := staticFS.ReadFile("static/vendor/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		rec, ok := want[e.Name()]
		if !ok {
			t.Errorf("%s is not recorded in VERSIONS (run static/vendor.sh)", e.Name())
			continue
		}
		seen++
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != rec[1] {
			t.Errorf("%s: sha256 %s, VERSIONS says %s", e.Name(), got, rec[1])
		}
		if !strings.Contains(rec[0], "@") {
			t.Errorf("%s: no version recorded: %q", e.Name(), rec[0])
		}
	}
	if seen != len(want) {
		t.Errorf("VERSIONS lists %d files, %d are embedded", len(want), seen)
	}
	for _, name := range []string{"htmx.min.js", "htmx-sse.min.js", "uPlot.iife.min.js"} {
		if _, ok := want[name]; !ok {
			t.Errorf("%s is not vendored", name)
		}
	}
}
