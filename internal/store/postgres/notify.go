package postgres

import (
	"context"
	"sync"
	"time"
)

// notifier sends the notifications that tell nodes of committed work
// (events, River's inserted jobs) after the commit, from outside the
// transaction, folding those asked for while one is being sent into the
// next.
//
// A NOTIFY inside a transaction takes, at commit, one lock for the whole
// database cluster's notification queue and keeps it until the commit's
// WAL flush is done: every transaction that notified committed after the
// one before it, one flush at a time, however many connections wrote.
// Sent afterwards, from a transaction that writes nothing, the lock is
// held for no flush. A notification lost to a crash between the commit
// and the send costs its listeners a poll interval (the event hub and
// River both poll), never the work: the rows are committed.
type notifier struct {
	mu      sync.Mutex
	pending map[string]func(ctx context.Context) error // by what it notifies
	sending bool
}

// notifyTimeout bounds one round of sends.
const notifyTimeout = 5 * time.Second

// after arranges for send to run once the transaction of ctx (of db's)
// has committed, folded with other sends under the same key until one
// of them runs.
func (n *notifier) after(ctx context.Context, db *DB, key string, send func(ctx context.Context) error) {
	db.AfterCommit(ctx, func() { n.push(key, send) })
}

// push queues send under key and starts a sender when none runs.
func (n *notifier) push(key string, send func(ctx context.Context) error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pending == nil {
		n.pending = map[string]func(ctx context.Context) error{}
	}
	n.pending[key] = send
	if !n.sending {
		n.sending = true
		go n.run()
	}
}

// run sends what is pending until nothing is. A failed send is dropped:
// the listeners' polls cover it, and a database that is down will not
// take the next one either.
func (n *notifier) run() {
	for {
		n.mu.Lock()
		batch := n.pending
		n.pending = nil
		if len(batch) == 0 {
			n.sending = false
			n.mu.Unlock()
			return
		}
		n.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
		for _, send := range batch {
			_ = send(ctx)
		}
		cancel()
	}
}
