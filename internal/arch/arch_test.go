// Package arch holds a test that keeps the dependency rules of DESIGN.md
// true: the domain imports no adapter, adapters do not import each other,
// handlers do not import stores, and no production code imports test
// support. Every package under internal/ must be placed in exactly one
// layer below, so a new package cannot escape the rules by being
// forgotten.
package arch

import (
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const mod = "github.com/parley-dev/parley/internal/"

// The layers. A package's layer decides what it may import.
var (
	// kernel: shared building blocks and ports every layer may use; they
	// know nothing of the domain or of any adapter.
	kernel = []string{"fault", "money", "ids", "page", "config", "llm", "llm/tokens", "seal"}
	// domain: entities, rules and services. In dependency order: a
	// package may import only the domain packages before it.
	domain = []string{"events", "account", "assistant", "conversation", "whatsapp"}
	// ports: interfaces and plumbing between the domain and its
	// adapters (the store interfaces, migrations, background jobs).
	ports = []string{"store", "store/migration", "jobs", "httpx"}
	// adapters: talk to the outside world; never to each other.
	adapters = []string{"store/sqlite", "store/postgres", "llm/openai", "llm/offline", "httpapi", "metrics", "widget", "whatsapp/cloudapi", "web"}
	// wiring: assembles everything; may import anything but test support.
	wiring = []string{"app"}
	// testSupport: fakes, fixtures and suites for tests only.
	testSupport = []string{"apptest", "browsertest", "store/storetest", "store/pgtest", "llm/llmtest", "arch", "whatsapp/cloudapi/cloudapitest"}
)

// deps maps every package under internal/ (short name) to the internal
// packages it depends on, directly or not (short names), from the
// non-test files. It reads the sources with go/build rather than running
// go list, so the go command's test cache sees the files it opened and
// reruns the test when any of them changes.
func deps(t *testing.T) map[string][]string {
	t.Helper()
	direct := map[string][]string{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if d.Name() == "testdata" {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(path, 0)
		var none *build.NoGoError
		if errors.As(err, &none) && len(p.TestGoFiles)+len(p.XTestGoFiles) == 0 {
			return nil // not a package
		} else if err != nil && !errors.As(err, &none) {
			return fmt.Errorf("%s: %w", path, err)
		}
		pkg := filepath.ToSlash(strings.TrimPrefix(strings.TrimPrefix(path, ".."), string(filepath.Separator)))
		if pkg == "" {
			return nil
		}
		var in []string
		for _, imp := range p.Imports {
			if short, ok := strings.CutPrefix(imp, mod); ok {
				in = append(in, short)
			}
		}
		direct[pkg] = in
		return nil
	})
	if err != nil {
		t.Fatalf("read packages: %v", err)
	}
	all := make(map[string][]string, len(direct))
	for pkg := range direct {
		seen := map[string]bool{}
		var visit func(string)
		visit = func(p string) {
			for _, d := range direct[p] {
				if !seen[d] {
					seen[d] = true
					visit(d)
				}
			}
		}
		visit(pkg)
		all[pkg] = []string{}
		for d := range seen {
			all[pkg] = append(all[pkg], d)
		}
		sort.Strings(all[pkg])
	}
	return all
}

func TestEveryPackageHasALayer(t *testing.T) {
	all := deps(t)
	layers := [][]string{kernel, domain, ports, adapters, wiring, testSupport}
	seen := map[string]int{}
	for _, l := range layers {
		for _, p := range l {
			seen[p]++
		}
	}
	var names []string
	for p := range all {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		if seen[p] == 0 {
			t.Errorf("package internal/%s is in no layer: add it to one in arch_test.go", p)
		}
	}
	for p, n := range seen {
		if n > 1 {
			t.Errorf("package internal/%s is in %d layers", p, n)
		}
		if _, ok := all[p]; !ok {
			t.Errorf("layer lists internal/%s, which does not exist", p)
		}
	}
}

func TestDependencyRules(t *testing.T) {
	all := deps(t)
	banned := map[string][]string{}
	ban := func(pkgs []string, what ...[]string) {
		for _, p := range pkgs {
			for _, w := range what {
				banned[p] = append(banned[p], w...)
			}
		}
	}
	ban(kernel, domain, ports, adapters, wiring, testSupport)
	ban(domain, adapters, wiring, testSupport)
	for i, p := range domain {
		ban([]string{p}, domain[i:]) // only the domain packages before it
	}
	ban(ports, adapters, wiring, testSupport)
	// httpx is the HTTP plumbing every surface shares (decoding, problems,
	// SSE, middleware, limiters): it knows HTTP, errors and paging, never
	// the domain or a store, and the domain never speaks HTTP.
	ban([]string{"httpx"}, domain, []string{"store", "store/migration", "jobs"})
	ban(domain, []string{"httpx"})
	ban(adapters, wiring, testSupport)
	for _, a := range adapters {
		others := slices.DeleteFunc(slices.Clone(adapters), func(o string) bool { return o == a })
		ban([]string{a}, others)
	}
	// Handlers call services, never stores.
	ban([]string{"httpapi"}, []string{"store", "store/sqlite", "store/postgres", "store/migration"})
	ban(wiring, testSupport)

	// Every package is listed in a layer (TestEveryPackageHasALayer), so
	// exact names suffice: "store" bans the interfaces, and its adapters
	// are banned by name.
	for pkg, ds := range all {
		for _, d := range ds {
			if slices.Contains(banned[pkg], d) {
				t.Errorf("internal/%s imports internal/%s", pkg, d)
			}
		}
	}
}
