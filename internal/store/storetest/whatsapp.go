package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/store"
	"github.com/parley-dev/parley/internal/whatsapp"
)

func newSender(t *testing.T, s store.Store, ws, assistantID, pnid string) *whatsapp.Sender {
	t.Helper()
	snd := &whatsapp.Sender{ID: ids.NewAt(ids.Sender, base), WorkspaceID: ws, Name: "Sales " + pnid, Phone: "+15550783881",
		PhoneNumberID: pnid, WABAID: "1022901293", SealedToken: "v1:sealed-token", AssistantID: assistantID,
		Status: "CONNECTED", QualityRating: "GREEN", CreatedAt: at(1), UpdatedAt: at(1)}
	must(t, s.CreateSender(context.Background(), snd))
	return snd
}

// testWhatsAppSenders: senders round-trip, are scoped by workspace (an id
// of another workspace is not found, for reading, listing, changing and
// deleting), are routed by phone number id across workspaces, and a
// phone number id belongs to one sender only.
func testWhatsAppSenders(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := newWorkspace(t, s, "Other")
	otherAsst := newAssistant(t, s, other, "Theirs")
	snd := newSender(t, s, f.ws, f.asst.ID, "106540352242922")
	theirs := newSender(t, s, other, otherAsst.ID, "106540352242999")

	got, err := s.GetSender(ctx, f.ws, snd.ID)
	must(t, err)
	if diff := cmp.Diff(snd, got); diff != "" {
		t.Errorf("sender (-want +got):\n%s", diff)
	}
	_, err = s.GetSender(ctx, f.ws, theirs.ID)
	wantCode(t, err, fault.CodeNotFound)
	list, err := s.ListSenders(ctx, f.ws)
	must(t, err)
	if len(list) != 1 || list[0].ID != snd.ID {
		t.Errorf("list = %v, want only the workspace's sender", list)
	}
	routed, err := s.SenderByPhoneNumberID(ctx, "106540352242999")
	must(t, err)
	if routed.ID != theirs.ID || routed.WorkspaceID != other {
		t.Errorf("routed to %s in %s", routed.ID, routed.WorkspaceID)
	}
	_, err = s.SenderByPhoneNumberID(ctx, "1")
	wantCode(t, err, fault.CodeNotFound)
	byWABA, err := s.SendersByWABA(ctx, "1022901293")
	must(t, err)
	if len(byWABA) != 2 {
		t.Errorf("%d senders of the WABA, want 2", len(byWABA))
	}

	dup := *snd
	dup.ID = ids.NewAt(ids.Sender, at(2))
	dup.WorkspaceID = other
	wantCode(t, s.CreateSender(ctx, &dup), fault.CodeValidation)

	// Another workspace cannot change or delete it, even knowing its id.
	hijack := *theirs
	hijack.WorkspaceID = f.ws
	hijack.Name = "Hijacked"
	wantCode(t, s.UpdateSender(ctx, &hijack), fault.CodeNotFound)
	wantCode(t, s.DeleteSender(ctx, f.ws, theirs.ID), fault.CodeNotFound)
	got, err = s.GetSender(ctx, other, theirs.ID)
	must(t, err)
	if got.Name != theirs.Name {
		t.Errorf("another workspace renamed the sender to %q", got.Name)
	}

	snd.Name, snd.Status, snd.QualityRating, snd.UpdatedAt = "Support", "FLAGGED", "YELLOW", at(9)
	must(t, s.UpdateSender(ctx, snd))
	got, err = s.GetSender(ctx, f.ws, snd.ID)
	must(t, err)
	if diff := cmp.Diff(snd, got); diff != "" {
		t.Errorf("updated sender (-want +got):\n%s", diff)
	}
	taken := *snd
	taken.PhoneNumberID = theirs.PhoneNumberID
	wantCode(t, s.UpdateSender(ctx, &taken), fault.CodeValidation)

	// A refresh writes the status and rating only, and only in the
	// sender's workspace.
	must(t, s.SetSenderNumber(ctx, f.ws, snd.ID, "CONNECTED", "GREEN", at(12)))
	got, err = s.GetSender(ctx, f.ws, snd.ID)
	must(t, err)
	if got.Status != "CONNECTED" || got.QualityRating != "GREEN" || got.UpdatedAt != at(12) || got.Name != "Support" ||
		got.SealedToken != snd.SealedToken {
		t.Errorf("after the number refresh: %+v", got)
	}
	wantCode(t, s.SetSenderNumber(ctx, f.ws, theirs.ID, "BANNED", "RED", at(13)), fault.CodeNotFound)

	must(t, s.DeleteSender(ctx, f.ws, snd.ID))
	_, err = s.GetSender(ctx, f.ws, snd.ID)
	wantCode(t, err, fault.CodeNotFound)
	wantCode(t, s.DeleteSender(ctx, f.ws, snd.ID), fault.CodeNotFound)
}

