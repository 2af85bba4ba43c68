package whatsapp_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/whatsapp"
)

func TestWindowAt(t *testing.T) {
	last := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		last      *time.Time
		now       time.Time
		open      bool
		remaining int
	}{
		{"never wrote", nil, last, false, 0},
		{"just wrote", &last, last, true, 24 * 60},
		{"an hour later", &last, last.Add(time.Hour), true, 23 * 60},
		{"30 s before the end", &last, last.Add(24*time.Hour - 30*time.Second), true, 0},
		{"at the end", &last, last.Add(24 * time.Hour), false, 0},
		{"two days later", &last, last.Add(48 * time.Hour), false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := whatsapp.WindowAt(c.last, c.now)
			if w.IsOpen != c.open || w.CanSendFreeform != c.open || w.RequiresTemplate == c.open || w.MinutesRemaining != c.remaining {
				t.Errorf("%+v", w)
			}
			if c.last != nil && !w.ExpiresAt.Equal(last.Add(24*time.Hour)) {
				t.Errorf("expires %v", w.ExpiresAt)
			}
		})
	}
}

func TestPickRate(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	rates := []*whatsapp.Rate{
		{ID: "any", Category: "utility", Market: "*", Price: money.Money(10), EffectiveFrom: day(1)},
		{ID: "us", Category: "utility", Market: "1", Price: money.Money(4), EffectiveFrom: day(1)},
		{ID: "us-new", Category: "utility", Market: "1", Price: money.Money(5), EffectiveFrom: day(10)},
		{ID: "uk", Category: "marketing", Market: "44", Price: money.Money(50), EffectiveFrom: day(1)},
	}
	cases := []struct {
		cat, phone, want string
		at               time.Time
	}{
		{"utility", "+14155550100", "us", day(5)},
		{"utility", "+14155550100", "us-new", day(11)},
		{"utility", "+447700900123", "any", day(5)},
		{"utility", "", "any", day(5)},
		{"marketing", "+447700900123", "uk", day(5)},
		{"marketing", "+14155550100", "", day(5)},
		{"utility", "+14155550100", "", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		got := whatsapp.PickRate(rates, c.cat, c.phone, c.at)
		id := ""
		if got != nil {
			id = got.ID
		}
		if id != c.want {
			t.Errorf("%s to %q at %v: %q, want %q", c.cat, c.phone, c.at, id, c.want)
		}
	}
}

func TestTemplateParams(t *testing.T) {
	tpl := &whatsapp.Template{Name: "x", Components: json.RawMessage(`[{"type":"HEADER","text":"{{9}}"},{"type":"BODY","text":"Hi {{1}}, order {{2}} ({{ 2 }})"}]`)}
	if n := tpl.ParamCount(); n != 2 {
		t.Errorf("param count %d", n)
	}
	if got := tpl.Render([]string{"Ada", "#42"}); got != "Hi Ada, order #42 ({{ 2 }})" {
		t.Errorf("render %q", got)
	}
}

func TestRetryable(t *testing.T) {
	for code, want := range map[int]bool{130429: true, 131056: true, 131057: true, 131047: false, 131026: false, 131049: false, 132018: false} {
		e := &whatsapp.GraphError{HTTPStatus: 400, Code: code}
		if e.Retryable() != want {
			t.Errorf("%d: retryable %v", code, !want)
		}
	}
	if !(&whatsapp.GraphError{HTTPStatus: 503}).Retryable() || !(&whatsapp.GraphError{HTTPStatus: 429}).Retryable() {
		t.Error("5xx and 429 must retry")
	}
	// A permanent error is never retried, whatever HTTP status carried it.
	for _, code := range []int{131047, 131026, 131049, 132018} {
		for _, status := range []int{429, 500, 503} {
			if (&whatsapp.GraphError{HTTPStatus: status, Code: code}).Retryable() {
				t.Errorf("%d with HTTP %d retried", code, status)
			}
		}
	}
	if d := (&whatsapp.GraphError{Code: 131056}).Backoff(); d < 6*time.Second {
		t.Errorf("pair rate limit backoff %v", d)
	}
}

// A thread's identifiers follow changes in the customer's time order: an
// older message or notice, delivered late, changes nothing; adding an
// identifier the thread lacked is no change of identity; each former
// identifier keeps the time it was given up.
func TestThreadReidentify(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	th := &whatsapp.Thread{Phone: "+16315550001"}
	if !th.Reidentify("", "US.1", t0) || th.UserID != "US.1" || th.UserIDChangedAt != nil || th.FormerUserID != "" {
		t.Fatalf("adding a user id: %+v", th)
	}
	if !th.Reidentify("+16315550002", "", t0.Add(2*time.Minute)) || th.FormerPhone != "+16315550001" ||
		!th.PhoneChangedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("number change: %+v", th)
	}
	if th.Current(t0.Add(time.Minute)) || !th.Current(t0.Add(2*time.Minute)) {
		t.Error("Current around the change")
	}
	if !th.HeldPhone("+16315550001", t0.Add(time.Minute)) || th.HeldPhone("+16315550001", t0.Add(2*time.Minute)) ||
		th.HeldPhone("+16315550002", t0) {
		t.Error("HeldPhone around the change")
	}
	before := *th
	if th.Reidentify("+16315550001", "US.0", t0.Add(time.Minute)) || th.Phone != before.Phone || th.UserID != "US.1" {
		t.Errorf("an older message changed the thread: %+v", th)
	}
	if th.Reidentify("+16315550002", "US.1", t0.Add(3*time.Minute)) {
		t.Error("the same identifiers are a change")
	}
	// A later change of user id keeps the phone's time.
	if !th.Reidentify("", "US.2", t0.Add(5*time.Minute)) || !th.PhoneChangedAt.Equal(t0.Add(2*time.Minute)) ||
		!th.HeldUserID("US.1", t0.Add(4*time.Minute)) || th.HeldPhone("+16315550001", t0.Add(3*time.Minute)) {
		t.Errorf("user id change after a number change: %+v", th)
	}
}

func TestValidUserID(t *testing.T) {
	for id, want := range map[string]bool{
		"US.13491208655302741918": true, "US.ENT.11815799212886844830": true, "BR.a1": true,
		"US..": false, "US.-": false, "US._._": false, "us.123": false, "US123": false, "US.": false,
		"US.12 3": false, "US.1\x002": false, "US.ünï": false, "+14155550100": false,
		"US." + strings.Repeat("1", 126): false,
	} {
		if got := whatsapp.ValidUserID(id); got != want {
			t.Errorf("ValidUserID(%q) = %v, want %v", id, got, want)
		}
	}
}
