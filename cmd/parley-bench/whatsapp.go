package main

// parley-bench whatsapp measures WhatsApp webhook ingest through HTTP:
// it serves the app's real handler on a loopback listener (as run does)
// with a sender registered against a local fake of the Graph API, then
// posts signed webhook deliveries — Meta's documented `messages` shape,
// one message per delivery as Meta sends them, from many customers (new
// contacts, some known only by their business-scoped user id) — from
// concurrent clients, a share of them delivered twice (at the same time
// as the first, later, or after the customer's newer messages). Then it
// checks the database: every wamid stored exactly once and one
// conversation per customer. It reports messages/s and the latency of the
// acknowledgement next to the /healthz floor.
//
//	parley-bench whatsapp --database-url wa.db --messages 50000 --clients 32
//	parley-bench whatsapp --database-url wa.db --workers=false   (reply jobs enqueued, not worked)

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-dev/parley/internal/app"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/whatsapp"
	"github.com/parley-dev/parley/internal/whatsapp/cloudapi"
	"github.com/parley-dev/parley/internal/whatsapp/cloudapi/cloudapitest"
)

// waOptions shape a parley-bench whatsapp run.
type waOptions struct {
	Messages   int     // distinct inbound messages
	Customers  int     // distinct customers sending them (0: Messages/5)
	Clients    int     // concurrent webhook senders (Meta's deliveries in flight)
	Redeliver  float64 // share of messages delivered a second time
	Workers    bool    // work the reply and send jobs while ingesting, as in production
	Drain      time.Duration
	Floor      time.Duration
	CPUProfile string
	Seed       uint64
}

// waReport is what a run measured and found.
type waReport struct {
	Deliveries, Messages, Customers int
	Elapsed                         time.Duration
	Ack, Floor, During              []time.Duration
	Retries                         int
	Lost, Duplicated, Unexpected    int
	Conversations, SplitThreads     int
	Backlog                         int64         // reply/send jobs left when ingest ended
	Drained                         time.Duration // how long the workers took to finish them (0: not waited)
	Sent                            int           // replies the fake Graph API received
}

const (
	waSecret = "parley-bench-app-secret"
	waToken  = "parley-bench-graph-token"
	waWABA   = "102290129340398"
)

func whatsappMain(args []string) error {
	fs := flag.NewFlagSet("parley-bench whatsapp", flag.ContinueOnError)
	dbURL := fs.String("database-url", "whatsapp-bench.db", "SQLite path or postgres:// URL")
	o := waOptions{}
	fs.IntVar(&o.Messages, "messages", 50_000, "distinct inbound messages")
	fs.IntVar(&o.Customers, "customers", 0, "customers sending them (0: one per 5 messages)")
	fs.IntVar(&o.Clients, "clients", 32, "concurrent webhook deliveries")
	fs.Float64Var(&o.Redeliver, "redeliver", 0.10, "share of messages Meta delivers a second time")
	fs.BoolVar(&o.Workers, "workers", true, "work the AI reply and send jobs during the run, as in production")
	fs.DurationVar(&o.Drain, "drain", 0, "after ingest, wait up to this long for the workers to answer every message")
	fs.DurationVar(&o.Floor, "floor", 2*time.Second, "how long the /healthz floor is measured first, with as many clients")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the ingest to this file")
	fs.Uint64Var(&o.Seed, "seed", uint64(time.Now().UnixNano()), "random seed of the schedule")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r, err := whatsappBench(context.Background(), *dbURL, o)
	if err != nil {
		return err
	}
	r.write(os.Stdout, *dbURL, o)
	if r.Lost+r.Duplicated+r.Unexpected+r.SplitThreads > 0 {
		return errors.New("the database does not hold every message exactly once in one thread per customer")
	}
	return nil
}

// waCustomer is a customer as the generated webhooks name them.
type waCustomer struct {
	phone, userID, username, name string // phone: digits, as Meta writes wa_id
}

// key is how the check tells customers apart: the user id when the
// webhooks carry one, the phone otherwise.
func (c waCustomer) key() string {
	if c.userID != "" {
		return c.userID
	}
	return "+" + c.phone
}

// waDelivery is one webhook POST.
type waDelivery struct {
	body  []byte
	sig   string
	wamid string
}

