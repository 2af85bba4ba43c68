package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store"
	"github.com/parley-dev/parley/internal/store/postgres"
)

// TestPoolPlanSettings checks that every pooled connection plans each
// statement for its parameters (no generic plan after five runs of a
// cached search statement) and never JIT-compiles.
func TestPoolPlanSettings(t *testing.T) {
	db := open(t, schemaURL(t))
	ctx := context.Background()
	for name, want := range map[string]string{"plan_cache_mode": "force_custom_plan", "jit": "off"} {
		got, err := db.Setting(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// TestReadBudget checks that a list or a count past its time budget fails with
// CodeQueryTimeout.
func TestReadBudget(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.OpenWith(ctx, schemaURL(t), store.Options{ReadTimeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = db.ListConversations(ctx, "ws", conversation.Filter{}, conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}, page.Request{Limit: 20})
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Code != fault.CodeQueryTimeout {
		t.Fatalf("list past its budget: err = %v, want code %s", err, fault.CodeQueryTimeout)
	}
	// Counts with filters run queries too, within the same budget.
	_, err = db.CountConversations(ctx, "ws", conversation.Filter{Status: conversation.StatusEnded, CustomerPhone: "+15550001111"})
	if !errors.As(err, &fe) || fe.Code != fault.CodeQueryTimeout {
		t.Fatalf("count past its budget: err = %v, want code %s", err, fault.CodeQueryTimeout)
	}
}
