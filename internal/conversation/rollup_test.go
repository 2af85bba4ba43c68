package conversation

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/money"
)

func TestAddMessages(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	cost := func(n int64) *money.Money { m := money.Money(n); return &m }
	base := func() *Conversation {
		return &Conversation{ID: "conv_x", Seq: 7, MessageCount: 2, CostComplete: true, UpdatedAt: t0,
			Usage: llm.Usage{InputTokens: 10, OutputTokens: 5, TotalTokens: 15}, TotalCost: 100}
	}
	cases := []struct {
		name string
		msgs []*Message
		want func(*Conversation)
		err  string // fault code, when the messages are refused
	}{
		{
			name: "a user message",
			msgs: []*Message{{Role: RoleUser, Content: "hello", CreatedAt: t0.Add(time.Second)}},
			want: func(c *Conversation) {
				c.MessageCount = 3
				c.UpdatedAt = t0.Add(time.Second)
				c.LastMessage = &LastMessage{Role: RoleUser, Preview: "hello", CreatedAt: t0.Add(time.Second)}
			},
		},
		{
			name: "customer messages on a channel, out of order: the latest sets the window's start",
			msgs: []*Message{
				{Role: RoleUser, Content: "b", CreatedAt: t0.Add(3 * time.Second), Channel: &ChannelData{Kind: "text"}},
				{Role: RoleUser, Content: "a", CreatedAt: t0.Add(time.Second), Channel: &ChannelData{Kind: "text"}},
				{Role: RoleSystem, Content: "number changed", CreatedAt: t0.Add(5 * time.Second), Channel: &ChannelData{Kind: "system"}},
				{Role: RoleUser, Content: "api", CreatedAt: t0.Add(6 * time.Second)},
			},
			want: func(c *Conversation) {
				c.MessageCount = 6
				c.UpdatedAt = t0.Add(6 * time.Second)
				at := t0.Add(3 * time.Second)
				c.CustomerMessageAt = &at
				c.LastMessage = &LastMessage{Role: RoleUser, Preview: "api", CreatedAt: t0.Add(6 * time.Second)}
			},
		},
		{
			name: "a priced reply with the provider's own total",
			msgs: []*Message{{Role: RoleAssistant, Content: "hi", CreatedAt: t0.Add(2 * time.Second), Model: "m",
				Usage: &llm.Usage{InputTokens: 20, OutputTokens: 8, CachedInputTokens: 4, ReasoningTokens: 3, TotalTokens: 30},
				Cost:  cost(50)}},
			want: func(c *Conversation) {
				c.MessageCount = 3
				c.Usage = llm.Usage{InputTokens: 30, OutputTokens: 13, CachedInputTokens: 4, ReasoningTokens: 3, TotalTokens: 45}
				c.TotalCost = 150
				c.UpdatedAt = t0.Add(2 * time.Second)
				c.LastMessage = &LastMessage{Role: RoleAssistant, Preview: "hi", CreatedAt: t0.Add(2 * time.Second)}
			},
		},
		{
			name: "a reply without a total gets input + output",
			msgs: []*Message{{Role: RoleAssistant, Content: "hi", CreatedAt: t0, Model: "m",
				Usage: &llm.Usage{InputTokens: 20, OutputTokens: 8}, Cost: cost(0)}},
			want: func(c *Conversation) {
				c.MessageCount = 3
				c.Usage = llm.Usage{InputTokens: 30, OutputTokens: 13, TotalTokens: 43}
				c.LastMessage = &LastMessage{Role: RoleAssistant, Preview: "hi", CreatedAt: t0}
			},
		},
		{
			name: "an unpriced reply makes the cost incomplete; an older message keeps recency",
			msgs: []*Message{{Role: RoleAssistant, Content: "hi", CreatedAt: t0.Add(-time.Hour), Model: "m",
				Usage: &llm.Usage{InputTokens: 1, OutputTokens: 1}}},
			want: func(c *Conversation) {
				c.MessageCount = 3
				c.CostComplete = false
				c.Usage = llm.Usage{InputTokens: 11, OutputTokens: 6, TotalTokens: 17}
				c.LastMessage = &LastMessage{Role: RoleAssistant, Preview: "hi", CreatedAt: t0.Add(-time.Hour)}
			},
		},
		{
			name: "token sums that overflow are refused",
			msgs: []*Message{{Role: RoleAssistant, Content: "x", CreatedAt: t0, Model: "m",
				Usage: &llm.Usage{InputTokens: math.MaxInt64, OutputTokens: 1}, Cost: cost(1)}},
			err: fault.CodeConflict,
		},
		{
			name: "negative usage is refused",
			msgs: []*Message{{Role: RoleAssistant, Content: "x", CreatedAt: t0, Model: "m",
				Usage: &llm.Usage{InputTokens: -5, OutputTokens: 1}, Cost: cost(1)}},
			err: fault.CodeConflict,
		},
		{
			name: "money sums that overflow are refused",
			msgs: []*Message{{Role: RoleAssistant, Content: "x", CreatedAt: t0, Model: "m",
				Usage: &llm.Usage{InputTokens: 1, OutputTokens: 1}, Cost: cost(math.MaxInt64)}},
			err: fault.CodeConflict,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			err := c.AddMessages(tc.msgs)
			if tc.err != "" {
				if !fault.Is(err, tc.err) || !errors.Is(err, ErrTotalsOverflow) {
					t.Fatalf("err = %v, want %s overflow", err, tc.err)
				}
				if diff := cmp.Diff(base(), c); diff != "" {
					t.Errorf("a refused append changed the conversation:\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := base()
			tc.want(want)
			if diff := cmp.Diff(want, c); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for i, m := range tc.msgs {
				if m.Seq != MessageSeq(7, 3+int64(i)) || m.ConversationID != "conv_x" {
					t.Errorf("message %d numbered %d of %q", i, m.Seq, m.ConversationID)
				}
			}
		})
	}
}

func TestAddMessagesWhenFull(t *testing.T) {
	c := &Conversation{ID: "conv_x", MessageCount: MaxMessages}
	if err := c.AddMessages([]*Message{{Role: RoleUser, Content: "x"}}); !fault.Is(err, fault.CodeConflict) {
		t.Fatalf("err = %v", err)
	}
}

func TestStorableText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":         "plain",
		"nul\x00inside": "nulinside",
		"bad \xff byte": "bad \uFFFD byte",
		"東京で会いましょう":     "東京で会いましょう",
	} {
		if got := StorableText(in); got != want {
			t.Errorf("StorableText(%q) = %q, want %q", in, got, want)
		}
	}
}