// waSchedule builds the deliveries in the order they are sent: rounds
// in which every customer sends their next message (so every customer
// starts as a new contact, all at once in the first round), a quarter of
// the customers sending their first two messages back to back (two
// deliveries of a new contact in flight together: the thread race), some
// customers' consecutive messages swapped (Meta does not keep order),
// and the redelivered share: a third right after the first delivery (in
// flight together), a third at a random later point, a third after the
// customer's last message.
func waSchedule(o waOptions, phoneNumberID string, base time.Time) ([]waDelivery, []waCustomer, []string) {
	r := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	custs := make([]waCustomer, o.Customers)
	for i := range custs {
		c := waCustomer{name: fmt.Sprintf("Customer %d", i)}
		switch i % 10 {
		case 0, 1, 2, 3, 4, 5: // phone and user id (2026 webhooks)
			c.phone, c.userID = fmt.Sprintf("1555%07d", i), fmt.Sprintf("US.%d%06d", o.Seed%1000, i)
		case 6, 7, 8: // a username: user id only, no phone
			c.userID, c.username = fmt.Sprintf("US.%d%06d", o.Seed%1000, i), fmt.Sprintf("user.%d", i)
		default: // phone only (webhooks before user ids)
			c.phone = fmt.Sprintf("4477%07d", i)
		}
		custs[i] = c
	}
	type msg struct {
		cust, seq int
		wamid     string
		body      []byte
	}
	perCust := make([][]int, o.Customers)
	msgs := make([]msg, o.Messages)
	for i := range msgs {
		c := i % o.Customers
		m := msg{cust: c, seq: len(perCust[c]), wamid: fmt.Sprintf("wamid.HBgL%d.%08d", o.Seed, i)}
		perCust[c] = append(perCust[c], i)
		m.body = waPayload(phoneNumberID, custs[c], m.wamid, base.Add(time.Duration(m.seq)*time.Second), r, i)
		msgs[i] = m
	}
	// The order of first deliveries.
	var order []int
	for round := 0; ; round++ {
		more := false
		for _, c := range r.Perm(o.Customers) {
			list := perCust[c]
			race := c%4 == 0 && len(list) > 1
			switch {
			case round >= len(list):
				continue
			case race && round == 0:
				order = append(order, list[0], list[1])
			case race && round == 1:
			default:
				order = append(order, list[round])
			}
			more = true
		}
		if !more {
			break
		}
	}
	for i := 0; i+1 < len(order); i += 2 {
		if r.IntN(20) == 0 && msgs[order[i]].cust == msgs[order[i+1]].cust {
			order[i], order[i+1] = order[i+1], order[i]
		}
	}
	// Slots: first deliveries at their index, copies in between.
	type slot struct {
		at  float64
		msg int
	}
	pos := make([]int, o.Messages)
	lastPos := make([]int, o.Customers)
	slots := make([]slot, 0, len(order)+int(float64(o.Messages)*o.Redeliver)+1)
	for p, m := range order {
		pos[m] = p
		lastPos[msgs[m].cust] = max(lastPos[msgs[m].cust], p)
		slots = append(slots, slot{float64(p), m})
	}
	for k, m := range r.Perm(o.Messages)[:int(float64(o.Messages)*o.Redeliver)] {
		p := float64(pos[m])
		switch k % 3 {
		case 0: // in flight with the first delivery
			p += 0.5
		case 1: // later
			p += r.Float64() * float64(len(order)-pos[m])
		default: // after the customer's newer messages
			p = float64(lastPos[msgs[m].cust]) + 0.25 + r.Float64()*0.5
		}
		slots = append(slots, slot{p, m})
	}
	sort.SliceStable(slots, func(i, j int) bool { return slots[i].at < slots[j].at })
	out := make([]waDelivery, len(slots))
	for i, s := range slots {
		m := msgs[s.msg]
		out[i] = waDelivery{body: m.body, sig: cloudapi.Sign(waSecret, m.body), wamid: m.wamid}
	}
	wamids := make([]string, len(msgs))
	for i, m := range msgs {
		wamids[i] = m.wamid
	}
	return out, custs, wamids
}

// waPayload is one message's webhook delivery in Meta's documented
// shape: mostly text, some images with a caption.
func waPayload(phoneNumberID string, c waCustomer, wamid string, at time.Time, r *rand.Rand, i int) []byte {
	contact := map[string]any{"profile": map[string]any{"name": c.name}}
	m := map[string]any{"id": wamid, "timestamp": strconv.FormatInt(at.Unix(), 10)}
	if c.phone != "" {
		contact["wa_id"] = c.phone
		m["from"] = c.phone
	}
	if c.userID != "" {
		contact["user_id"] = c.userID
		m["from_user_id"] = c.userID
	}
	if c.username != "" {
		contact["profile"].(map[string]any)["username"] = c.username
	}
	if i%20 == 19 {
		m["type"] = "image"
		m["image"] = map[string]any{"caption": sentence(r, 4), "mime_type": "image/jpeg",
			"sha256": "b1c2d3", "id": strconv.Itoa(1037543291000000 + i)}
	} else {
		m["type"] = "text"
		m["text"] = map[string]any{"body": sentence(r, 3+r.IntN(12))}
	}
	b, err := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": waWABA, "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]any{"display_phone_number": "15550783881", "phone_number_id": phoneNumberID},
			"contacts":          []any{contact},
			"messages":          []any{m},
		}}}}}})
	if err != nil {
		panic(err) // maps of strings: cannot fail
	}
	return b
}

