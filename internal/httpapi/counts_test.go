package httpapi_test

import (
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
)

// TestCountsFollowEndAndDelete checks that filtered counts (answered from
// the day buckets) move a conversation from active to ended when it ends,
// once however often it is ended, and drop it when it is deleted.
func TestCountsFollowEndAndDelete(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	a := newConversation(t, s, s.Key, nil)
	b := newConversation(t, s, s.Key, nil)
	want := func(filter string, n float64) {
		t.Helper()
		r := s.Do("GET", "/api/v1/conversations/count"+filter, s.Key, nil).Want(200)
		if r.Get("total") != n {
			t.Errorf("count%s = %s, want total %v", filter, r.Body, n)
		}
	}
	want("?status=active", 2)
	want("?status=ended", 0)
	s.Do("POST", "/api/v1/conversations/"+a+"/end", s.Key, nil).Want(200)
	s.Do("POST", "/api/v1/conversations/"+a+"/end", s.Key, nil).Want(200)
	want("?status=active", 1)
	want("?status=ended", 1)
	want("?status=ended&created_from=2000-01-01T00:00:00Z", 1)
	s.Do("POST", "/api/v1/conversations/bulk-delete", s.Key, map[string]any{"ids": []string{a, b}}).Want(200)
	want("?status=active", 0)
	want("?status=ended", 0)
	want("", 0)
}

// TestCountWithQuery checks the count with q: exact below the bound, with
// total_is_lower_bound false, which the OpenAPI document requires.
func TestCountWithQuery(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	id := newConversation(t, s, s.Key, nil)
	s.Do("POST", "/api/v1/conversations/"+id+"/messages", s.Key, map[string]any{"content": "where is my zeppelin"}).Want(201)
	newConversation(t, s, s.Key, nil)
	r := s.Do("GET", "/api/v1/conversations/count?q=zeppelin", s.Key, nil).Want(200)
	if r.Get("total") != float64(1) || r.Get("total_is_lower_bound") != false {
		t.Errorf("count?q=zeppelin = %s", r.Body)
	}
	r = s.Do("GET", "/api/v1/conversations/count", s.Key, nil).Want(200)
	if r.Get("total") != float64(2) || r.Get("total_is_lower_bound") != false {
		t.Errorf("count = %s", r.Body)
	}
}
