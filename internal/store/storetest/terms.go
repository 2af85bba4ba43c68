package storetest

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store"
)

// testCountTermsKept checks that counts with a one-word query stay exact
// through every write that changes what a conversation's text holds:
// messages appended later, customer fields set and changed (a word the
// old name had stays found while a message still holds it), deletes, and
// another workspace's conversations with the same word, which never
// count. A store may answer these counts from its own per-conversation
// index of terms; its answer must equal the full-text search's.
func testCountTermsKept(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := newFixture(t, s)
	other.conv(t, nil, msg(conversation.RoleUser, "zeppelin overhead", 1))

	count := func(q string, types ...string) int64 {
		t.Helper()
		got, err := s.CountConversations(ctx, f.ws, conversation.Filter{Query: q, Types: types, CountLimit: conversation.QueryCountLimit})
		must(t, err)
		n, err := s.ListConversations(ctx, f.ws, conversation.Filter{Query: q, Types: types},
			conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}, page.Request{Limit: 100})
		must(t, err)
		if int64(len(n)) != got.Total {
			t.Errorf("q=%s types=%v: count %d, list %d", q, types, got.Total, len(n))
		}
		return got.Total
	}
	want := func(q string, n int64, types ...string) {
		t.Helper()
		if got := count(q, types...); got != n {
			t.Errorf("q=%s types=%v: count %d, want %d", q, types, got, n)
		}
	}

	a := f.conv(t, func(c *conversation.Conversation) { c.Customer.Name = "Ada Zeppelin" })
	b := f.conv(t, func(c *conversation.Conversation) { c.Type = conversation.TypeWidget },
		msg(conversation.RoleUser, "the zeppelin landed", 3))
	want("zeppelin", 2)
	want("zeppelin", 1, conversation.TypeWidget)
	want("ada", 1)

	// A word arriving in a later message counts once, however often.
	_, err := s.AppendMessages(ctx, f.ws, a.ID, []*conversation.Message{
		msg(conversation.RoleUser, "blimp blimp", 4), msg(conversation.RoleAssistant, "a blimp indeed", 5)})
	must(t, err)
	want("blimp", 1)

	// The customer's old name goes, unless a message still holds a word.
	_, err = s.AppendMessages(ctx, f.ws, a.ID, []*conversation.Message{msg(conversation.RoleUser, "ask ada", 6)})
	must(t, err)
	name := conversation.Customer{Name: "Grace Hopper"}
	_, _, err = s.UpdateConversation(ctx, f.ws, a.ID, conversation.Update{Customer: &name})
	must(t, err)
	want("zeppelin", 1)
	want("ada", 1)
	want("grace", 1)
	ext := "order-77"
	_, _, err = s.UpdateConversation(ctx, f.ws, b.ID, conversation.Update{ExternalIdentifier: &ext})
	must(t, err)
	want("77", 1)

	// Deleted conversations count no more.
	_, err = s.DeleteConversations(ctx, f.ws, []string{b.ID})
	must(t, err)
	want("zeppelin", 0)
	want("77", 0)
	_, err = s.DeleteConversations(ctx, f.ws, []string{a.ID})
	must(t, err)
	want("blimp", 0)
	want("grace", 0)

	// The other workspace's conversation was never counted, and is still there.
	got, err := s.CountConversations(ctx, other.ws, conversation.Filter{Query: "zeppelin", CountLimit: conversation.QueryCountLimit})
	must(t, err)
	if got.Total != 1 {
		t.Errorf("other workspace: %+v, want 1", got)
	}
}