// whatsappBench runs the ingest benchmark against dbURL and checks what
// it stored.
func whatsappBench(ctx context.Context, dbURL string, o waOptions) (*waReport, error) {
	o.Clients = max(o.Clients, 1)
	if o.Customers <= 0 {
		o.Customers = max(o.Messages/5, 1)
	}
	o.Customers = min(o.Customers, o.Messages)
	graph := cloudapitest.New(waToken)
	defer graph.Close()
	a, ws, asst, closeStore, err := openWith(ctx, dbURL, func(c *config.Config) {
		c.WhatsAppAppSecret, c.WhatsAppGraphURL = waSecret, graph.URL
	})
	if err != nil {
		return nil, err
	}
	defer closeStore()
	if o.Workers {
		stop, err := a.StartJobs(ctx)
		if err != nil {
			return nil, err
		}
		defer stop(ctx)
	}
	// A number of its own per run, so runs can share a database.
	pnid := strconv.FormatUint(100000000000000+o.Seed%899999999999999, 10)
	snd, err := a.WhatsApp.CreateSender(ctx, ws, whatsapp.SenderInput{Name: ptr("Bench number " + pnid),
		Phone: ptr("+15550783881"), PhoneNumberID: &pnid, WABAID: ptr(waWABA), AccessToken: ptr(waToken),
		AssistantID: &asst.ID})
	if err != nil {
		return nil, fmt.Errorf("register the sender: %w", err)
	}
	deliveries, custs, wamids := waSchedule(o, pnid, time.Now().Add(-time.Hour).Truncate(time.Second))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: o.Clients * 2, MaxIdleConnsPerHost: o.Clients * 2}}
	get := func() error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		_, status, _, err := send(client, req)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("/healthz: %d", status)
		}
		return err
	}

	rep := &waReport{Deliveries: len(deliveries), Messages: o.Messages, Customers: o.Customers}
	// The floor: as many clients asking /healthz as will deliver.
	floorEnd := time.Now().Add(o.Floor)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range o.Clients {
		wg.Go(func() {
			var local []time.Duration
			for time.Now().Before(floorEnd) {
				start := time.Now()
				if get() == nil {
					local = append(local, time.Since(start))
				}
			}
			mu.Lock()
			rep.Floor = append(rep.Floor, local...)
			mu.Unlock()
		})
	}
	wg.Wait()

	stopProfile, err := startCPUProfile(o.CPUProfile)
	if err != nil {
		return nil, err
	}
	// One probe asks /healthz every 10 ms during the ingest.
	probeDone := make(chan struct{})
	var probe sync.WaitGroup
	probe.Go(func() {
		for {
			select {
			case <-probeDone:
				return
			case <-time.After(10 * time.Millisecond):
			}
			start := time.Now()
			if get() == nil {
				rep.During = append(rep.During, time.Since(start))
			}
		}
	})
	var next atomic.Int64
	var firstErr error
	began := time.Now()
	for range o.Clients {
		wg.Go(func() {
			var local []time.Duration
			retries := 0
			var failed error
			for failed == nil {
				i := int(next.Add(1) - 1)
				if i >= len(deliveries) {
					break
				}
				// A delivery that is not acknowledged is sent again, as
				// Meta does; every retry is counted.
				for try := 0; ; try++ {
					took, err := postWebhook(ctx, client, base, &deliveries[i])
					if err == nil {
						local = append(local, took)
						break
					}
					if try == 4 {
						failed = fmt.Errorf("%s: %w", deliveries[i].wamid, err)
						break
					}
					retries++
				}
			}
			mu.Lock()
			rep.Ack = append(rep.Ack, local...)
			rep.Retries += retries
			firstErr = cmpErr(firstErr, failed)
			mu.Unlock()
		})
	}
	wg.Wait()
	rep.Elapsed = time.Since(began)
	close(probeDone)
	probe.Wait()
	if err := stopProfile(); err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if rep.Backlog, err = replyBacklog(ctx, a); err != nil {
		return nil, err
	}
	if o.Workers && o.Drain > 0 {
		start := time.Now()
		for left := rep.Backlog; left > 0 && time.Since(start) < o.Drain; {
			time.Sleep(100 * time.Millisecond)
			if left, err = replyBacklog(ctx, a); err != nil {
				return nil, err
			}
		}
		rep.Drained = time.Since(start)
	}
	rep.Sent = len(graph.Sent())
	return rep, checkIngest(ctx, a, ws, snd.ID, custs, wamids, rep)
}

