package app_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/events"
)

// TestEventsPrunedOnStart: a node prunes events older than
// PARLEY_EVENT_RETENTION when it starts (and then periodically), and
// keeps the rest.
func TestEventsPrunedOnStart(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "parley.db")
	first := apptest.Start(t, db)
	now := time.Now()
	old := []*events.Event{
		{Type: events.ConversationUpdated, WorkspaceID: first.Workspace, ConversationID: "conv_old", CreatedAt: now.Add(-3 * time.Hour)},
		{Type: events.ConversationUpdated, WorkspaceID: first.Workspace, ConversationID: "conv_new", CreatedAt: now.Add(-time.Minute)},
	}
	if err := first.App.Store.InsertEvents(ctx, old); err != nil {
		t.Fatal(err)
	}
	apptest.Start(t, db, func(c *config.Config) { c.EventRetention = "2h" })
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs, err := first.App.Store.Events(ctx, events.Query{WorkspaceID: first.Workspace, ConversationID: "", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var convs []string
		for _, e := range evs {
			if e.ConversationID == "conv_old" || e.ConversationID == "conv_new" {
				convs = append(convs, e.ConversationID)
			}
		}
		if len(convs) == 1 && convs[0] == "conv_new" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the second node started: %v", convs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h, err := first.App.Store.EventHorizon(ctx); err != nil || h != old[0].Pos {
		t.Errorf("horizon %v, %v; want %v", h, err, old[0].Pos)
	}
}