// testWhatsAppEarlyReceipts: receipts kept for a wamid are taken once,
// only in their workspace; keeping one drops those received before the
// horizon it is given.
func testWhatsAppEarlyReceipts(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := newWorkspace(t, s, "Other")
	st := func(wamid, status string) *whatsapp.Status {
		return &whatsapp.Status{ID: wamid, Status: status, Timestamp: at(1), RecipientPhone: "+15550001",
			Pricing: &conversation.Pricing{Category: "utility", Type: "regular"},
			Errors:  []whatsapp.APIError{{Code: 131026, Title: "Undeliverable"}}}
	}
	must(t, s.KeepEarlyReceipt(ctx, f.ws, st("wamid.E1", "sent"), at(10), at(0)))
	must(t, s.KeepEarlyReceipt(ctx, f.ws, st("wamid.E1", "delivered"), at(11), at(0)))
	must(t, s.KeepEarlyReceipt(ctx, f.ws, st("wamid.OLD", "sent"), at(12), at(0)))
	// Keeping one at 100 drops what came before 12.
	must(t, s.KeepEarlyReceipt(ctx, f.ws, st("wamid.E2", "sent"), at(100), at(12)))
	if got, err := s.TakeEarlyReceipts(ctx, other, "wamid.E2"); err != nil || len(got) != 0 {
		t.Errorf("another workspace took %v, %v", got, err)
	}
	got, err := s.TakeEarlyReceipts(ctx, f.ws, "wamid.OLD")
	must(t, err)
	if len(got) != 1 || got[0].Status != "sent" || got[0].Pricing == nil || got[0].Pricing.Category != "utility" ||
		len(got[0].Errors) != 1 || got[0].Errors[0].Code != 131026 || !got[0].Timestamp.Equal(at(1)) {
		t.Errorf("kept receipt: %+v", got)
	}
	if got, _ := s.TakeEarlyReceipts(ctx, f.ws, "wamid.E1"); len(got) != 0 {
		t.Errorf("receipts received before the horizon were kept: %+v", got)
	}
	if got, _ := s.TakeEarlyReceipts(ctx, f.ws, "wamid.OLD"); len(got) != 0 {
		t.Errorf("taken twice: %+v", got)
	}
}

// testWhatsAppWamidLock: a receipt locking its wamid while a send holds
// the lock and records that wamid waits for the send's commit, and then
// finds the wamid (it would otherwise miss it, keep the receipt as early
// after the send looked for early ones, and strand it).
func testWhatsAppWamidLock(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	c := f.conv(t, nil)
	const wamid = "wamid.LOCKED"
	locked := make(chan struct{})
	found := make(chan error, 1)
	go func() {
		<-locked
		found <- s.Within(ctx, func(ctx context.Context) error {
			if err := s.LockWamids(ctx, []string{"wamid.OTHER", wamid}); err != nil {
				return err
			}
			_, _, _, err := s.LookupWamid(ctx, f.ws, wamid)
			return err
		})
	}()
	must(t, s.Within(ctx, func(ctx context.Context) error {
		if err := s.LockWamids(ctx, []string{wamid}); err != nil {
			return err
		}
		close(locked)
		time.Sleep(100 * time.Millisecond) // the receipt's lookup runs now, unless it waits
		_, err := s.ClaimWamid(ctx, f.ws, wamid, c.ID, "msg_1", true)
		return err
	}))
	if err := <-found; err != nil {
		t.Errorf("the receipt did not wait for the send's record: %v", err)
	}
	must(t, s.LockWamids(ctx, nil))
}

