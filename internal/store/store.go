// Package store names everything Parley persists, as one interface that
// the SQLite and PostgreSQL adapters implement, and opens the adapter a
// database URL asks for.
package store

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/jobs"
	"github.com/parley-dev/parley/internal/whatsapp"
)

// FirstStart is what an empty database gets on first start, all or
// nothing: a half-made workspace (no owner, no assistant) would never be
// finished, as later starts see a workspace and do nothing.
type FirstStart struct {
	Workspace *account.Workspace
	Owner     *account.User
	Assistant *assistant.Assistant
}

// Store is the whole of Parley's persistence.
type Store interface {
	account.Store
	assistant.Store
	conversation.Store
	events.Store
	whatsapp.Store

	// Jobs builds the job engine (River) on this store's database, with
	// the given workers: jobs it enqueues with the context of a Within
	// commit or roll back with that transaction.
	Jobs(workers *river.Workers, cfg jobs.Config) (jobs.Engine, error)

	// Bootstrap stores a first start's workspace, owner and assistant in
	// one transaction, if the database has no workspace yet; it reports
	// whether it did. Of several nodes starting together, one does it.
	Bootstrap(ctx context.Context, fs FirstStart) (bool, error)
	// Migrate applies pending schema migrations.
	Migrate(ctx context.Context) error
	// Ready reports an error unless the database answers and every
	// migration is applied.
	Ready(ctx context.Context) error
	// Close releases the database.
	Close() error
	// Driver names the adapter: "sqlite" or "postgres".
	Driver() string
	// Errors is the store's record of failed queries and outages.
	Errors() *Errors
	// Pools reports its connection pools, read on each /metrics scrape.
	Pools() []PoolStats
}