// postWebhook delivers d as Meta does: signed, JSON; it succeeds on 200.
func postWebhook(ctx context.Context, client *http.Client, base string, d *waDelivery) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/whatsapp", bytes.NewReader(d.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", d.sig)
	took, status, body, err := send(client, req)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("status %d: %.300s", status, body)
	}
	return took, err
}

// replyBacklog counts the jobs not yet finished.
func replyBacklog(ctx context.Context, a *app.App) (int64, error) {
	counts, err := a.Jobs.Backlog(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, c := range counts {
		n += c.N
	}
	return n, nil
}

// checkIngest walks the sender's conversations and counts, for every
// wamid sent, the customer messages holding it, and for every customer
// the conversations they have.
func checkIngest(ctx context.Context, a *app.App, ws, senderID string, custs []waCustomer, wamids []string, rep *waReport) error {
	seen := make(map[string]int, len(wamids))
	convs := map[string]int{}
	for req := (page.Request{Limit: 200}); ; {
		res, err := a.Conversations.List(ctx, ws, conversation.Filter{Types: []string{conversation.TypeWhatsApp}},
			conversation.Order{Sort: conversation.SortCreatedAt}, req)
		if err != nil {
			return err
		}
		for _, c := range res.Items {
			if c.SenderID != senderID {
				continue
			}
			rep.Conversations++
			key := c.Customer.WhatsAppUserID
			if key == "" {
				key = c.Customer.Phone
			}
			convs[key]++
			for mreq := (page.Request{Limit: 200}); ; {
				ms, err := a.Conversations.Messages(ctx, ws, c.ID, mreq)
				if err != nil {
					return err
				}
				for _, m := range ms.Items {
					if m.Role == conversation.RoleUser {
						seen[m.ExternalID]++
					}
				}
				if ms.Next == nil {
					break
				}
				mreq.Cursor = ms.Next
			}
		}
		if res.Next == nil {
			break
		}
		req.Cursor = res.Next
	}
	for _, w := range wamids {
		switch n := seen[w]; {
		case n == 0:
			rep.Lost++
		case n > 1:
			rep.Duplicated += n - 1
		}
		delete(seen, w)
	}
	for _, n := range seen {
		rep.Unexpected += n
	}
	for _, c := range custs {
		if n := convs[c.key()]; n != 1 {
			rep.SplitThreads++
		}
	}
	return nil
}

func (r *waReport) write(out io.Writer, dbURL string, o waOptions) {
	driver := "sqlite"
	if len(dbURL) > 8 && dbURL[:8] == "postgres" {
		driver = "postgres"
	}
	workers := "reply and send jobs worked during the run"
	if !o.Workers {
		workers = "reply jobs enqueued, workers off"
	}
	pc := func(s []time.Duration, p float64) string {
		if len(s) == 0 {
			return "–"
		}
		slices.Sort(s)
		return d(s[min(len(s)-1, int(float64(len(s))*p))])
	}
	fmt.Fprintf(out, "WhatsApp webhook ingest, %s, %d clients, %s\n\n", driver, o.Clients, workers)
	fmt.Fprintln(out, "| deliveries | messages | customers | s | messages/s | deliveries/s | ack p50 | p95 | p99 | max | /healthz floor p50 / p95 | /healthz during p50 / p95 |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	fmt.Fprintf(out, "| %d | %d | %d | %.2f | %.0f | %.0f | %s | %s | %s | %s | %s / %s | %s / %s |\n\n",
		r.Deliveries, r.Messages, r.Customers, r.Elapsed.Seconds(), float64(r.Messages)/r.Elapsed.Seconds(),
		float64(r.Deliveries)/r.Elapsed.Seconds(), pc(r.Ack, 0.5), pc(r.Ack, 0.95), pc(r.Ack, 0.99), pc(r.Ack, 1),
		pc(r.Floor, 0.5), pc(r.Floor, 0.95), pc(r.During, 0.5), pc(r.During, 0.95))
	fmt.Fprintf(out, "check: %d lost, %d duplicated, %d unexpected; %d conversations for %d customers, %d customers not in exactly one; %d deliveries retried\n",
		r.Lost, r.Duplicated, r.Unexpected, r.Conversations, r.Customers, r.SplitThreads, r.Retries)
	fmt.Fprintf(out, "jobs: %d unfinished when ingest ended", r.Backlog)
	if r.Drained > 0 {
		fmt.Fprintf(out, ", drained in %.1f s", r.Drained.Seconds())
	}
	fmt.Fprintf(out, "; %d replies sent to the fake Graph API\n", r.Sent)
}

func ptr[T any](v T) *T { return &v }