// testWhatsAppWamids: a wamid is claimed once — again, or by many
// deliveries at the same time, it is not fresh — and is found, filed
// under its conversation, only in its workspace.
func testWhatsAppWamids(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := newWorkspace(t, s, "Other")
	c := f.conv(t, nil)
	fresh, err := s.ClaimWamid(ctx, f.ws, "wamid.A1", "", "msg_1", false)
	must(t, err)
	if !fresh {
		t.Fatal("first claim not fresh")
	}
	fresh, err = s.ClaimWamid(ctx, f.ws, "wamid.A1", "", "msg_2", false)
	must(t, err)
	if fresh {
		t.Error("second claim fresh")
	}
	must(t, s.AttachWamid(ctx, f.ws, "wamid.A1", c.ID))
	conv, msg, out, err := s.LookupWamid(ctx, f.ws, "wamid.A1")
	must(t, err)
	if conv != c.ID || msg != "msg_1" || out {
		t.Errorf("lookup = %s %s %v, want %s msg_1 inbound", conv, msg, out, c.ID)
	}
	_, _, _, err = s.LookupWamid(ctx, other, "wamid.A1")
	wantCode(t, err, fault.CodeNotFound)
	// Another workspace cannot refile it.
	must(t, s.AttachWamid(ctx, other, "wamid.A1", "conv_theirs"))
	if conv, _, _, _ := s.LookupWamid(ctx, f.ws, "wamid.A1"); conv != c.ID {
		t.Errorf("another workspace moved the wamid to %s", conv)
	}
	fresh, err = s.ClaimWamid(ctx, f.ws, "wamid.OUT1", c.ID, "msg_3", true)
	must(t, err)
	if _, _, out, _ := s.LookupWamid(ctx, f.ws, "wamid.OUT1"); !fresh || !out {
		t.Error("outbound wamid not recorded as outbound")
	}

	// Concurrent deliveries of one message, each in its own transaction
	// (as webhook requests are): exactly one claims it.
	for round := range 3 {
		wamid := fmt.Sprintf("wamid.RACE%d", round)
		var wins atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Go(func() {
				errs <- s.Within(ctx, func(ctx context.Context) error {
					ok, err := s.ClaimWamid(ctx, f.ws, wamid, "", fmt.Sprintf("msg_r%d", i), false)
					if ok {
						wins.Add(1)
					}
					return err
				})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		if n := wins.Load(); n != 1 {
			t.Errorf("round %d: %d concurrent claims won, want 1", round, n)
		}
	}
}

// testWhatsAppThreads: a thread is found by the customer's user id or
// phone (the user id wins), a second thread cannot take an identifier a
// thread holds (the new-contact race), identifier changes move the thread
// (found under the new one, not the old), and everything is scoped by
// workspace and sender.
func testWhatsAppThreads(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := newWorkspace(t, s, "Other")
	snd := newSender(t, s, f.ws, f.asst.ID, "1001")
	snd2 := newSender(t, s, f.ws, f.asst.ID, "1002")
	c1, c2 := f.conv(t, nil), f.conv(t, nil)
	thread := func(id, sender, phone, user, conv string) *whatsapp.Thread {
		return &whatsapp.Thread{ID: id, WorkspaceID: f.ws, SenderID: sender, Phone: phone, UserID: user,
			ConversationID: conv, CreatedAt: at(3)}
	}
	insert := func(th *whatsapp.Thread, want bool) {
		t.Helper()
		ok, err := s.InsertThread(ctx, th)
		must(t, err)
		if ok != want {
			t.Errorf("insert %s (phone %q, user %q) = %v, want %v", th.ID, th.Phone, th.UserID, ok, want)
		}
	}
	find := func(ws, sender, phone, user, want string) {
		t.Helper()
		th, err := s.FindThread(ctx, ws, sender, phone, user)
		if want == "" {
			wantCode(t, err, fault.CodeNotFound)
			return
		}
		must(t, err)
		if th.ID != want {
			t.Errorf("find(%q, %q) = %s, want %s", phone, user, th.ID, want)
		}
	}
	both := thread("wath_1", snd.ID, "+16505551234", "US.111", c1.ID)
	insert(both, true)
	userOnly := thread("wath_2", snd.ID, "", "US.222", c2.ID)
	insert(userOnly, true)
	insert(thread("wath_3", snd.ID, "+16505551234", "", c2.ID), false) // the phone is taken
	insert(thread("wath_4", snd.ID, "", "US.222", c2.ID), false)       // the user id is taken
	insert(thread("wath_5", snd2.ID, "+16505551234", "US.111", c2.ID), true)

	find(f.ws, snd.ID, "+16505551234", "", "wath_1")
	find(f.ws, snd.ID, "", "US.111", "wath_1")
	find(f.ws, snd.ID, "", "US.222", "wath_2")
	find(f.ws, snd2.ID, "+16505551234", "", "wath_5")
	find(f.ws, snd.ID, "+16505550000", "", "")
	find(f.ws, snd.ID, "", "", "")
	find(other, snd.ID, "+16505551234", "US.111", "")
	// The user id wins over the phone when they name different threads.
	find(f.ws, snd.ID, "+16505551234", "US.222", "wath_2")

	got, err := s.FindThread(ctx, f.ws, snd.ID, "", "US.111")
	must(t, err)
	if diff := cmp.Diff(both, got); diff != "" {
		t.Errorf("thread (-want +got):\n%s", diff)
	}

	// user_changed_number: the thread moves to the new phone.
	both.Phone = "+16505559999"
	must(t, s.UpdateThread(ctx, both))
	find(f.ws, snd.ID, "+16505559999", "", "wath_1")
	find(f.ws, snd.ID, "+16505551234", "", "")
	// user_changed_user_id: and to the new user id.
	both.UserID = "US.333"
	must(t, s.UpdateThread(ctx, both))
	find(f.ws, snd.ID, "", "US.333", "wath_1")
	find(f.ws, snd.ID, "", "US.111", "")
	// The user id-only customer shares a phone later.
	userOnly.Phone = "+447700900123"
	must(t, s.UpdateThread(ctx, userOnly))
	find(f.ws, snd.ID, "+447700900123", "", "wath_2")
	// An identifier another thread holds is refused.
	userOnly.UserID = "US.333"
	wantCode(t, s.UpdateThread(ctx, userOnly), fault.CodeConflict)
	// A new conversation for the thread.
	both.ConversationID = c2.ID
	must(t, s.UpdateThread(ctx, both))
	got, err = s.FindThread(ctx, f.ws, snd.ID, "+16505559999", "")
	must(t, err)
	if got.ConversationID != c2.ID {
		t.Errorf("thread's conversation %s, want %s", got.ConversationID, c2.ID)
	}
	// Two first messages of a new contact in flight at once: one thread.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			must(t, s.Within(ctx, func(ctx context.Context) error {
				ok, err := s.InsertThread(ctx, thread(fmt.Sprintf("wath_new%d", i), snd.ID, "+15550001234", "US.NEW", c1.ID))
				if ok {
					wins.Add(1)
				}
				return err
			}))
		})
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Errorf("%d concurrent first threads of one customer, want 1", n)
	}
	// Another workspace cannot move it.
	hijack := *both
	hijack.WorkspaceID, hijack.Phone = other, "+10000000000"
	_ = s.UpdateThread(ctx, &hijack)
	find(f.ws, snd.ID, "+16505559999", "", "wath_1")

	// Former identifiers and the time each was given up are kept, and
	// FormerThreads finds the threads that held an identifier at a time
	// before that (never one still holding it, nor one that gave it up
	// earlier), only in its workspace and sender.
	former := func(ws, sender, phone, user string, sec int, want ...string) {
		t.Helper()
		list, err := s.FormerThreads(ctx, ws, sender, phone, user, at(sec))
		must(t, err)
		var got []string
		for _, th := range list {
			got = append(got, th.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("former(%q, %q, at %d) = %v, want %v", phone, user, sec, got, want)
		}
	}
	former(f.ws, snd.ID, "+16505559999", "", 0)
	moved := thread("wath_6", snd.ID, "+17075550001", "US.601", c1.ID)
	insert(moved, true)
	if !moved.Reidentify("+17075550002", "", at(5)) {
		t.Fatal("Reidentify changed nothing")
	}
	must(t, s.UpdateThread(ctx, moved))
	got, err = s.FindThread(ctx, f.ws, snd.ID, "+17075550002", "")
	must(t, err)
	if diff := cmp.Diff(moved, got); diff != "" {
		t.Errorf("thread after a change of number (-want +got):\n%s", diff)
	}
	if got.PhoneChangedAt == nil || !got.PhoneChangedAt.Equal(at(5)) || got.FormerPhone != "+17075550001" || got.UserIDChangedAt != nil {
		t.Errorf("change not kept: %+v", got)
	}
	find(f.ws, snd.ID, "+17075550001", "", "")
	former(f.ws, snd.ID, "+17075550001", "", 4, "wath_6")
	former(f.ws, snd.ID, "+17075550001", "", 5) // at the change: the new number's
	former(f.ws, snd.ID, "+17075550002", "", 4) // it holds it now
	// The number passed to someone who gave it up later too: both held it
	// before the first change.
	again := thread("wath_7", snd.ID, "+17075550001", "", c2.ID)
	insert(again, true)
	again.Reidentify("+17075550003", "", at(7))
	must(t, s.UpdateThread(ctx, again))
	former(f.ws, snd.ID, "+17075550001", "", 4, "wath_6", "wath_7")
	former(f.ws, snd.ID, "+17075550001", "", 6, "wath_7")
	// A later change of user id keeps the time of the phone's.
	moved.Reidentify("", "US.602", at(8))
	must(t, s.UpdateThread(ctx, moved))
	former(f.ws, snd.ID, "", "US.601", 7, "wath_6")
	former(f.ws, snd.ID, "+17075550001", "", 6, "wath_7")
	former(other, snd.ID, "+17075550001", "US.601", 4)
	former(f.ws, snd2.ID, "+17075550001", "US.601", 4)
	// A thread inserted with its history keeps it.
	born := thread("wath_8", snd.ID, "+17075550009", "", c2.ID)
	born.FormerUserID, born.UserIDChangedAt = "US.800", new(at(9))
	insert(born, true)
	got, err = s.FindThread(ctx, f.ws, snd.ID, "+17075550009", "")
	must(t, err)
	if diff := cmp.Diff(born, got); diff != "" {
		t.Errorf("inserted thread (-want +got):\n%s", diff)
	}
}

