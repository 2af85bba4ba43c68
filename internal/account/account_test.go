package account

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/fault"
)

// keyStore is an account.Store holding one key and counting the writes
// that record its use; the other methods are not used here.
type keyStore struct {
	Store
	mu      sync.Mutex
	key     APIKey
	touches int
}

func (s *keyStore) GetAPIKeyByHash(_ context.Context, hash []byte) (*APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if string(hash) != string(s.key.Hash) {
		return nil, fault.NotFound("API key")
	}
	k := s.key
	return &k, nil
}

func (s *keyStore) TouchAPIKey(_ context.Context, id string, at, staleBefore time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touches++
	if s.key.LastUsedAt == nil || s.key.LastUsedAt.Before(staleBefore) {
		s.key.LastUsedAt = &at
	}
	return nil
}

func TestAuthenticateRecordsUseOncePerInterval(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	st := &keyStore{key: APIKey{ID: "key_1", Hash: HashKey("pk_secret")}}
	s := &Service{Store: st, Now: func() time.Time { return now }}
	auth := func() {
		t.Helper()
		if _, err := s.Authenticate(context.Background(), "pk_secret"); err != nil {
			t.Fatal(err)
		}
	}

	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); auth() }()
	}
	wg.Wait()
	if st.touches != 1 || st.key.LastUsedAt == nil || !st.key.LastUsedAt.Equal(t0) {
		t.Fatalf("50 concurrent requests: %d writes, last used %v", st.touches, st.key.LastUsedAt)
	}
	now = t0.Add(59 * time.Second)
	auth()
	if st.touches != 1 {
		t.Errorf("a use within the interval was written")
	}
	now = t0.Add(61 * time.Second)
	auth()
	if st.touches != 2 || !st.key.LastUsedAt.Equal(now) {
		t.Errorf("a use after the interval: %d writes, last used %v", st.touches, st.key.LastUsedAt)
	}

	// Another node recorded a use a moment ago: this node, which has not
	// seen the key for a while, writes nothing.
	other := &Service{Store: st, Now: func() time.Time { return now.Add(10 * time.Second) }}
	if _, err := other.Authenticate(context.Background(), "pk_secret"); err != nil {
		t.Fatal(err)
	}
	if st.touches != 2 {
		t.Errorf("fresh stored use was written again")
	}

	if _, err := s.Authenticate(context.Background(), "pk_wrong"); !fault.Is(err, fault.CodeUnauthorized) {
		t.Errorf("wrong key: %v", err)
	}
}
