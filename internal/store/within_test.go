package store

import (
	"context"
	"errors"
	"testing"
)

// TestWithinPanic: a panic in fn rolls the transaction back, once, and
// goes on up; nothing is committed and no hook runs.
func TestWithinPanic(t *testing.T) {
	owner := new(int)
	var rolledBack, committed, hooked int
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the panic to go on up", p)
			}
		}()
		_ = Within(context.Background(), owner,
			func() (string, error) { return "tx", nil },
			func(string) error { committed++; return nil },
			func(string) { rolledBack++ },
			func(ctx context.Context) error {
				AfterCommit(ctx, owner, func() { hooked++ })
				panic("boom")
			})
	}()
	if rolledBack != 1 || committed != 0 || hooked != 0 {
		t.Errorf("rolled back %d, committed %d, hooks run %d; want 1, 0, 0", rolledBack, committed, hooked)
	}
	// An error rolls back once too.
	rolledBack = 0
	err := Within(context.Background(), owner,
		func() (string, error) { return "tx", nil },
		func(string) error { committed++; return nil },
		func(string) { rolledBack++ },
		func(context.Context) error { return context.Canceled })
	if !errors.Is(err, context.Canceled) || rolledBack != 1 || committed != 0 {
		t.Errorf("error: %v, rolled back %d, committed %d", err, rolledBack, committed)
	}
}