// testWhatsAppStatuses: receipts applied through UpdateMessage move an
// outbound message's status forward only, whatever order they come in;
// a failure keeps its error; pricing and the fee are stored once.
func testWhatsAppStatuses(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	out := &conversation.Message{ID: ids.NewAt(ids.Message, at(5)), Role: conversation.RoleAssistant, Content: "Hi",
		Status: conversation.MessagePending, ExternalID: "wamid.OUT1", CreatedAt: at(5)}
	failing := &conversation.Message{ID: ids.NewAt(ids.Message, at(6)), Role: conversation.RoleAssistant, Content: "Later",
		Status: conversation.MessagePending, ExternalID: "wamid.OUT2", CreatedAt: at(6)}
	c := f.conv(t, func(c *conversation.Conversation) { c.Type = conversation.TypeWhatsApp }, out, failing)
	apply := func(m *conversation.Message, status string, pricing *conversation.Pricing, fee money.Money) *conversation.Message {
		t.Helper()
		_, got, err := s.UpdateMessage(ctx, f.ws, c.ID, m.ID, func(c *conversation.Conversation, m *conversation.Message) (bool, error) {
			next, changed := conversation.NextStatus(m.Status, status)
			m.Status = next
			if next == conversation.MessageFailed && changed {
				m.Error = &conversation.MessageError{Code: "131047", Message: "Re-engagement message"}
			}
			if pricing != nil && m.Pricing == nil {
				p := *pricing
				m.Pricing, changed = &p, true
				ok, err := c.AddChannelCost(m, fee)
				if err != nil {
					return false, err
				}
				changed = changed || ok
			}
			return changed, nil
		})
		must(t, err)
		return got
	}
	pricing := &conversation.Pricing{Category: "utility", Type: "regular"}
	for _, st := range []string{conversation.MessageDelivered, conversation.MessageSent, conversation.MessageRead,
		conversation.MessageDelivered, conversation.MessageFailed, conversation.MessageSent} {
		apply(out, st, pricing, money.Money(4_000_000))
	}
	read := func(id string) (*conversation.Message, error) {
		_, m, err := s.UpdateMessage(ctx, f.ws, c.ID, id, func(*conversation.Conversation, *conversation.Message) (bool, error) {
			return false, nil
		})
		return m, err
	}
	got, err := read(out.ID)
	must(t, err)
	if got.Status != conversation.MessageRead || got.Error != nil {
		t.Errorf("status %q error %v after delivered, sent, read, delivered, failed, sent; want read", got.Status, got.Error)
	}
	if got.Pricing == nil || *got.Pricing != *pricing || got.ChannelCost == nil || *got.ChannelCost != 4_000_000 {
		t.Errorf("pricing %v fee %v, want %v and 0.004 USD once", got.Pricing, got.ChannelCost, pricing)
	}
	apply(failing, conversation.MessageSent, nil, 0)
	apply(failing, conversation.MessageFailed, nil, 0)
	apply(failing, conversation.MessageDelivered, nil, 0)
	got, err = read(failing.ID)
	must(t, err)
	if got.Status != conversation.MessageFailed || got.Error == nil || got.Error.Code != "131047" {
		t.Errorf("status %q error %v, want failed with 131047", got.Status, got.Error)
	}
	conv, err := s.GetConversation(ctx, f.ws, c.ID)
	must(t, err)
	if conv.ChannelCost == nil || *conv.ChannelCost != 4_000_000 {
		t.Errorf("conversation channel cost %v, want 0.004 USD", conv.ChannelCost)
	}
}

