package httpapi_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/apptest"
)

// TestManyEndsAllExtracted: 200 conversations ended at once are all
// extracted within a few seconds on one node, each exactly once (the old
// runner left 37 of 200 waiting after 20 s).
func TestManyEndsAllExtracted(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	const n = 200
	convs := make([]string, n)
	for i := range convs {
		convs[i] = newConversation(t, s, s.Key, nil)
		s.Do("POST", "/api/v1/conversations/"+convs[i]+"/messages", s.Key, map[string]any{"content": "my email is ada@example.com"}).Want(201)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 20 {
				s.Do("POST", "/api/v1/conversations/"+convs[i]+"/end", s.Key, nil).Want(200)
			}
		}()
	}
	wg.Wait()
	deadline := start.Add(5 * time.Second)
	pending := convs
	for len(pending) > 0 {
		var still []string
		for _, id := range pending {
			r := s.Do("GET", "/api/v1/conversations/"+id, s.Key, nil).Want(200)
			notes := 0
			for _, m := range r.Get("messages").([]any) {
				if c, _ := m.(map[string]any)["content"].(string); strings.HasPrefix(c, "Extracted ") {
					notes++
				}
			}
			switch {
			case notes > 1:
				t.Fatalf("conversation %s extracted %d times", id, notes)
			case notes == 0:
				still = append(still, id)
			}
		}
		pending = still
		if len(pending) > 0 && time.Now().After(deadline) {
			t.Fatalf("%d of %d conversations not extracted %v after they were ended", len(pending), n, time.Since(start))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d conversations extracted in %v", n, time.Since(start))
}
