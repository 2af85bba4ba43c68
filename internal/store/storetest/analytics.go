package storetest

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store"
)

// testAnalytics checks the daily analytics against a recomputation from
// the rows after a seeded random run of creates, appends, ends and
// deletes, each made the way the service makes it. Deleted conversations
// keep their history: the recomputation counts them as they were read
// just before their delete. The other workspace's activity never shows.
func testAnalytics(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := newFixture(t, s)
	other.conv(t, nil, msg(conversation.RoleUser, "elsewhere", 1))
	assts := []string{f.asst.ID, newAssistant(t, s, f.ws, "Second").ID, newAssistant(t, s, f.ws, "Third").ID}
	rnd := rand.New(rand.NewPCG(11, 3))
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := start
	tick := func() time.Time { // time moves forward across about ten days
		clock = clock.Add(time.Duration(rnd.Int64N(int64(3*time.Hour))) + time.Millisecond)
		return clock
	}
	newMsg := func(now time.Time) *conversation.Message {
		m := &conversation.Message{ID: ids.NewAt(ids.Message, now), Content: "x", CreatedAt: now,
			Role: []string{conversation.RoleUser, conversation.RoleAssistant, conversation.RoleOperator, conversation.RoleSystem}[rnd.IntN(4)]}
		if m.Role == conversation.RoleAssistant || (m.Role == conversation.RoleSystem && rnd.IntN(2) == 0) {
			m.Model = "acme-1"
			m.Usage = &llm.Usage{InputTokens: rnd.Int64N(900), OutputTokens: rnd.Int64N(300), CachedInputTokens: rnd.Int64N(50),
				ReasoningTokens: rnd.Int64N(20)}
			if rnd.IntN(5) > 0 {
				m.Cost = cost(rnd.Int64N(2_000_000))
			}
			if m.Role == conversation.RoleAssistant {
				lat := rnd.Int64N(4000)
				m.LatencyMS = &lat
			}
		}
		return m
	}
	var made, gone []string
	snapshots := map[string]snapshot{} // deleted conversations as they were
	read := func(id string) snapshot {
		c, err := s.GetConversation(ctx, f.ws, id)
		must(t, err)
		msgs, err := s.ListMessages(ctx, f.ws, id, page.Request{Limit: 1000})
		must(t, err)
		return snapshot{c, msgs}
	}
	for i := 0; i < 300; i++ {
		now := tick()
		live := slices.DeleteFunc(slices.Clone(made), func(id string) bool { return slices.Contains(gone, id) })
		switch op := rnd.IntN(10); {
		case op < 3 || len(live) == 0: // create, maybe with a greeting
			var first []*conversation.Message
			if rnd.IntN(2) == 0 {
				g := newMsg(now)
				g.Role = conversation.RoleAssistant
				first = append(first, g)
			}
			c := f.conv(t, func(c *conversation.Conversation) {
				c.Type = conversation.Types[rnd.IntN(len(conversation.Types))]
				c.AssistantID = assts[rnd.IntN(len(assts))]
				c.CreatedAt, c.UpdatedAt = now, now
			}, first...)
			made = append(made, c.ID)
		case op < 8: // append one or two messages
			msgs := []*conversation.Message{newMsg(now)}
			if rnd.IntN(3) == 0 {
				msgs = append(msgs, newMsg(now))
			}
			_, err := s.AppendMessages(ctx, f.ws, live[rnd.IntN(len(live))], msgs)
			must(t, err)
		case op < 9: // end, as Service.End does (ending twice moves nothing)
			id := live[rnd.IntN(len(live))]
			status := conversation.StatusEnded
			must(t, s.Within(ctx, func(ctx context.Context) error {
				after, before, err := s.UpdateConversation(ctx, f.ws, id, conversation.Update{Status: &status, EndedAt: &now, UpdatedAt: now})
				if err != nil || before.Status == conversation.StatusEnded {
					return err
				}
				return s.AddCounts(ctx, f.ws, conversation.CountChange([]*conversation.Conversation{after}, []*conversation.Conversation{before}))
			}))
		default: // delete, as Service.BulkDelete does
			id := live[rnd.IntN(len(live))]
			snapshots[id] = read(id)
			must(t, s.Within(ctx, func(ctx context.Context) error {
				del, err := s.DeleteConversations(ctx, f.ws, []string{id})
				if err != nil {
					return err
				}
				return s.AddCounts(ctx, f.ws, conversation.CountChange(nil, del))
			}))
			gone = append(gone, id)
		}
	}
	// An update that is not an end changes no analytics.
	ai := false
	for _, id := range made {
		if !slices.Contains(gone, id) {
			_, _, err := s.UpdateConversation(ctx, f.ws, id, conversation.Update{AIEnabled: &ai, UpdatedAt: tick()})
			must(t, err)
			break
		}
	}

	var all []snapshot
	for _, id := range made {
		if snap, ok := snapshots[id]; ok {
			all = append(all, snap)
		} else {
			all = append(all, read(id))
		}
	}
	first, last := conversation.DayOf(start), conversation.DayOf(clock)
	filters := []conversation.ActivityFilter{
		{FromDay: first - 3, ToDay: last + 3},
		{FromDay: first + 2, ToDay: last - 2},
		{FromDay: first + 4, ToDay: first + 4},
		{FromDay: first - 3, ToDay: last + 3, AssistantID: assts[1]},
		{FromDay: first - 3, ToDay: last + 3, Types: []string{conversation.TypeAPI, conversation.TypeWhatsApp}},
		{FromDay: first + 1, ToDay: last, AssistantID: assts[2], Types: []string{conversation.TypeTest}},
		{FromDay: first - 3, ToDay: last + 3, AssistantID: other.asst.ID}, // another workspace's: nothing
		{FromDay: last + 1, ToDay: last + 9},
	}
	for _, fl := range filters {
		rows, err := s.ActivityRows(ctx, f.ws, fl)
		must(t, err)
		got := map[conversation.ActivityKey]conversation.Activity{}
		for _, r := range rows {
			if _, dup := got[r.ActivityKey]; dup {
				t.Errorf("filter %+v: row %+v twice", fl, r.ActivityKey)
			}
			if r.IsZero() {
				continue
			}
			got[r.ActivityKey] = r.Activity
		}
		if diff := cmp.Diff(recompute(all, fl), got); diff != "" {
			t.Errorf("analytics %+v (-recomputed from rows +stored):\n%s", fl, diff)
		}
	}
	whole := recompute(all, filters[0])
	var sum conversation.Activity
	for _, a := range whole {
		sum.Add(a)
	}
	if len(gone) < 5 || sum.ConversationsStarted < 60 || sum.ConversationsEnded < 10 || sum.Messages() < 100 ||
		sum.UnpricedMessages == 0 || sum.LatencyCount == 0 || len(whole) < 30 {
		t.Fatalf("the run was too thin to test much: %d deleted, %+v over %d rows", len(gone), sum, len(whole))
	}
	// The backfill of the migration, run on the same rows, gives the same
	// analytics but for the history of the deleted conversations, which it
	// cannot know.
	rb, ok := s.(interface{ RebuildAnalytics(context.Context) error })
	if !ok {
		t.Fatalf("%T has no RebuildAnalytics (export_test.go) to test its backfill with", s)
	}
	must(t, rb.RebuildAnalytics(ctx))
	var kept []snapshot
	for _, sn := range all {
		if !slices.Contains(gone, sn.c.ID) {
			kept = append(kept, sn)
		}
	}
	for _, fl := range filters[:2] {
		rows, err := s.ActivityRows(ctx, f.ws, fl)
		must(t, err)
		got := map[conversation.ActivityKey]conversation.Activity{}
		for _, r := range rows {
			got[r.ActivityKey] = r.Activity
		}
		if diff := cmp.Diff(recompute(kept, fl), got); diff != "" {
			t.Errorf("backfilled analytics %+v (-recomputed from rows +backfilled):\n%s", fl, diff)
		}
	}
	rows, err := s.ActivityRows(ctx, other.ws, conversation.ActivityFilter{FromDay: first - 400, ToDay: last})
	must(t, err)
	if len(rows) != 1 || rows[0].ConversationsStarted != 1 || rows[0].UserMessages != 1 {
		t.Errorf("the other workspace's backfilled analytics: %+v", rows)
	}
	rows, err = s.ActivityRows(ctx, f.ws, conversation.ActivityFilter{FromDay: first, ToDay: last, AssistantID: f.asst.ID})
	must(t, err)
	for _, r := range rows {
		if r.AssistantName != f.asst.Name {
			t.Fatalf("row %+v: assistant name %q, want %q", r.ActivityKey, r.AssistantName, f.asst.Name)
		}
	}
}

