package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store/pgtest"
)

// TestSeedShape seeds a small data set and checks it has the shape issue 9
// asks of the benchmark data (skewed assistants, mixed statuses and types,
// repeated phones, accented words, one long conversation), that the
// counters match the rows, and that run finds its filters in it.
func TestSeedShape(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSeedShape(t, filepath.Join(t.TempDir(), "bench.db")) })
	t.Run("postgres", func(t *testing.T) { testSeedShape(t, pgtest.SchemaURL(t)) })
}

func testSeedShape(t *testing.T, dbURL string) {
	ctx := context.Background()
	a, ws, first, closeStore, err := open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	const n = 900
	if err := seed(ctx, a, ws, first, seedOptions{N: n, Per: 4, Assistants: 40, Long: 5000}); err != nil {
		t.Fatal(err)
	}
	if err := verify(ctx, a, ws, io.Discard); err != nil {
		t.Fatal(err)
	}
	assts, err := a.Assistants.List(ctx, ws, page.Request{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(assts.Items) != 40 {
		t.Fatalf("%d assistants, want 40", len(assts.Items))
	}
	big, small, err := skewedAssistants(ctx, a, ws)
	if err != nil {
		t.Fatal(err)
	}
	count := func(f conversation.Filter) int64 {
		t.Helper()
		c, err := a.Conversations.Count(ctx, ws, f)
		if err != nil {
			t.Fatal(err)
		}
		return c.Total
	}
	if k := count(conversation.Filter{AssistantID: big}); k < n*2/5 || k > n*3/5 {
		t.Errorf("the big assistant has %d of %d conversations, want about half", k, n)
	}
	if k := count(conversation.Filter{AssistantID: small}); k < 1 || k > 9 {
		t.Errorf("the smallest assistant has %d conversations, want 1 to 9", k)
	}
	named := false
	for _, x := range assts.Items {
		if x.Name == "Bench assistant 1" {
			named = true
			if k := count(conversation.Filter{AssistantID: x.ID}); k != 9 {
				t.Errorf("%s has %d conversations, want 9", x.Name, k)
			}
		}
	}
	if !named {
		t.Error(`no assistant named "Bench assistant 1"`)
	}
	if k := count(conversation.Filter{Status: conversation.StatusEnded}); k < n*3/4 || k > n*92/100 {
		t.Errorf("%d of %d conversations ended, want about 84%%", k, n)
	}
	all, err := a.Conversations.Count(ctx, ws, conversation.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{conversation.TypeWidget, conversation.TypeWhatsApp, conversation.TypeAPI, conversation.TypeTest} {
		if all.ByType[typ] == 0 {
			t.Errorf("no conversation of type %s: %v", typ, all.ByType)
		}
	}
	if all.ByType[conversation.TypeWidget] <= all.ByType[conversation.TypeTest] {
		t.Errorf("widget should be far more common than test: %v", all.ByType)
	}
	if k := count(conversation.Filter{Query: "café"}); k == 0 {
		t.Error("no conversation mentions café")
	}
	longest, err := a.Conversations.List(ctx, ws, conversation.Filter{}, conversation.Order{Sort: conversation.SortMessageCount, Desc: true}, page.Request{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if m := longest.Items[0].MessageCount; m != 5000 {
		t.Errorf("the longest conversation has %d messages, want 5000", m)
	}
	phones := map[string]int{}
	for req := (page.Request{Limit: 500}); ; {
		res, err := a.Conversations.List(ctx, ws, conversation.Filter{}, conversation.Order{Sort: conversation.SortCreatedAt}, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Items {
			if c.Customer.Phone != "" {
				phones[c.Customer.Phone]++
			}
		}
		if res.Next == nil {
			break
		}
		req.Cursor = res.Next
	}
	repeated := 0
	for _, k := range phones {
		if k > 1 {
			repeated++
		}
	}
	if repeated == 0 || len(phones) < n/10 {
		t.Errorf("%d distinct phones, %d repeated: want many, some repeated", len(phones), repeated)
	}
	if err := bench(ctx, a, ws, 1); err != nil {
		t.Fatalf("run --service on the seeded data: %v", err)
	}
	// The HTTP matrix: every request must be answered 2xx (it fails on
	// anything else, query timeouts aside), each row measured.
	var out bytes.Buffer
	if err := httpBench(ctx, a, ws, runOptions{Iterations: 1, Post: true, Out: &out}); err != nil {
		t.Fatalf("run on the seeded data: %v", err)
	}
	for _, want := range []string{"list sort=total_cost at 99.9% depth", "count assistant small&created: 30 days q=ord*",
		"transcript (5000 messages): last page of 50", "post message + offline reply"} {
		if !strings.Contains(out.String(), "| "+want+" |") {
			t.Errorf("the run did not measure %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "query_timeout") {
		t.Errorf("a request timed out:\n%s", out.String())
	}
}

// TestWhatsAppBench runs the webhook ingest benchmark at a tiny size on
// both stores, with the workers on, and fails unless every message is
// stored once in one thread per customer.
func TestWhatsAppBench(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testWhatsAppBench(t, filepath.Join(t.TempDir(), "wa.db")) })
	t.Run("postgres", func(t *testing.T) { testWhatsAppBench(t, pgtest.SchemaURL(t)) })
}

func testWhatsAppBench(t *testing.T, dbURL string) {
	o := waOptions{Messages: 300, Customers: 40, Clients: 8, Redeliver: 0.1, Workers: true, Drain: 20 * time.Second, Seed: 7}
	r, err := whatsappBench(context.Background(), dbURL, o)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r.write(&out, dbURL, o)
	t.Log(out.String())
	if r.Deliveries != 330 || len(r.Ack) != 330 {
		t.Errorf("%d deliveries, %d acknowledged, want 330", r.Deliveries, len(r.Ack))
	}
	if r.Lost+r.Duplicated+r.Unexpected+r.SplitThreads > 0 || r.Conversations != 40 {
		t.Errorf("stored wrongly: %+v", r)
	}
	if r.Sent == 0 {
		t.Error("the workers sent no reply through the fake Graph API")
	}
}