// testWhatsAppTemplates: templates are upserted by (workspace, WABA,
// name, language) keeping their first id, synced statuses apply to every
// language or one, and reads and deletes are scoped by workspace.
func testWhatsAppTemplates(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := newWorkspace(t, s, "Other")
	snd := newSender(t, s, f.ws, f.asst.ID, "2001")
	tpl := func(id, ws, name, lang, status string) *whatsapp.Template {
		return &whatsapp.Template{ID: id, WorkspaceID: ws, SenderID: snd.ID, WABAID: "777", MetaID: "m-" + id, Name: name,
			Language: lang, Category: whatsapp.CategoryUtility, Status: status,
			Components: json.RawMessage(`[{"type":"BODY","text":"Order {{1}} ships {{2}}"}]`), CreatedAt: at(2), UpdatedAt: at(2)}
	}
	en := tpl("watpl_1", f.ws, "order_update", "en_US", whatsapp.TemplatePending)
	must(t, s.UpsertTemplate(ctx, en))
	de := tpl("watpl_2", f.ws, "order_update", "de", whatsapp.TemplatePending)
	must(t, s.UpsertTemplate(ctx, de))
	theirs := tpl("watpl_3", other, "order_update", "en_US", whatsapp.TemplatePending)
	must(t, s.UpsertTemplate(ctx, theirs))

	// A sync brings the same template again under a new id: the first
	// id stays, the rest is replaced.
	again := tpl("watpl_9", f.ws, "order_update", "en_US", whatsapp.TemplateApproved)
	again.Category, again.UpdatedAt = whatsapp.CategoryMarketing, at(8)
	must(t, s.UpsertTemplate(ctx, again))
	if again.ID != en.ID {
		t.Errorf("upsert gave id %s, want the stored %s", again.ID, en.ID)
	}
	got, err := s.GetTemplate(ctx, f.ws, en.ID)
	must(t, err)
	if got.Status != whatsapp.TemplateApproved || got.Category != whatsapp.CategoryMarketing || got.CreatedAt != at(2) ||
		got.UpdatedAt != at(8) || got.ParamCount() != 2 {
		t.Errorf("after upsert: %+v", got)
	}
	found, err := s.FindTemplate(ctx, f.ws, "777", "order_update", "de")
	must(t, err)
	if found.ID != de.ID {
		t.Errorf("find = %s, want %s", found.ID, de.ID)
	}
	_, err = s.GetTemplate(ctx, f.ws, theirs.ID)
	wantCode(t, err, fault.CodeNotFound)
	list, err := s.ListTemplates(ctx, f.ws)
	must(t, err)
	if len(list) != 2 || list[0].Language != "de" || list[1].Language != "en_US" {
		t.Errorf("list = %v, want de then en_US of this workspace", list)
	}

	// A status webhook names the WABA, the template and its language.
	n, err := s.SetTemplateStatus(ctx, "777", "order_update", "de", whatsapp.TemplateRejected, "INVALID_FORMAT", at(9))
	must(t, err)
	if n != 1 {
		t.Errorf("set status of one language changed %d", n)
	}
	got, err = s.GetTemplate(ctx, f.ws, de.ID)
	must(t, err)
	if got.Status != whatsapp.TemplateRejected || got.Reason != "INVALID_FORMAT" {
		t.Errorf("rejected template: %q %q", got.Status, got.Reason)
	}
	n, err = s.SetTemplateStatus(ctx, "777", "order_update", "", whatsapp.TemplatePaused, "", at(10))
	must(t, err)
	if n != 3 {
		t.Errorf("set status of every language changed %d, want 3 (both workspaces share the WABA)", n)
	}
	n, err = s.SetTemplateStatus(ctx, "888", "order_update", "", whatsapp.TemplatePaused, "", at(10))
	must(t, err)
	if n != 0 {
		t.Errorf("another WABA's update changed %d", n)
	}

	wantCode(t, s.DeleteTemplate(ctx, f.ws, theirs.ID), fault.CodeNotFound)
	must(t, s.DeleteTemplate(ctx, f.ws, de.ID))
	_, err = s.GetTemplate(ctx, f.ws, de.ID)
	wantCode(t, err, fault.CodeNotFound)
	if _, err := s.GetTemplate(ctx, other, theirs.ID); err != nil {
		t.Errorf("the other workspace's template: %v", err)
	}
}

