// Package migration reads the numbered SQL migrations that each store
// adapter embeds, so both adapters order and name them the same way.
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load reads every NNNN_name.sql file in dir of fsys, in version order.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share a number", out[i-1].Name, out[i].Name)
		}
	}
	return out, nil
}

// Backfill returns the SQL of migration version from the first statement
// that starts with marker to its end: the part that fills a table from
// the rows already there, which tests run again to hold it to the rows
// the writes keep.
func Backfill(ms []Migration, version int, marker string) (string, error) {
	for _, m := range ms {
		if m.Version != version {
			continue
		}
		i := strings.Index(m.SQL, marker)
		if i < 0 {
			return "", fmt.Errorf("migration %04d has no %q", version, marker)
		}
		return m.SQL[i:], nil
	}
	return "", fmt.Errorf("no migration %04d", version)
}