// testCountTermsRandom runs a seeded random mix of creates (with customer
// fields), appends, customer changes and deletes in two workspaces, then
// checks every word's count against the full-text search's list of the
// same word, with and without a filter; and, when the store can rebuild
// its per-conversation terms the way its migration backfills them, that
// the rebuilt rows equal the rows its writes kept.
func testCountTermsRandom(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := newFixture(t, s)
	rnd := rand.New(rand.NewPCG(5, 8))
	words := []string{"parcel", "parcels", "refund", "café", "Straße", "配送", "zebra", "αθήνα", "ünïcode", "order-12"}
	text := func() string {
		n := 1 + rnd.IntN(3)
		var b strings.Builder
		for range n {
			b.WriteString(words[rnd.IntN(len(words))] + " ")
		}
		return b.String()
	}
	var live [2][]string
	fx := [2]*fixture{f, other}
	second := [2]*assistant.Assistant{newAssistant(t, s, f.ws, "Second"), newAssistant(t, s, other.ws, "Second")}
	senders := []string{"+15550101", "+15550102"}
	days := []time.Time{time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}
	for i := 1; i <= 4; i++ {
		days = append(days, days[0].AddDate(0, 0, i))
	}
	hour := func(d, h int) *time.Time { x := days[d].Add(time.Duration(h) * time.Hour); return &x }
	sec := 100
	for range 200 {
		w := rnd.IntN(2)
		fw := fx[w]
		sec++
		switch op := rnd.IntN(10); {
		case op < 3 || len(live[w]) == 0:
			c := fw.conv(t, func(c *conversation.Conversation) {
				c.Type = conversation.Types[rnd.IntN(len(conversation.Types))]
				// Over four days, with two assistants and two senders,
				// for the counts by assistant, day and sender.
				c.CreatedAt = days[0].Add(time.Duration(rnd.Int64N(int64(4 * 24 * time.Hour))))
				c.UpdatedAt = c.CreatedAt
				if rnd.IntN(2) == 0 {
					c.AssistantID, c.AssistantName = second[w].ID, second[w].Name
				}
				if c.Type == conversation.TypeWhatsApp {
					c.SenderID, c.SenderPhone = "wa_1", senders[rnd.IntN(len(senders))]
				}
				if rnd.IntN(2) == 0 {
					c.Customer.Name = text()
				}
				if rnd.IntN(3) == 0 {
					c.ExternalIdentifier = words[rnd.IntN(len(words))]
				}
			}, msg(conversation.RoleUser, text(), sec))
			live[w] = append(live[w], c.ID)
		case op < 7:
			_, err := s.AppendMessages(ctx, fw.ws, live[w][rnd.IntN(len(live[w]))],
				[]*conversation.Message{msg(conversation.RoleAssistant, text(), sec)})
			must(t, err)
		case op < 8:
			cust := conversation.Customer{Name: text(), Phone: "+1555000" + strconv.Itoa(rnd.IntN(10))}
			_, _, err := s.UpdateConversation(ctx, fw.ws, live[w][rnd.IntN(len(live[w]))], conversation.Update{Customer: &cust})
			must(t, err)
		case op < 9: // an end, sometimes with a customer change in the same update
			ended, now := conversation.StatusEnded, at(sec)
			u := conversation.Update{Status: &ended, EndedAt: &now, UpdatedAt: now}
			if rnd.IntN(2) == 0 {
				u.Customer = &conversation.Customer{Name: text()}
			}
			_, _, err := s.UpdateConversation(ctx, fw.ws, live[w][rnd.IntN(len(live[w]))], u)
			must(t, err)
		default:
			i := rnd.IntN(len(live[w]))
			_, err := s.DeleteConversations(ctx, fw.ws, []string{live[w][i]})
			must(t, err)
			live[w] = slices.Delete(live[w], i, i+1)
		}
	}
	desc := conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}
	for _, fw := range fx {
		// Prefixes too: one that starts a single term ("ref*") may be
		// counted as that term, one that starts several ("parc*") or none
		// ("xyz*") by the full-text index.
		for _, word := range append(slices.Clone(words), "ref*", "zeb*", "parc*", "xyz*") {
			for _, flt := range []conversation.Filter{{Query: word}, {Query: word, Types: []string{conversation.TypeAPI, conversation.TypeTest}},
				{Query: word, Status: conversation.StatusActive}, {Query: word, Status: conversation.StatusEnded},
				{Query: word, Status: conversation.StatusEnded, AssistantID: fw.asst.ID},
				{Query: word, AssistantID: fw.asst.ID},
				{Query: word, CreatedFrom: &days[1], CreatedTo: &days[3]},                               // whole days
				{Query: word, CreatedFrom: hour(1, 7), CreatedTo: hour(3, 13), AssistantID: fw.asst.ID}, // partial first and last
				{Query: word, CreatedFrom: hour(2, 5), Status: conversation.StatusActive},               // from only
				{Query: word, CreatedTo: hour(2, 5), Types: []string{conversation.TypeWhatsApp}},        // to only
				{Query: word, CreatedFrom: hour(1, 22), CreatedTo: hour(2, 3)},                          // across midnight
				{Query: word, CreatedFrom: hour(2, 3), CreatedTo: hour(2, 9)},                           // within a day
				{Query: word, CustomerPhone: "+15550003"},
				{Query: word, WhatsAppSenderPhone: senders[0], Status: conversation.StatusActive},
				{Query: word, WhatsAppSenderPhone: senders[1], CreatedFrom: hour(1, 12)},
				{Query: word, AssistantID: "asst_unknown"}} {
				list, err := s.ListConversations(ctx, fw.ws, flt, desc, page.Request{Limit: 100})
				must(t, err)
				flt.CountLimit = conversation.QueryCountLimit
				got, err := s.CountConversations(ctx, fw.ws, flt)
				must(t, err)
				byType := map[string]int64{}
				for _, c := range list {
					byType[c.Type]++
				}
				if len(list) == 100 {
					t.Fatalf("%s: the list filled its page; the count cannot be checked against it", describeFilter(flt))
				}
				if got.Total != int64(len(list)) {
					t.Errorf("%s %+v: count %d, list %d", fw.ws, describeFilter(flt)+" q="+word, got.Total, len(list))
				}
				for typ, n := range byType {
					if got.ByType[typ] != n {
						t.Errorf("%s q=%s: count of %s %d, list %d", fw.ws, word, typ, got.ByType[typ], n)
					}
				}
			}
		}
	}
	rb, ok := s.(interface {
		ConversationTerms(context.Context) ([]string, error)
		RebuildConversationTerms(context.Context) error
	})
	if !ok {
		return
	}
	kept, err := rb.ConversationTerms(ctx)
	must(t, err)
	if len(kept) < 50 {
		t.Fatalf("only %d term rows: the run was too thin to test the backfill", len(kept))
	}
	must(t, rb.RebuildConversationTerms(ctx))
	rebuilt, err := rb.ConversationTerms(ctx)
	must(t, err)
	if diff := cmp.Diff(kept, rebuilt); diff != "" {
		t.Errorf("conversation terms (-kept by the writes +rebuilt by the backfill):\n%s", diff)
	}
}