// snapshot is a conversation and its transcript as read from the store.
type snapshot struct {
	c    *conversation.Conversation
	msgs []*conversation.Message
}

// recompute sums the conversations and messages of snaps into daily rows,
// from their stored fields, independently of the domain's rules.
func recompute(snaps []snapshot, fl conversation.ActivityFilter) map[conversation.ActivityKey]conversation.Activity {
	out := map[conversation.ActivityKey]conversation.Activity{}
	add := func(c *conversation.Conversation, at time.Time, fn func(*conversation.Activity)) {
		k := conversation.ActivityKey{Day: at.UTC().Unix() / 86400, AssistantID: c.AssistantID, Type: c.Type}
		if k.Day < fl.FromDay || k.Day > fl.ToDay || (fl.AssistantID != "" && k.AssistantID != fl.AssistantID) ||
			(len(fl.Types) > 0 && !slices.Contains(fl.Types, k.Type)) {
			return
		}
		a := out[k]
		fn(&a)
		out[k] = a
	}
	for _, sn := range snaps {
		c := sn.c
		add(c, c.CreatedAt, func(a *conversation.Activity) { a.ConversationsStarted++ })
		if c.Status == conversation.StatusEnded {
			add(c, *c.EndedAt, func(a *conversation.Activity) { a.ConversationsEnded++ })
		}
		for _, m := range sn.msgs {
			add(c, m.CreatedAt, func(a *conversation.Activity) {
				switch m.Role {
				case conversation.RoleUser:
					a.UserMessages++
				case conversation.RoleAssistant:
					a.AssistantMessages++
				case conversation.RoleOperator:
					a.OperatorMessages++
				default:
					a.SystemMessages++
				}
				if u := m.Usage; u != nil {
					a.Usage.InputTokens += u.InputTokens
					a.Usage.OutputTokens += u.OutputTokens
					a.Usage.CachedInputTokens += u.CachedInputTokens
					a.Usage.ReasoningTokens += u.ReasoningTokens
					a.Usage.TotalTokens += u.TotalTokens
				}
				if m.Cost != nil {
					a.Cost += *m.Cost
				} else if m.Model != "" {
					a.UnpricedMessages++
				}
				if m.LatencyMS != nil {
					a.LatencyMSSum += *m.LatencyMS
					a.LatencyCount++
				}
			})
		}
	}
	return out
}
