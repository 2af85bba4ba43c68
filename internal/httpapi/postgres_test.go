package httpapi_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/parley-dev/parley/internal/store/pgtest"
)

// testDB is the database an API test runs on: a temporary SQLite file in
// the first run, a PostgreSQL schema of its own in the second.
var testDB = func(testing.TB) string { return "" }

// TestMain runs every test of this package twice when a PostgreSQL test
// server is configured: once on SQLite and once on PostgreSQL, so both
// stores answer the whole API the same way end to end. No test can be
// left out of the second run by forgetting to list it.
func TestMain(m *testing.M) {
	code := m.Run()
	if code != 0 {
		os.Exit(code)
	}
	if os.Getenv(pgtest.EnvURL) == "" {
		fmt.Println(pgtest.EnvURL + " is not set: the API tests ran on SQLite only")
		os.Exit(0)
	}
	fmt.Println("== the API tests again, on PostgreSQL")
	testDB = func(t testing.TB) string { return pgtest.SchemaURL(t) }
	os.Exit(m.Run())
}
