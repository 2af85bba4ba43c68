package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/app"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/page"
)

// runOptions shape a `parley-bench run`.
type runOptions struct {
	Iterations int            // samples per request
	Clients    int            // keep-alive clients sending them at once
	StepBudget time.Duration  // wall time after which a request stops being sampled
	Only       *regexp.Regexp // requests to measure (nil: all)
	Post       bool           // also measure posting a message with an offline reply
	Out        io.Writer      // the Markdown table
}

// target is one request of the matrix: build returns the i-th sample's
// request (a few vary per sample, such as a rare word or a phone).
type target struct {
	name  string
	build func(i int) (*http.Request, error)
	// budget is the p95 the request should keep (25 ms when zero: the
	// API's reads); rows over it are marked.
	budget time.Duration
}

// result is what was measured for one target.
type result struct {
	name      string
	budget    time.Duration
	samples   []time.Duration // the request's
	floor     []time.Duration // /healthz, sent between the request's samples
	timeouts  int             // 503 query_timeout answers (not in samples)
	firstSeen string          // what the first answer held: rows, or a count
}

// httpBench serves a's handler on a loopback listener and measures the
// read matrix of issue 9 through HTTP with keep-alive clients, each
// request's percentiles next to the /healthz floor sampled between its
// samples, so a noisy machine shows in both columns.
func httpBench(ctx context.Context, a *app.App, ws string, opt runOptions) error {
	if opt.Iterations < 1 {
		opt.Iterations = 1
	}
	if opt.Clients < 1 {
		opt.Clients = 1
	}
	if opt.StepBudget <= 0 {
		opt.StepBudget = time.Minute
	}
	total, err := a.Conversations.Count(ctx, ws, conversation.Filter{})
	if err != nil {
		return err
	}
	if total.Total == 0 {
		return errors.New("the database is empty: run `parley-bench seed` first")
	}
	secret, _, err := a.Accounts.CreateAPIKey(ctx, ws, "parley-bench "+time.Now().UTC().Format(time.RFC3339))
	if err != nil {
		return fmt.Errorf("api key: %w", err)
	}
	cursorKey, err := a.SecretKey(ctx)
	if err != nil {
		return fmt.Errorf("secret key: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: opt.Clients * 2, MaxIdleConnsPerHost: opt.Clients * 2}}
	m, err := newMatrix(ctx, a, ws, base, secret, page.NewCodec([]byte(cursorKey)), total.Total, client)
	if err != nil {
		return err
	}
	if m.session, err = dashboardSession(ctx, a, ws); err != nil {
		return fmt.Errorf("dashboard session: %w", err)
	}
	if err := m.checkSignedIn(ctx); err != nil {
		return err
	}
	targets := m.targets(opt.Post)
	var results []*result
	for _, t := range targets {
		if opt.Only != nil && !opt.Only.MatchString(t.name) {
			continue
		}
		r, err := measureHTTP(ctx, client, base, t, opt)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		results = append(results, r)
		fmt.Fprintf(os.Stderr, "measured %-70s p95 %s\n", t.name, d(pct(r.samples, 0.95)))
	}
	out := opt.Out
	if out == nil {
		out = os.Stdout
	}
	fmt.Fprintf(out, "%d conversations, %s, through HTTP (in-process server, loopback, keep-alive), %d client(s), up to %d samples each\n\n",
		total.Total, a.Store.Driver(), opt.Clients, opt.Iterations)
	fmt.Fprintln(out, "| request | answer | n | p50 | p95 | p99 | max | /healthz p50 / p95 |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		mark := ""
		if pct(r.samples, 0.95) > r.budget {
			mark = " ✗"
		}
		note := r.firstSeen
		if r.timeouts > 0 {
			note += fmt.Sprintf(", %d× 503 query_timeout", r.timeouts)
		}
		fmt.Fprintf(out, "| %s | %s | %d | %s | %s%s | %s | %s | %s / %s |\n", r.name, note, len(r.samples),
			d(pct(r.samples, 0.5)), d(pct(r.samples, 0.95)), mark, d(pct(r.samples, 0.99)), d(pct(r.samples, 1)),
			d(pct(r.floor, 0.5)), d(pct(r.floor, 0.95)))
	}
	return nil
}

// measureHTTP samples one target with opt.Clients clients, each
// alternating the request with a /healthz request, until opt.Iterations
// samples or opt.StepBudget has passed.
func measureHTTP(ctx context.Context, client *http.Client, base string, t target, opt runOptions) (*result, error) {
	r := &result{name: t.name, budget: t.budget}
	if r.budget == 0 {
		r.budget = 25 * time.Millisecond
	}
	var mu sync.Mutex
	var firstErr error
	deadline := time.Now().Add(opt.StepBudget)
	next := 0
	var wg sync.WaitGroup
	for range opt.Clients {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := i >= opt.Iterations || firstErr != nil || (i > 0 && time.Now().After(deadline))
				mu.Unlock()
				if stop {
					return
				}
				req, err := t.build(i)
				if err == nil {
					req = req.WithContext(ctx)
				}
				var took time.Duration
				var body []byte
				var status int
				if err == nil {
					took, status, body, err = send(client, req)
				}
				hz, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
				floor, hzStatus, _, hzErr := send(client, hz)
				mu.Lock()
				switch {
				case err != nil:
					firstErr = cmpErr(firstErr, err)
				case status == http.StatusServiceUnavailable && bytes.Contains(body, []byte("query_timeout")):
					r.timeouts++
				case status/100 != 2:
					firstErr = cmpErr(firstErr, fmt.Errorf("status %d: %.300s", status, body))
				default:
					r.samples = append(r.samples, took)
					if r.firstSeen == "" {
						r.firstSeen = describe(body)
					}
				}
				if hzErr == nil && hzStatus == http.StatusOK {
					r.floor = append(r.floor, floor)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if len(r.samples) == 0 && r.timeouts > 0 {
		r.samples = []time.Duration{opt.StepBudget} // every sample timed out
	}
	return r, nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// send runs one request and reads its whole body, so the connection is
// reused, and returns how long that took.
func send(client *http.Client, req *http.Request) (time.Duration, int, []byte, error) {
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	took := time.Since(t0)
	if err != nil {
		return 0, 0, nil, err
	}
	return took, resp.StatusCode, body, nil
}

// describe summarises an answer for the table: the rows of a list, the
// total of a count.
func describe(body []byte) string {
	var v struct {
		Data       []json.RawMessage `json:"data"`
		NextCursor *string           `json:"next_cursor"`
		Total      *int64            `json:"total"`
		LowerBound bool              `json:"total_is_lower_bound"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return ""
	}
	switch {
	case v.Total != nil && v.LowerBound:
		return fmt.Sprintf("≥ %d", *v.Total)
	case v.Total != nil:
		return strconv.FormatInt(*v.Total, 10)
	case v.Data != nil:
		more := ""
		if v.NextCursor != nil {
			more = "+"
		}
		return fmt.Sprintf("%d rows%s", len(v.Data), more)
	}
	return ""
}

func pct(s []time.Duration, p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	s = append([]time.Duration(nil), s...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(p*float64(len(s)-1))]
}

// matrix holds what the requests are made of: the server, the key, the
// cursor codec and the filter values found in the seeded data.
type matrix struct {
	ws, base, key string
	codec         *page.Codec
	total         int64
	big, small    string // the assistants with the most and the fewest conversations
	medium        string // an assistant with about 1% of them
	asstID        string // an assistant that exists, for posting
	day0          time.Time
	midDay        time.Time // the middle of the seeded year
	depth         map[string]map[string]*page.Cursor
	longID        string
	transcript    []string // next_cursor of each page of the long conversation
	session       string   // a dashboard session token, for the pages
	extID         func(i int) string
}

func newMatrix(ctx context.Context, a *app.App, ws, base, key string, codec *page.Codec, total int64, client *http.Client) (*matrix, error) {
	m := &matrix{ws: ws, base: base, key: key, codec: codec, total: total, depth: map[string]map[string]*page.Cursor{}}
	svc := a.Conversations
	var err error
	m.big, m.small, m.medium, err = assistantSizes(ctx, a, ws, total)
	if err != nil {
		return nil, err
	}
	m.asstID = m.big
	oldest, err := svc.List(ctx, ws, conversation.Filter{}, conversation.Order{Sort: conversation.SortCreatedAt}, page.Request{Limit: 1})
	if err != nil || len(oldest.Items) == 0 {
		return nil, fmt.Errorf("oldest conversation: %w", err)
	}
	newest, err := svc.List(ctx, ws, conversation.Filter{}, conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}, page.Request{Limit: 1})
	if err != nil || len(newest.Items) == 0 {
		return nil, fmt.Errorf("newest conversation: %w", err)
	}
	m.day0 = oldest.Items[0].CreatedAt
	m.midDay = m.day0.Add(newest.Items[0].CreatedAt.Sub(m.day0) / 2)
	// Cursors at 50% and 99.9% depth of each sort, newest/largest first:
	// the row that many rows into the list, found by walking the list
	// the other way in big pages (the shorter walk for 99.9%).
	for _, s := range []string{conversation.SortCreatedAt, conversation.SortUpdatedAt, conversation.SortMessageCount, conversation.SortTotalCost} {
		m.depth[s] = map[string]*page.Cursor{}
		for _, frac := range []float64{0.5, 0.999} {
			c, err := cursorAtDepth(ctx, a, ws, s, total, frac)
			if err != nil {
				return nil, fmt.Errorf("cursor %s at %v: %w", s, frac, err)
			}
			m.depth[s][depthName(frac)] = c
		}
	}
	longest, err := svc.List(ctx, ws, conversation.Filter{}, conversation.Order{Sort: conversation.SortMessageCount, Desc: true}, page.Request{Limit: 1})
	if err != nil || len(longest.Items) == 0 {
		return nil, fmt.Errorf("longest conversation: %w", err)
	}
	m.longID = longest.Items[0].ID
	// The transcript's cursors, as a client gets them: page by page.
	for cur := ""; ; {
		q := url.Values{"per_page": {"50"}}
		if cur != "" {
			q.Set("cursor", cur)
		}
		req, err := m.get("/api/v1/conversations/"+m.longID+"/messages", q)
		if err != nil {
			return nil, err
		}
		_, status, body, err := send(client, req.WithContext(ctx))
		if err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("transcript: status %d: %w", status, err)
		}
		var pg struct {
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			return nil, fmt.Errorf("transcript: %w", err)
		}
		if pg.NextCursor == nil {
			break
		}
		cur = *pg.NextCursor
		m.transcript = append(m.transcript, cur)
	}
	// External identifiers of seeded API conversations: about one
	// conversation in seven is one; a miss answers an empty list, which
	// costs the same index seek.
	n := int(total)
	m.extID = func(i int) string { return externalID(i * 7919 % max(n, 1)) }
	return m, nil
}

func depthName(frac float64) string {
	return strconv.FormatFloat(frac*100, 'f', -1, 64) + "%"
}

// cursorAtDepth returns the cursor a client holds after reading frac of
// the list sorted by s, descending: the row after which the rest starts.
func cursorAtDepth(ctx context.Context, a *app.App, ws, s string, total int64, frac float64) (*page.Cursor, error) {
	desc := conversation.Order{Sort: s, Desc: true}
	asc := conversation.Order{Sort: s}
	// The row at depth frac of the descending list is the row at 1-frac
	// of the ascending one.
	skip := int64(float64(total) * (1 - frac))
	req := page.Request{Limit: 1000}
	var last *conversation.Conversation
	for read := int64(0); read <= skip; {
		res, err := a.Conversations.List(ctx, ws, conversation.Filter{}, asc, req)
		if err != nil {
			return nil, err
		}
		if len(res.Items) == 0 {
			break
		}
		k := min(int64(len(res.Items)), skip-read+1)
		last = res.Items[k-1]
		read += k
		if res.Next == nil {
			break
		}
		req.Cursor = res.Next
	}
	if last == nil {
		return nil, errors.New("no rows")
	}
	return &page.Cursor{Sort: desc.Key(), Value: last.SortValue(s), Seq: last.Seq, Key: last.ID}, nil
}

// assistantSizes returns the assistants with the most and the fewest (but
// some) conversations, and the one closest to 1% of them, read from the
// counters.
func assistantSizes(ctx context.Context, a *app.App, ws string, total int64) (big, small, medium string, err error) {
	var hi, lo, mid int64 = -1, -1, -1
	for req := (page.Request{Limit: 100}); ; {
		res, err := a.Assistants.List(ctx, ws, req)
		if err != nil {
			return "", "", "", fmt.Errorf("assistants: %w", err)
		}
		for _, x := range res.Items {
			c, err := a.Conversations.Count(ctx, ws, conversation.Filter{AssistantID: x.ID})
			if err != nil {
				return "", "", "", fmt.Errorf("count assistant: %w", err)
			}
			if c.Total > hi {
				hi, big = c.Total, x.ID
			}
			if c.Total > 0 && (lo < 0 || c.Total < lo) {
				lo, small = c.Total, x.ID
			}
			if off := abs(c.Total - total/100); c.Total > 0 && (mid < 0 || off < mid) {
				mid, medium = off, x.ID
			}
		}
		if res.Next == nil {
			return big, small, medium, nil
		}
		req.Cursor = res.Next
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// get builds an authenticated GET of path with query q.
func (m *matrix) get(path string, q url.Values) (*http.Request, error) {
	req, err := m.newGet(path, q)
	if err == nil {
		req.Header.Set("Authorization", "Bearer "+m.key)
	}
	return req, err
}

// page is a dashboard GET of path with query q, signed in.
func (m *matrix) page(path string, q url.Values) (*http.Request, error) {
	req, err := m.newGet(path, q)
	if err == nil {
		req.AddCookie(&http.Cookie{Name: account.SessionCookie, Value: m.session})
	}
	return req, err
}

// newGet is a GET of path with query q on the server under test.
func (m *matrix) newGet(path string, q url.Values) (*http.Request, error) {
	u := m.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return http.NewRequest(http.MethodGet, u, nil)
}

// checkSignedIn makes sure the dashboard's pages answer the session
// itself, not a redirect to the sign-in page a client would follow.
func (m *matrix) checkSignedIn(ctx context.Context) error {
	req, err := m.page("/conversations", nil)
	if err != nil {
		return err
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`data-testid="conversation-row"`)) {
		return fmt.Errorf("dashboard: /conversations answered %d without conversation rows", resp.StatusCode)
	}
	return nil
}

// dashboardSession adds an owner to workspace ws with a random password
// and signs it in, for the dashboard's pages.
func dashboardSession(ctx context.Context, a *app.App, ws string) (string, error) {
	b := make([]byte, 18)
	if _, err := crand.Read(b); err != nil {
		return "", err
	}
	password := base64.RawURLEncoding.EncodeToString(b)
	email := "bench-" + ids.NewAt(ids.User, time.Now()) + "@example.com"
	if _, err := a.Accounts.CreateUser(ctx, ws, email, password, account.RoleOwner); err != nil {
		return "", err
	}
	token, _, err := a.Accounts.Login(ctx, email, password, "127.0.0.1")
	return token, err
}

// list is a conversation list request with filter q, starting after cur
// (nil: the first page), 20 rows a page. The cursor is signed for the
// request's scope as the API does when it hands one out.
func (m *matrix) list(q url.Values, cur *page.Cursor) func(int) (*http.Request, error) {
	return func(int) (*http.Request, error) {
		q := cloneValues(q)
		if cur != nil {
			scope := m.ws + " /api/v1/conversations?" + q.Encode()
			q.Set("cursor", m.codec.Encode(scope, *cur))
		}
		q.Set("per_page", "20")
		return m.get("/api/v1/conversations", q)
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// filterCase is one filter combination of the matrix; vary, if set,
// changes it per sample (a different phone or id each time).
type filterCase struct {
	name string
	q    url.Values
	vary func(q url.Values, i int)
}

// words are the searches of the matrix: a common word, a rare token
// (different per sample), an accented word, a CJK word and a prefix.
var words = []struct {
	name string
	q    func(i int) string
}{
	{"q=order", func(int) string { return "order" }},
	{"q=ref<rare>", func(i int) string { return fmt.Sprintf("ref%d", (i*104729)%1_000_000) }},
	{"q=café", func(int) string { return "café" }},
	{"q=配送", func(int) string { return "配送" }},
	{"q=ord*", func(int) string { return "ord*" }},
}

func (m *matrix) filters() []filterCase {
	day := func(from time.Time, days int) url.Values {
		return url.Values{"created_from": {from.UTC().Format(time.RFC3339)}, "created_to": {from.Add(time.Duration(days) * 24 * time.Hour).UTC().Format(time.RFC3339)}}
	}
	with := func(q url.Values, kv ...string) url.Values {
		q = cloneValues(q)
		for i := 0; i+1 < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}
	midDay := m.midDay.Add(7 * time.Hour) // a day cut mid-day: partial first and last days
	n := max(int(m.total/3), 1)
	return []filterCase{
		{name: "no filter", q: url.Values{}},
		{name: "type=whatsapp", q: url.Values{"type": {"whatsapp"}}},
		{name: "type=widget,api", q: url.Values{"type": {"widget,api"}}},
		{name: "type=test&status=ended", q: url.Values{"type": {"test"}, "status": {"ended"}}},
		{name: "status=active", q: url.Values{"status": {"active"}}},
		{name: "status=ended", q: url.Values{"status": {"ended"}}},
		{name: "assistant big (half)", q: url.Values{"assistant_id": {m.big}}},
		{name: "assistant medium (~1%)", q: url.Values{"assistant_id": {m.medium}}},
		{name: "assistant small", q: url.Values{"assistant_id": {m.small}}},
		{name: "assistant big&status=active", q: url.Values{"assistant_id": {m.big}, "status": {"active"}}},
		{name: "assistant small&status=ended", q: url.Values{"assistant_id": {m.small}, "status": {"ended"}}},
		{name: "assistant big&type=test", q: url.Values{"assistant_id": {m.big}, "type": {"test"}}},
		{name: "assistant medium&type=whatsapp&status=active", q: url.Values{"assistant_id": {m.medium}, "type": {"whatsapp"}, "status": {"active"}}},
		{name: "created: 1 day", q: day(midDay, 1)},
		{name: "created: 30 days", q: day(midDay, 30)},
		{name: "status=ended&created: 1 day", q: with(day(midDay, 1), "status", "ended")},
		{name: "assistant small&created: 30 days", q: with(day(midDay, 30), "assistant_id", m.small)},
		{name: "customer_phone (repeated customer)", q: url.Values{"customer_phone": {repeatedPhone}}},
		{name: "customer_phone (pool)", q: url.Values{}, vary: func(q url.Values, i int) {
			q.Set("customer_phone", fmt.Sprintf("+1555%07d", 1_000_000+i*7919%n))
		}},
		{name: "external_identifier", q: url.Values{}, vary: func(q url.Values, i int) { q.Set("external_identifier", m.extID(i)) }},
		{name: "whatsapp_sender_phone (every WhatsApp)", q: url.Values{"whatsapp_sender_phone": {"+15550000000"}}},
		{name: "whatsapp_sender_phone&status=active", q: url.Values{"whatsapp_sender_phone": {"+15550000000"}, "status": {"active"}}},
	}
}

// targets is the whole matrix, in the order it is measured.
func (m *matrix) targets(post bool) []target {
	var ts []target
	add := func(name string, build func(int) (*http.Request, error)) {
		ts = append(ts, target{name: name, build: build})
	}
	// Sorts at every depth.
	for _, s := range []string{conversation.SortCreatedAt, conversation.SortUpdatedAt, conversation.SortMessageCount, conversation.SortTotalCost} {
		q := url.Values{"sort": {s}}
		add("list sort="+s+" first page", m.list(q, nil))
		for _, dn := range []string{"50%", "99.9%"} {
			add("list sort="+s+" at "+dn+" depth", m.list(q, m.depth[s][dn]))
		}
		add("list sort="+s+"&order=asc first page", m.list(url.Values{"sort": {s}, "order": {"asc"}}, nil))
	}
	// Transcript of the long conversation.
	msgs := "/api/v1/conversations/" + m.longID + "/messages"
	pages := []struct {
		name string
		cur  string
	}{{"first", ""}}
	if n := len(m.transcript); n > 0 {
		pages = append(pages, struct{ name, cur string }{"middle", m.transcript[n/2]}, struct{ name, cur string }{"last", m.transcript[n-1]})
	}
	for _, p := range pages {
		add(fmt.Sprintf("transcript (%d messages): %s page of 50", (len(m.transcript)+1)*50, p.name), func(int) (*http.Request, error) {
			q := url.Values{"per_page": {"50"}}
			if p.cur != "" {
				q.Set("cursor", p.cur)
			}
			return m.get(msgs, q)
		})
	}
	// Every filter combination: lists and counts, without and with q.
	for _, f := range m.filters() {
		build := func(word func(int) string, count bool) func(int) (*http.Request, error) {
			return func(i int) (*http.Request, error) {
				q := cloneValues(f.q)
				if f.vary != nil {
					f.vary(q, i)
				}
				if word != nil {
					q.Set("q", word(i))
				}
				if count {
					return m.get("/api/v1/conversations/count", q)
				}
				q.Set("per_page", "20")
				return m.get("/api/v1/conversations", q)
			}
		}
		add("list "+f.name, build(nil, false))
		add("count "+f.name, build(nil, true))
		for _, w := range words {
			add("search "+f.name+" "+w.name, build(w.q, false))
			add("count "+f.name+" "+w.name, build(w.q, true))
		}
	}
	// Dashboard pages as an operator opens them (server time through
	// HTTP; the budget is 100 ms a page).
	for _, pg := range []struct {
		name string
		path string
		q    url.Values
	}{
		{"page /conversations", "/conversations", nil},
		{"page /conversations type=whatsapp", "/conversations", url.Values{"type": {"whatsapp"}}},
		{"page /conversations status=ended", "/conversations", url.Values{"status": {"ended"}}},
		{"page /conversations assistant big&status=active", "/conversations", url.Values{"assistant": {m.big}, "status": {"active"}}},
		{"page /conversations preset=30d", "/conversations", url.Values{"preset": {"30d"}}},
		{"page /conversations q=order", "/conversations", url.Values{"q": {"order"}}},
		{"page /conversations q=café&status=ended", "/conversations", url.Values{"q": {"café"}, "status": {"ended"}}},
		{"page /conversations sort=total_cost", "/conversations", url.Values{"sort": {"total_cost"}}},
		{"page /conversations/{long}", "/conversations/" + m.longID, nil},
		{"page /analytics", "/analytics", nil},
		{"page nav count", "/conversations/count", nil},
	} {
		ts = append(ts, target{name: pg.name, budget: 100 * time.Millisecond, build: func(int) (*http.Request, error) {
			return m.page(pg.path, pg.q)
		}})
	}
	if post {
		var mu sync.Mutex
		var convID string
		add("post message + offline reply", func(i int) (*http.Request, error) {
			mu.Lock()
			defer mu.Unlock()
			if i%10 == 0 || convID == "" {
				id, err := m.createConversation()
				if err != nil {
					return nil, err
				}
				convID = id
			}
			body := strings.NewReader(`{"content":"Do you ship abroad?"}`)
			req, err := http.NewRequest(http.MethodPost, m.base+"/api/v1/conversations/"+convID+"/messages", body)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "Bearer "+m.key)
			req.Header.Set("Content-Type", "application/json")
			return req, nil
		})
	}
	return ts
}

// createConversation opens an API conversation for the post measurement
// (not timed).
func (m *matrix) createConversation() (string, error) {
	body := strings.NewReader(`{"assistant_id":"` + m.asstID + `","type":"api"}`)
	req, err := http.NewRequest(http.MethodPost, m.base+"/api/v1/conversations", body)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+m.key)
	req.Header.Set("Content-Type", "application/json")
	_, status, out, err := send(http.DefaultClient, req)
	if err != nil {
		return "", err
	}
	if status != http.StatusCreated {
		return "", fmt.Errorf("create conversation: status %d: %.300s", status, out)
	}
	var c struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(out, &c); err != nil {
		return "", fmt.Errorf("create conversation: %w", err)
	}
	return c.ID, nil
}
