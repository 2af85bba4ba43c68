package sqlite

// SetSearchBatches shrinks the search walk so tests drive every search
// path on small data; it returns a function restoring the defaults.
func SetSearchBatches(batch, walk int) func() {
	oldBatch, oldWalk := searchBatch, walkBatches
	searchBatch, walkBatches = batch, walk
	return func() { searchBatch, walkBatches = oldBatch, oldWalk }
}
