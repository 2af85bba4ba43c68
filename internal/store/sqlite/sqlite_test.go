package sqlite_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/parley-dev/parley/internal/store"
	"github.com/parley-dev/parley/internal/store/sqlite"
	"github.com/parley-dev/parley/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "parley.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	})
}

// TestConformanceSmallSearchBatches runs the suite with one-hit search
// batches and an early switch to walking filtered conversations, so the
// batch boundaries and the switch are held to the same contract.
func TestConformanceSmallSearchBatches(t *testing.T) {
	defer sqlite.SetSearchBatches(1, 1)()
	defer sqlite.SetFewCandidates(-1)()
	TestConformance(t)
}

// TestSearchPlans reruns the search tests with each plan forced (walking
// the word's hits, walking the filter's conversations) and with both
// raced, at one-row and at two-row batches: every plan must give the same
// answers. Fetching a one-term search's few candidates by key (the
// default plan on small data, run by TestConformance) is turned off.
func TestSearchPlans(t *testing.T) {
	defer sqlite.SetFewCandidates(-1)()
	for _, plan := range []string{"hits", "filter", "race"} {
		for _, batch := range []int{1, 2} {
			t.Run(plan+"/"+strconv.Itoa(batch), func(t *testing.T) {
				defer sqlite.SetSearchPlan(plan)()
				defer sqlite.SetSearchBatches(batch, batch)()
				storetest.RunSearch(t, open)
			})
		}
	}
}

func open(t *testing.T) store.Store {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
