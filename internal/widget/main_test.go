package widget_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/parley-dev/parley/internal/store/pgtest"
)

// testDB is the database a widget test runs on: a temporary SQLite file in
// the first run, a PostgreSQL schema of its own in the second.
var testDB = func(testing.TB) string { return "" }

// TestMain runs every test of this package again on PostgreSQL when a
// test server is configured, as the REST API tests do.
func TestMain(m *testing.M) {
	code := m.Run()
	if code != 0 {
		os.Exit(code)
	}
	if os.Getenv(pgtest.EnvURL) == "" {
		fmt.Println(pgtest.EnvURL + " is not set: the widget tests ran on SQLite only")
		os.Exit(0)
	}
	fmt.Println("== the widget tests again, on PostgreSQL")
	testDB = func(t testing.TB) string { return pgtest.SchemaURL(t) }
	os.Exit(m.Run())
}