// testCountTermsWords checks one-word counts against the list for words
// whose normalisation is delicate: accents, Greek with and without its
// tonos, Cyrillic, CJK, apostrophes, words longer than an index term,
// and queries holding NUL or bytes that are not UTF-8.
func testCountTermsWords(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	long := strings.Repeat("é", 200) + "tail" // 400+ bytes: cut at 255
	texts := []string{"Αθήνα και Θεσσαλονίκη", "café Müller", "O'Brien's order", "東京で会いましょう",
		"привет й", long, "naïve Straße", "ﬁle ＡＢＣ", "हिन्दी में बात", "ภาษาไทย", "مَرْحَبًا بِكُمْ", "שָׁלוֹם", "abc123 123abc 1e5 0x1f v2"}
	for i, txt := range texts {
		f.conv(t, nil, msg(conversation.RoleUser, txt, 10+i))
	}
	f.conv(t, func(c *conversation.Conversation) { c.Customer.Name = "Ελένη O'Hara" })
	// A customer whose old name's words a message still holds: they stay
	// found when the name changes, whatever the script.
	kept := "हिन्दी मَرْحَبًا שָׁלוֹם 123abc " + long
	renamed := f.conv(t, func(c *conversation.Conversation) { c.Customer.Name = kept }, msg(conversation.RoleUser, kept, 30))
	_, _, err := s.UpdateConversation(ctx, f.ws, renamed.ID, conversation.Update{Customer: &conversation.Customer{Name: "Someone Else"}})
	must(t, err)
	ended, now := conversation.StatusEnded, at(40)
	_, _, err = s.UpdateConversation(ctx, f.ws, renamed.ID, conversation.Update{Status: &ended, EndedAt: &now, UpdatedAt: now,
		Customer: &conversation.Customer{Name: "Third Name"}})
	must(t, err)
	desc := conversation.Order{Sort: conversation.SortCreatedAt, Desc: true}
	for _, q := range []string{"αθήνα", "αθηνα", "ΑΘΗΝΑ", "θεσσαλονικη", "cafe", "café", "muller", "obrien", "o'brien", "brien",
		"東京", "会", "привет", "и", "й", long, long[:300], strings.Repeat("e", 200), "naive", "strasse", "file", "abc",
		"ελενη", "ελένη", "hara", "हिन्दी", "में", "ภาษาไทย", "مرحبا", "مَرْحَبًا", "שלום", "שָׁלוֹם", "abc123", "123abc", "1e5", "0x1f", "v2", "مرحبا", "someone", "third", "caf\x00e", "caf\xffe", "\xff", "\x00", "न*", "द*", "हि*", "हिन्दी*", "मَ*"} {
		for _, flt := range []conversation.Filter{{Query: q}, {Query: q, Status: conversation.StatusActive}} {
			list, err := s.ListConversations(ctx, f.ws, flt, desc, page.Request{Limit: 100})
			if err != nil {
				t.Errorf("list q=%q: %v", q, err)
				continue
			}
			flt.CountLimit = conversation.QueryCountLimit
			got, err := s.CountConversations(ctx, f.ws, flt)
			if err != nil {
				t.Errorf("count q=%q: %v", q, err)
				continue
			}
			if got.Total != int64(len(list)) {
				t.Errorf("q=%q status=%q: count %d, list %d", q, flt.Status, got.Total, len(list))
			}
		}
	}
}
