package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/store"
)

// TestGate checks that a gate lets n callers in, makes the next wait
// until one leaves, gives a waiter whose budget runs out the
// query_timeout fault a read's budget gives, and holds back only reads
// with a text query.
func TestGate(t *testing.T) {
	g := store.NewGate(2)
	ctx := context.Background()
	leave1, err := g.Enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leave2, err := g.Enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	go func() {
		leave, err := g.Enter(ctx)
		if err == nil {
			leave()
		}
		close(entered)
	}()
	select {
	case <-entered:
		t.Fatal("a third caller entered a gate for two")
	case <-time.After(20 * time.Millisecond):
	}
	leave1()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting caller did not enter when one left")
	}

	// The gate is full again (leave2's turn and one more); a read whose
	// budget ends while it waits fails as a read past its budget does.
	leave3, err := g.Enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	opts := store.Options{ReadTimeout: 10 * time.Millisecond}
	bctx, done := opts.Budget(ctx)
	_, err = g.Enter(bctx)
	err = done(err)
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Code != fault.CodeQueryTimeout {
		t.Fatalf("waiting past the budget: err = %v, want code %s", err, fault.CodeQueryTimeout)
	}
	// A read without a text query is not heavy: it passes a full gate;
	// a search waits like any other caller.
	leave, err := g.Read(ctx, conversation.Filter{Status: conversation.StatusEnded})
	if err != nil {
		t.Fatalf("a list without q at a full gate: %v", err)
	}
	leave()
	bctx, done = opts.Budget(ctx)
	_, err = g.Read(bctx, conversation.Filter{Query: "order"})
	if err = done(err); !errors.As(err, &fe) || fe.Code != fault.CodeQueryTimeout {
		t.Fatalf("a search at a full gate past its budget: err = %v, want code %s", err, fault.CodeQueryTimeout)
	}
	leave2()
	leave3()
	if _, err := g.Enter(ctx); err != nil {
		t.Fatalf("after everyone left: %v", err)
	}
}
