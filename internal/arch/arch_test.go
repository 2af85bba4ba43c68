// Package arch holds a test that keeps the dependency rules of DESIGN.md
// true: the domain imports no adapter, and adapters do not import each
// other.
package arch

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/parley-dev/parley/internal/"

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "../"+pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestDependencyRules(t *testing.T) {
	adapters := []string{"store/sqlite", "store/postgres", "httpapi", "httpx", "app", "metrics", "llm/openai", "channel"}
	rules := map[string][]string{
		"conversation":   adapters,
		"assistant":      append(adapters, "conversation"),
		"account":        append(adapters, "conversation", "assistant"),
		"llm":            append(adapters, "conversation", "assistant"),
		"store/sqlite":   {"store/postgres", "httpapi", "app"},
		"store/postgres": {"store/sqlite", "httpapi", "app"},
		"httpapi":        {"store/sqlite", "store/postgres", "app"},
		// httpx is plumbing every HTTP surface shares: it knows HTTP,
		// errors and paging, never a handler, a store or the domain.
		"httpx": {"httpapi", "app", "store", "conversation", "assistant", "account", "llm", "jobs", "events", "metrics", "channel"},
	}
	for pkg, banned := range rules {
		for _, d := range deps(t, pkg) {
			for _, b := range banned {
				if d == mod+b || strings.HasPrefix(d, mod+b+"/") {
					t.Errorf("%s imports %s", pkg, d)
				}
			}
		}
	}
}
