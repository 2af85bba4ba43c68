package web_test

import (
	"bufio"
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sseEvent is one message of an event stream.
type sseEvent struct{ id, event, data string }

// stream opens the dashboard's /events with the session and returns its
// messages as they come.
func (c *client) stream(ctx context.Context, path string, header ...string) <-chan sseEvent {
	c.t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	c.t.Cleanup(cancel) // a failed test must not leave the stream open
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	req.AddCookie(c.cookie)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = res.Body.Close() })
	if res.StatusCode != 200 {
		c.t.Fatalf("events: %d", res.StatusCode)
	}
	out := make(chan sseEvent, 256)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		var e sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.event != "" {
					out <- e
				}
				e = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				e.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				e.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				e.data = line[6:]
			}
		}
	}()
	return out
}

// until collects messages until the stream has mentioned want (a
// conversation id) and then stayed quiet for a moment, so every event of
// that conversation so far is in; it fails after a few seconds.
func until(t *testing.T, ch <-chan sseEvent, want string) (got []sseEvent) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	seen := false
	for {
		quiet := time.After(time.Hour)
		if seen && got[len(got)-1].event == "pos" {
			quiet = time.After(400 * time.Millisecond)
		}
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended; got %v", got)
			}
			got = append(got, e)
			seen = seen || e.event == want
		case <-quiet:
			return got
		case <-timeout:
			t.Fatalf("no %s; got %v", want, got)
		}
	}
}

var sseConnect = regexp.MustCompile(`sse-connect="/events\?after=(evt_[0-9a-f]{16})"`)

// TestEventsResume checks that the dashboard's live updates miss nothing:
// a page's stream starts right after the newest event when it was
// rendered, and a reconnection resumes after Last-Event-ID (the
// browser's own reconnect) or ?after= (a new connection).
func TestEventsResume(t *testing.T) {
	s := start(t)
	c := newClient(t, s)
	c.login(ownerEmail, ownerPassword)
	m := sseConnect.FindStringSubmatch(c.do("GET", "/conversations", nil).body)
	if m == nil {
		t.Fatal("the page names no resume point")
	}
	// A conversation created after the page was rendered but before its
	// stream connected still reaches the page.
	early := apiConversation(t, s, s.Key, "api", nil)
	ctx, cancel := context.WithCancel(context.Background())
	got := until(t, c.stream(ctx, "/events?after="+m[1]), early)
	cancel()
	names := []string{}
	for _, e := range got {
		names = append(names, e.event)
	}
	if !strings.HasPrefix(strings.Join(names, ","), "conversations,"+early+",count,pos") {
		t.Errorf("first event's messages: %v", names)
	}
	last := got[len(got)-1]
	if last.event != "pos" || !strings.HasPrefix(last.id, "evt_") {
		t.Fatalf("the group does not end with its position: %+v", last)
	}
	for _, e := range got[:len(got)-1] {
		if e.id != "" && e.event != "pos" {
			t.Errorf("an id before the group's end: %+v", e)
		}
	}

	// While the page is disconnected, more happens; reconnecting with the
	// last id it got, it hears of that and not of what it had.
	missed := apiConversation(t, s, s.Key, "api", nil)
	for _, hdr := range [][]string{{"Last-Event-ID", last.id}, nil} {
		path := "/events"
		if hdr == nil {
			path += "?after=" + last.id
		}
		ctx, cancel := context.WithCancel(context.Background())
		got := until(t, c.stream(ctx, path, hdr...), missed)
		cancel()
		for _, e := range got {
			if e.event == early || e.data == `"`+early+`"` {
				t.Errorf("%s: an event already seen came again: %+v", path, e)
			}
		}
	}

	// A point that cannot be resumed (unreadable here) starts now and
	// tells the page to refresh.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	ch := c.stream(ctx, "/events", "Last-Event-ID", "evt_bogus")
	var names2 []string
	for len(names2) < 2 {
		select {
		case e := <-ch:
			names2 = append(names2, e.event)
		case <-time.After(5 * time.Second):
			t.Fatalf("after a lost point: %v", names2)
		}
	}
	if strings.Join(names2, ",") != "conversations,count" {
		t.Errorf("after a lost point: %v", names2)
	}
}