// testWhatsAppRates: rates round-trip with their effective date to the
// millisecond, are scoped by workspace, and PickRate chooses among them
// the longest market, then the newest rate already in effect.
func testWhatsAppRates(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := newWorkspace(t, s, "Other")
	rate := func(id, ws, cat, market string, price money.Money, from time.Time) *whatsapp.Rate {
		r := &whatsapp.Rate{ID: id, WorkspaceID: ws, Category: cat, Market: market, Price: price, EffectiveFrom: from, CreatedAt: at(1)}
		must(t, s.CreateRate(ctx, r))
		return r
	}
	jan, jul := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 0, 0, 0, 123e6, time.UTC)
	old := rate("warate_1", f.ws, "marketing", "44", 50_000_000, jan)
	rate("warate_2", f.ws, "marketing", "44", 60_000_000, jul)
	rate("warate_3", f.ws, "marketing", "*", 90_000_000, jan)
	rate("warate_4", f.ws, "utility", "1", 4_000_000, jan)
	rate("warate_5", other, "marketing", "44", 1, jan)

	rates, err := s.ListRates(ctx, f.ws)
	must(t, err)
	if len(rates) != 4 {
		t.Fatalf("%d rates, want the workspace's 4", len(rates))
	}
	if diff := cmp.Diff(old, rates[0]); diff != "" {
		t.Errorf("rate (-want +got):\n%s", diff)
	}
	if !rates[1].EffectiveFrom.Equal(jul) {
		t.Errorf("effective_from %v, want %v", rates[1].EffectiveFrom, jul)
	}
	for _, tc := range []struct {
		cat, phone string
		when       time.Time
		want       string
	}{
		{"marketing", "+447700900123", jul.Add(-time.Millisecond), "warate_1"},
		{"marketing", "+447700900123", jul, "warate_2"},
		{"marketing", "+33612345678", jul, "warate_3"},
		{"marketing", "", jul, "warate_3"}, // user id only: no market
		{"utility", "+16505551234", jul, "warate_4"},
		{"utility", "+447700900123", jul, ""},
		{"marketing", "+447700900123", jan.Add(-time.Second), ""},
	} {
		r := whatsapp.PickRate(rates, tc.cat, tc.phone, tc.when)
		got := ""
		if r != nil {
			got = r.ID
		}
		if got != tc.want {
			t.Errorf("PickRate(%s, %q, %v) = %q, want %q", tc.cat, tc.phone, tc.when, got, tc.want)
		}
	}
	wantCode(t, s.DeleteRate(ctx, f.ws, "warate_5"), fault.CodeNotFound)
	must(t, s.DeleteRate(ctx, f.ws, "warate_1"))
	rates, err = s.ListRates(ctx, f.ws)
	must(t, err)
	if len(rates) != 3 {
		t.Errorf("%d rates after delete, want 3", len(rates))
	}
}

