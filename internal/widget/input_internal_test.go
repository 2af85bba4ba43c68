package widget

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
)

func TestTokens(t *testing.T) {
	k := newTokens([]byte("instance"))
	now := time.Unix(1_800_000_000, 0)
	s := session{Workspace: "ws_1", Assistant: "asst_1", Conversation: "conv_1", Visitor: "vis_x", Expires: now.Add(time.Hour).Unix()}
	tok := k.issue(s)
	if got, err := k.check(tok, now); err != nil || *got != s {
		t.Fatalf("check = %+v, %v", got, err)
	}
	if _, err := k.check(tok, now.Add(time.Hour)); err == nil {
		t.Error("expired token accepted")
	}
	if _, err := newTokens([]byte("other")).check(tok, now); err == nil {
		t.Error("token of another instance accepted")
	}
	// Changing the conversation in the payload breaks the signature.
	forged := strings.Replace(tok, tok[:10], tok[:9]+"A", 1)
	if _, err := k.check(forged, now); err == nil && forged != tok {
		t.Error("altered token accepted")
	}
}

func TestVerifyUser(t *testing.T) {
	h := UserHash("u1", "secret-secret-secret")
	if !verifyUser("u1", h, "secret-secret-secret") || !verifyUser("u1", strings.ToUpper(h), "secret-secret-secret") {
		t.Error("good hash refused")
	}
	for _, bad := range []string{"", "zz", h[:10], UserHash("u2", "secret-secret-secret")} {
		if verifyUser("u1", bad, "secret-secret-secret") {
			t.Errorf("hash %q accepted", bad)
		}
	}
}

// FuzzWidgetInput feeds anything to the pre-chat, variables and identity
// checks: they never panic, and what they accept is clean text within
// the limits.
func FuzzWidgetInput(f *testing.F) {
	f.Add("Ada", "ada@example.com", "+44 20 7946 0958", "Sales", "u1")
	f.Add("\x00", "a@b", "12", "x\xff", "\u202e")
	f.Add(strings.Repeat("é", 300), "", "", "", "")
	form := []assistant.PrechatField{
		{Name: "name", Label: "Name", Type: "text", Required: true},
		{Name: "email", Label: "Email", Type: "email"},
		{Name: "phone", Label: "Phone", Type: "phone"},
		{Name: "topic", Label: "Topic", Type: "select", Options: []string{"Sales", "Support"}},
		{Name: "note", Label: "Note", Type: "textarea"},
	}
	f.Fuzz(func(t *testing.T, name, email, phone, topic, user string) {
		var v fault.Validation
		var cust conversation.CustomerPatch
		in := map[string]string{"name": name, "email": email, "phone": phone, "topic": topic, "note": name + "\n" + topic}
		vars := checkPrechat(form, in, &cust, &v)
		checkVariables(map[string]any{"x": user, user: 1.0}, vars, &v)
		checkIdentity(&identityInput{UserID: user, Name: name, Email: email}, &cust, &v)
		if v.Err() != nil {
			return
		}
		for k, val := range vars {
			s, ok := val.(string)
			if !ok {
				continue
			}
			if !utf8.ValidString(s) || hasControl(s, k == "note") || utf8.RuneCountInString(s) > maxTextareaLen {
				t.Errorf("accepted %s = %q", k, s)
			}
		}
		if s, _ := vars["topic"].(string); s != "" && s != "Sales" && s != "Support" {
			t.Errorf("accepted topic %q", s)
		}
	})
}
