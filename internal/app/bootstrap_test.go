package app_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/app"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store/pgtest"
)

// TestFirstStart, on both stores: a bad first-owner setting stops the
// process before it touches the database, and a claim left by a node
// that died during an older version's first start does not block the
// next one, which creates the workspace, owner and Demo Assistant.
func TestFirstStart(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			dbURL := filepath.Join(t.TempDir(), "parley.db")
			if driver == "postgres" {
				dbURL = pgtest.SchemaURL(t)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			cfg := &config.Config{Addr: "127.0.0.1:0", DatabaseURL: dbURL, AdminEmail: "owner@example.com",
				AdminPassword: "short", LogFormat: "text"}
			if _, err := app.New(ctx, cfg, log); err == nil || !strings.Contains(err.Error(), "PARLEY_ADMIN_PASSWORD") {
				t.Errorf("New with a 5-byte admin password: %v", err)
			}
			st, err := app.OpenStore(ctx, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Ready(ctx); err == nil {
				t.Fatal("the refused start migrated the database")
			}

			must(t, st.Migrate(ctx))
			if _, err := st.EnsureSetting(ctx, "bootstrap_claim", "node_that_died"); err != nil {
				t.Fatal(err)
			}
			cfg.AdminPassword = "long enough now"
			a, err := app.New(ctx, cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			must(t, a.Bootstrap(ctx))
			must(t, a.Bootstrap(ctx)) // a later start changes nothing
			ws, err := a.Store.ListWorkspaces(ctx)
			if err != nil || len(ws) != 1 {
				t.Fatalf("workspaces %v, %v", ws, err)
			}
			owner, err := a.Store.GetUserByEmail(ctx, "owner@example.com")
			if err != nil || owner.Role != account.RoleOwner || owner.WorkspaceID != ws[0].ID {
				t.Errorf("owner %+v, %v", owner, err)
			}
			demo, err := a.Store.ListAssistants(ctx, ws[0].ID, page.Request{Limit: 10})
			if err != nil || len(demo) != 1 || demo[0].Name != "Demo Assistant" {
				t.Errorf("assistants %v, %v", demo, err)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