// testWhatsAppUnrouted: unrouted changes are kept byte for byte and
// listed, by id and paged, to the workspaces that may see them: the one
// named on them, and those with a sender in their WhatsApp Business
// Account; no other.
func testWhatsAppUnrouted(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := newWorkspace(t, s, "Other")
	third := newWorkspace(t, s, "Third")
	newSender(t, s, f.ws, f.asst.ID, "3001") // WABA 1022901293
	save := func(sec int, ws, waba, reason, payload string, detail ...string) *whatsapp.Unrouted {
		u := &whatsapp.Unrouted{ID: ids.NewAt(ids.Unrouted, at(sec)), WorkspaceID: ws, WABAID: waba, PhoneNumberID: "9" + waba,
			Reason: reason, Detail: strings.Join(detail, ""), Payload: json.RawMessage(payload), ReceivedAt: at(sec)}
		must(t, s.SaveUnrouted(ctx, u))
		return u
	}
	a := save(1, "", "1022901293", whatsapp.UnroutedUnknownNumber, `{"field":"messages","value":{"messages":[{"id":"wamid.1"}]}}`)
	b := save(2, "", "1022901293", whatsapp.UnroutedUnreadable, `{ "field": "messages",  "value": {} }`,
		"messages[0]: timestamp is a JSON number")
	gone := save(3, other, "4444", whatsapp.UnroutedAssistantGone, `{"field":"messages","value":{}}`)
	save(4, "", "5555", whatsapp.UnroutedUnknownNumber, `{}`)

	list := func(ws string, req page.Request) []*whatsapp.Unrouted {
		t.Helper()
		rows, err := s.ListUnrouted(ctx, ws, req)
		must(t, err)
		return rows
	}
	got := list(f.ws, page.Request{Limit: 10})
	if diff := cmp.Diff([]*whatsapp.Unrouted{a, b}, got); diff != "" {
		t.Errorf("the workspace's unrouted changes (-want +got):\n%s", diff)
	}
	if rows := list(other, page.Request{Limit: 10}); len(rows) != 1 || rows[0].ID != gone.ID || rows[0].WorkspaceID != other {
		t.Errorf("the other workspace sees %v, want only its sender's change", rows)
	}
	if rows := list(third, page.Request{Limit: 10}); len(rows) != 0 {
		t.Errorf("a workspace without senders sees %d changes", len(rows))
	}
	// Paged by id: a limit of 1 returns 2 rows (one to tell a next page),
	// the next page starts after the cursor.
	if rows := list(f.ws, page.Request{Limit: 1}); len(rows) != 2 || rows[0].ID != a.ID {
		t.Errorf("first page of 1: %v", rows)
	}
	if rows := list(f.ws, page.Request{Limit: 1, Cursor: &page.Cursor{Key: a.ID}}); len(rows) != 1 || rows[0].ID != b.ID {
		t.Errorf("page after %s: %v", a.ID, rows)
	}
	// Nothing proves that a sender's waba_id is its workspace's: a
	// workspace naming the same WABA on a sender of its own sees no change
	// named on another workspace, and a change named on none stops being
	// shown to either while two workspaces claim its WABA.
	mine := save(5, f.ws, "1022901293", whatsapp.UnroutedAssistantGone, `{}`)
	newSender(t, s, third, f.asst.ID, "3002")
	if rows := list(third, page.Request{Limit: 10}); len(rows) != 0 {
		t.Errorf("a workspace claiming another's WABA sees %v", rows)
	}
	if rows := list(f.ws, page.Request{Limit: 10}); len(rows) != 1 || rows[0].ID != mine.ID {
		t.Errorf("with its WABA claimed twice, the workspace sees %v, want only the change named on it", rows)
	}
	// A change kept again with the same digest (Meta's redelivery) is
	// kept once.
	for sec := range 2 {
		must(t, s.SaveUnrouted(ctx, &whatsapp.Unrouted{ID: ids.NewAt(ids.Unrouted, at(30+sec)), WorkspaceID: other,
			WABAID: "4444", PhoneNumberID: "94444", Reason: whatsapp.UnroutedUnreadable, Payload: json.RawMessage(`{}`),
			ReceivedAt: at(30 + sec), Digest: "3f2a"}))
	}
	if rows := list(other, page.Request{Limit: 10}); len(rows) != 2 {
		t.Errorf("a change kept twice with one digest: %d rows, want 2 (with the assistant_gone one)", len(rows))
	}
}
