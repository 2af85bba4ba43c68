package web_test

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	olderLink  = regexp.MustCompile(`<a class="btn" href="(/conversations\?[^"]*cursor=[^"]+)"[^>]*>Older`)
	refreshURL = regexp.MustCompile(`<section id="results"[^>]* hx-get="([^"]+)"`)
	rowIDs     = regexp.MustCompile(`data-testid="conversation-row" data-id="([^"]+)"`)
)

func rowsOf(body string) []string {
	var out []string
	for _, m := range rowIDs.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestConversationsLiveRefresh: a live refresh keeps the rows checked for
// bulk deletion checked (also those that moved off the page), and a
// later page keeps its rows and says how many new conversations arrived
// instead of jumping to them.
func TestConversationsLiveRefresh(t *testing.T) {
	s := start(t)
	for range 27 {
		apiConversation(t, s, s.Key, "api", nil)
	}
	c := newClient(t, s)
	c.login(ownerEmail, ownerPassword)
	first := c.do("GET", "/conversations?type=api", nil)
	want(t, first, 200)
	firstIDs := rowsOf(first.body)
	if len(firstIDs) != 25 {
		t.Fatalf("%d rows on the first page", len(firstIDs))
	}
	m := refreshURL.FindStringSubmatch(first.body)
	if m == nil || strings.Contains(m[1], "since=") {
		t.Fatalf("first page refresh: %v", m)
	}
	m = olderLink.FindStringSubmatch(first.body)
	if m == nil {
		t.Fatal("no link to the next page")
	}
	second := c.do("GET", html.UnescapeString(m[1]), nil)
	want(t, second, 200)
	secondIDs := rowsOf(second.body)
	if len(secondIDs) != 2 || strings.Contains(second.body, `data-testid="new-bar"`) {
		t.Fatalf("second page: %v", secondIDs)
	}
	m = refreshURL.FindStringSubmatch(second.body)
	if m == nil || !strings.Contains(m[1], "since=") || !strings.Contains(m[1], "cursor=") {
		t.Fatalf("second page refresh: %v", m)
	}
	refresh := html.UnescapeString(m[1])

	// Two conversations arrive; the second page, refreshed with one of
	// its rows and one of the first page's checked, stays where it was.
	apiConversation(t, s, s.Key, "api", nil)
	apiConversation(t, s, s.Key, "test", nil) // outside the filter
	r := c.do("GET", refresh+"&"+url.Values{"id": {secondIDs[0], firstIDs[3]}}.Encode(), nil, "HX-Request", "true", "HX-Target", "results")
	want(t, r, 200, `data-testid="new-bar"`, "1 new conversation since you opened this page", `data-testid="checked-away">1 selected not on this page`,
		`<input type="hidden" name="id" value="`+firstIDs[3]+`">`, `value="`+secondIDs[0]+`" aria-label="Select conversation `+secondIDs[0]+`" checked`)
	if strings.Contains(r.body, "<!doctype") {
		t.Error("the refresh answered a whole page")
	}
	if got := rowsOf(r.body); strings.Join(got, ",") != strings.Join(secondIDs, ",") {
		t.Errorf("the second page's rows moved: %v, were %v", got, secondIDs)
	}
	if strings.Contains(r.body, `value="`+secondIDs[1]+`" aria-label="Select conversation `+secondIDs[1]+`" checked`) {
		t.Error("an unchecked row came back checked")
	}
	if strings.Contains(r.body, "data-bulk-delete disabled") {
		t.Error("the delete button is disabled with rows checked")
	}

	// The first page shows the newcomer, and a checked row pushed off
	// it stays selected.
	r = c.do("GET", "/conversations?type=api&"+url.Values{"id": {firstIDs[24]}}.Encode(), nil, "HX-Request", "true", "HX-Target", "results")
	want(t, r, 200, `data-testid="checked-away">1 selected`)
	if got := rowsOf(r.body); len(got) != 25 || got[1] != firstIDs[0] {
		t.Errorf("first page after a new conversation: %v", got)
	}
	if strings.Contains(r.body, `data-testid="new-bar"`) {
		t.Error("the first page shows the new-conversations bar")
	}
}

// TestDateFiltersInViewerZone: "today" and custom dates are days of the
// time zone the browser reports (cookie parley_tz), not UTC days; the URL
// is the same for every viewer.
func TestDateFiltersInViewerZone(t *testing.T) {
	s := start(t)
	// 23:30 UTC is already tomorrow in Tokyo (UTC+9) and still today in
	// Los Angeles.
	at := time.Date(2026, 6, 10, 23, 30, 0, 0, time.UTC)
	s.App.Now = func() time.Time { return at }
	apiConversation(t, s, s.Key, "api", nil) // created 2026-06-10 23:30 UTC
	c := newClient(t, s)
	c.login(ownerEmail, ownerPassword)
	count := func(path, zone string) string {
		t.Helper()
		r := c.do("GET", path, nil, "Cookie", c.cookie.Name+"="+c.cookie.Value+"; parley_tz="+url.QueryEscape(zone))
		m := filterCount.FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("%s (%s): no count: %.300s", path, zone, r.body)
		}
		return m[1]
	}
	s.App.Now = func() time.Time { return at.Add(2 * time.Hour) } // 01:30 UTC on the 11th
	for zone, want := range map[string]string{"UTC": "0", "Asia/Tokyo": "1", "America/Los_Angeles": "1", "Nowhere/Bogus": "0"} {
		if got := count("/conversations?preset=today", zone); got != want {
			t.Errorf("today in %s: %s, want %s", zone, got, want)
		}
	}
	for zone, want := range map[string]string{"UTC": "1", "Asia/Tokyo": "0", "America/Los_Angeles": "1"} {
		if got := count("/conversations?preset=custom&from=2026-06-10&to=2026-06-10", zone); got != want {
			t.Errorf("2026-06-10 in %s: %s, want %s", zone, got, want)
		}
	}
}
