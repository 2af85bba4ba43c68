// Package widget serves the embeddable web widget: its script
// (/widget.js and the panel bundle it loads when opened) and its public
// API under /widget/v1/{public_key}/…, which a page on another site calls
// on behalf of an anonymous visitor.
//
// Everything here faces the internet without an API key, so each request
// is authorised by the assistant's public key and the Origin header
// against the assistant's allowed_origins, rate-limited per address and
// per visitor, size-limited, and every conversation call is bound by a
// signed, expiring session token to the one conversation it was issued
// for.
package widget

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
	"github.com/parley-dev/parley/internal/llm"
)

// Defaults of the API's limits.
const (
	// DefaultSessionTTL is how long a session token is good for; the
	// widget starts the session again (resuming) when it expires.
	DefaultSessionTTL = 12 * time.Hour
	bodyLimit         = 32 << 10
	heartbeat         = 15 * time.Second
)

// API is the widget's public API.
type API struct {
	Assistants    *assistant.Service
	Conversations *conversation.Service
	Events        *events.Feed
	// Secret is the instance secret; session tokens are signed with a key
	// derived from it.
	Secret []byte
	Now    func() time.Time
	// PerIP limits every request by client address, PerVisitor the
	// messages and streams of one visitor, Starts the session starts of
	// one address (each conversation costs storage). nil allows all.
	PerIP, PerVisitor, Starts *httpx.Limiter
	// SessionTTL is how long a session token lasts (DefaultSessionTTL).
	SessionTTL time.Duration
	// Transcriber and TranscriptionModel turn the recordings of
	// voice_chat visitors whose browsers have no speech recognition into
	// text; without either the widget offers no recording.
	Transcriber        llm.Transcriber
	TranscriptionModel string
	Log                *slog.Logger
	// Parker serves the event streams once they are idle, without a
	// goroutine each; nil serves each from its handler.
	Parker *httpx.Parker

	tokens tokens
	assets *assets
}

// Register adds the widget's routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	a.tokens = newTokens(a.Secret)
	a.assets = loadAssets()
	mux.HandleFunc("GET /widget.js", a.loader)
	mux.HandleFunc("GET /widget/assets/{name}", a.asset)
	mux.HandleFunc("OPTIONS /widget/v1/{key}/{rest...}", a.preflight)
	mux.HandleFunc("GET /widget/v1/{key}/config", a.public(a.config))
	mux.HandleFunc("POST /widget/v1/{key}/sessions", a.public(a.start))
	mux.HandleFunc("GET /widget/v1/{key}/session", a.visitor(a.getSession))
	mux.HandleFunc("POST /widget/v1/{key}/session/messages", a.visitor(a.postMessage))
	mux.HandleFunc("GET /widget/v1/{key}/session/events", a.visitor(a.streamEvents))
	mux.HandleFunc("POST /widget/v1/{key}/session/end", a.visitor(a.end))
	mux.HandleFunc("POST /widget/v1/{key}/session/transcriptions", a.visitor(a.transcribe))
}

func (a *API) logger() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}

func (a *API) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

func (a *API) ttl() time.Duration {
	if a.SessionTTL <= 0 {
		return DefaultSessionTTL
	}
	return a.SessionTTL
}

// Snippet is the HTML a site pastes into its pages to embed the widget of
// the assistant with publicKey (the dashboard shows it).
func Snippet(baseURL, publicKey string) string {
	return `<script src="` + strings.TrimRight(baseURL, "/") + `/widget.js" data-assistant="` + publicKey + `" async></script>`
}

// errOrigin refuses a page whose origin the assistant does not allow.
var errOrigin = fault.New(fault.CodeForbidden, "this site is not one of the assistant's allowed_origins")

// originAllowed reports whether a request with this Origin header may use
// the assistant's widget: any origin when allowed_origins is empty,
// otherwise one of them exactly. A request without Origin (not from a
// browser page) is allowed only when the list is empty.
func originAllowed(as *assistant.Assistant, origin string) bool {
	if len(as.AllowedOrigins) == 0 {
		return true
	}
	o, ok := assistant.NormalizeOrigin(origin)
	if !ok {
		return false
	}
	for _, allowed := range as.AllowedOrigins {
		if o == allowed {
			return true
		}
	}
	return false
}

// cors writes the CORS headers of an allowed request: the origin itself,
// never "*" with credentials (the widget sends none: its token travels in
// Authorization).
func cors(w http.ResponseWriter, origin string) {
	h := w.Header()
	h.Add("Vary", "Origin")
	if origin == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", "Retry-After, X-Request-Id")
}

// assistantFor finds the assistant of the key in the path and checks the
// origin; it answers the request itself and returns nil when refused.
func (a *API) assistantFor(w http.ResponseWriter, r *http.Request) *assistant.Assistant {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	if a.PerIP.Limited(w, r, httpx.ClientIP(r)) {
		return nil
	}
	as, err := a.Assistants.ByPublicKey(r.Context(), r.PathValue("key"))
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return nil
	}
	if !originAllowed(as, origin) {
		httpx.WriteProblem(w, r, errOrigin)
		return nil
	}
	cors(w, origin)
	return as
}

// preflight answers a CORS preflight: allowed for the assistant's origins
// only, for the methods and headers the widget uses, and never with
// credentials.
func (a *API) preflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	as, err := a.Assistants.ByPublicKey(r.Context(), r.PathValue("key"))
	if err != nil || origin == "" || !originAllowed(as, origin) {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// public wraps a handler that needs only the assistant.
func (a *API) public(h func(http.ResponseWriter, *http.Request, *assistant.Assistant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if as := a.assistantFor(w, r); as != nil {
			h(w, r, as)
		}
	}
}

// errSession asks the widget to start a session again.
var errSession = fault.New(fault.CodeUnauthorized, "the widget session is missing, expired or not valid for this assistant; start a new session")

// visitor wraps a handler that acts on the visitor's own conversation:
// the session token must be one this instance issued for this assistant,
// unexpired; it names the only conversation the handler may touch.
func (a *API) visitor(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		as := a.assistantFor(w, r)
		if as == nil {
			return
		}
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		s, err := a.tokens.check(strings.TrimSpace(tok), a.now())
		if !strings.EqualFold(scheme, "Bearer") || err != nil || s.Assistant != as.ID || s.Workspace != as.WorkspaceID {
			httpx.WriteProblem(w, r, errSession)
			return
		}
		s.transcribes = a.transcribes(as)
		h(w, r, s)
	}
}

// configJSON is what the widget needs to draw itself: nothing secret.
type configJSON struct {
	Assistant        string                   `json:"assistant"`
	Widget           widgetJSON               `json:"widget"`
	PrechatForm      []assistant.PrechatField `json:"prechat_form"`
	IdentityRequired bool                     `json:"identity_required"`
	Voice            voiceJSON                `json:"voice"`
}

type widgetJSON struct {
	Mode         string `json:"mode"`
	Title        string `json:"title"`
	Color        string `json:"color"`
	Position     string `json:"position"`
	AvatarURL    string `json:"avatar_url"`
	Placeholder  string `json:"placeholder"`
	LauncherText string `json:"launcher_text"`
}

func (a *API) config(w http.ResponseWriter, r *http.Request, as *assistant.Assistant) {
	wd := as.Widget
	w.Header().Set("Cache-Control", "public, max-age=60")
	httpx.WriteJSON(w, http.StatusOK, configJSON{
		Assistant: as.Name, PrechatForm: as.PrechatForm, IdentityRequired: wd.IdentitySecretSet, Voice: a.voice(as),
		Widget: widgetJSON{Mode: wd.Mode, Title: wd.Title, Color: wd.Color, Position: wd.Position,
			AvatarURL: wd.AvatarURL, Placeholder: wd.Placeholder, LauncherText: wd.LauncherText},
	})
}

// messageJSON is a message as the visitor sees it: no model, tokens or
// cost, and no system notes (their text is for the operator).
type messageJSON struct {
	ID        string `json:"id"`
	Role      string `json:"role"`
	Content   string `json:"content"`
	CreatedAt string `json:"created_at"`
}

func messageView(m *conversation.Message) messageJSON {
	return messageJSON{ID: m.ID, Role: m.Role, Content: m.Content, CreatedAt: m.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")}
}

func visible(msgs []*conversation.Message) []messageJSON {
	out := make([]messageJSON, 0, len(msgs))
	for _, m := range msgs {
		if m.Role != conversation.RoleSystem {
			out = append(out, messageView(m))
		}
	}
	return out
}

// sessionJSON is a started or resumed session.
type sessionJSON struct {
	Token        string           `json:"token,omitempty"`
	ExpiresAt    string           `json:"expires_at,omitempty"`
	VisitorID    string           `json:"visitor_id"`
	Resumed      bool             `json:"resumed"`
	Conversation conversationJSON `json:"conversation"`
	Messages     []messageJSON    `json:"messages"`
}

type conversationJSON struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	AIEnabled bool   `json:"ai_enabled"`
}

func newVisitorID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "vis_" + base64.RawURLEncoding.EncodeToString(b)
}

// errIdentity refuses an identify() whose hash does not vouch for its user.
var errIdentity = fault.New(fault.CodeForbidden, "identity.user_hash does not match identity.user_id; compute it on your server as the hex HMAC-SHA256 of user_id with the assistant's identity secret")

// start resumes the visitor's open conversation (by verified user on any
// device, else by this browser's visitor id) or creates a new widget
// conversation from the pre-chat answers, and issues a session token.
func (a *API) start(w http.ResponseWriter, r *http.Request, as *assistant.Assistant) {
	if a.Starts.Limited(w, r, httpx.ClientIP(r)) {
		return
	}
	var in startInput
	if err := httpx.DecodeOptional(w, r, bodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	ctx := r.Context()
	var v fault.Validation
	var cust conversation.CustomerPatch
	checkIdentity(in.Identity, &cust, &v)
	if err := v.Err(); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	// Who is this? A verified user, or an anonymous browser.
	user := ""
	if in.Identity != nil && in.Identity.UserID != "" {
		secret, err := a.Assistants.IdentitySecret(ctx, as)
		if err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		switch {
		case secret != "" && !verifyUser(in.Identity.UserID, in.Identity.UserHash, secret):
			httpx.WriteProblem(w, r, errIdentity)
			return
		case secret != "":
			user = in.Identity.UserID
		}
	} else if as.Widget.IdentitySecretSet && in.Identity != nil && in.Identity.UserHash != "" {
		httpx.WriteProblem(w, r, errIdentity)
		return
	}
	visitor := in.VisitorID
	if !visitorIDRe.MatchString(visitor) {
		visitor = newVisitorID()
	}
	// A verified user's conversation is found by the user only, so that a
	// shared browser never shows one user another's conversation.
	key := conversation.VisitorKey(visitor)
	if user != "" {
		key = conversation.UserKey(user)
	}
	idle := time.Duration(as.Widget.IdleTimeoutMinutes) * time.Minute
	if idle <= 0 {
		idle = assistant.DefaultIdleTimeoutMinutes * time.Minute
	}
	c, err := a.Conversations.OpenFor(ctx, as.WorkspaceID, as.ID, []string{key}, idle)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	status := http.StatusOK
	var msgs []*conversation.Message
	if c != nil {
		if msgs, err = a.Conversations.Transcript(ctx, as.WorkspaceID, c.ID); err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
	} else {
		vars := checkPrechat(as.PrechatForm, in.Prechat, &cust, &v)
		checkVariables(in.Variables, vars, &v)
		if err := v.Err(); err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		ext := ""
		if in.Identity != nil {
			ext = in.Identity.UserID // stored, searchable; it grants access only when verified
		}
		c, msgs, err = a.Conversations.Create(ctx, as.WorkspaceID, conversation.CreateInput{
			AssistantID: as.ID, Type: conversation.TypeWidget, ExternalIdentifier: ext, Customer: cust,
			Variables: vars, VariableSource: conversation.SourcePrechat, VisitorKeys: []string{key},
		})
		if err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		status = http.StatusCreated
	}
	exp := a.now().Add(a.ttl())
	tok := a.tokens.issue(session{Workspace: as.WorkspaceID, Assistant: as.ID, Conversation: c.ID,
		Visitor: visitor, User: user, Expires: exp.Unix()})
	httpx.WriteJSON(w, status, sessionJSON{
		Token: tok, ExpiresAt: time.Unix(exp.Unix(), 0).UTC().Format(time.RFC3339), VisitorID: visitor,
		Resumed: status == http.StatusOK, Messages: visible(msgs),
		Conversation: conversationJSON{ID: c.ID, Status: c.Status, AIEnabled: c.AIEnabled},
	})
}

// getSession returns the visitor's conversation with its messages.
func (a *API) getSession(w http.ResponseWriter, r *http.Request, s *session) {
	c, msgs, err := a.Conversations.WithTranscript(r.Context(), s.Workspace, s.Conversation)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, sessionJSON{VisitorID: s.Visitor, Resumed: true, Messages: visible(msgs),
		Conversation: conversationJSON{ID: c.ID, Status: c.Status, AIEnabled: c.AIEnabled}})
}

// messageInput is a visitor's message.
type messageInput struct {
	Content string `json:"content"`
}

// postMessage stores the visitor's message and answers with the
// assistant's reply, streamed as server-sent events (delta, then done)
// when asked for; with AI off the message waits for an operator.
func (a *API) postMessage(w http.ResponseWriter, r *http.Request, s *session) {
	if a.PerVisitor.Limited(w, r, s.Visitor) {
		return
	}
	var in messageInput
	if err := httpx.Decode(w, r, bodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	if err := checkMessage(in.Content); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	post := func(onDelta llm.DeltaFunc) (*conversation.Posted, error) {
		return a.Conversations.PostMessage(r.Context(), s.Workspace, s.Conversation,
			conversation.PostInput{Role: conversation.RoleUser, Content: in.Content}, onDelta)
	}
	if !httpx.PrefersEventStream(r) {
		out, err := post(nil)
		if err != nil && (out == nil || out.Message == nil) {
			httpx.WriteProblem(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusCreated, postedView(out, err))
		return
	}
	sse := httpx.NewSSE(w, r)
	defer sse.Close()
	out, err := post(func(chunk string) error { return sse.Send("delta", map[string]string{"content": chunk}) })
	if err != nil && (out == nil || out.Message == nil) {
		if !sse.Started() {
			httpx.WriteProblem(w, r, err)
			return
		}
		_ = sse.Send("error", visitorProblem(r, err))
		return
	}
	_ = sse.Send("done", postedView(out, err))
}

// checkMessage applies the conversation's own rules early, with the
// widget's own words for NUL (which the JSON decoder refuses already).
func checkMessage(content string) error {
	if strings.ContainsRune(content, 0) {
		return fault.Invalid("content", "must not contain NUL characters")
	}
	return nil
}

// postedView is the outcome of a visitor's message: the message, and the
// reply, or why there is none (reply_error: the model failed; the
// visitor may ask again).
func postedView(p *conversation.Posted, replyErr error) map[string]any {
	out := map[string]any{"message": messageView(p.Message), "reply": nil}
	if p.Reply != nil {
		out["reply"] = messageView(p.Reply)
	}
	if replyErr != nil {
		out["reply_error"] = "the assistant could not reply; try again"
	}
	return out
}

// visitorProblem is a problem for the visitor: model and provider
// details are for the operator, so an internal failure says only that.
func visitorProblem(r *http.Request, err error) httpx.Problem {
	p := httpx.ProblemFor(err)
	p.RequestID = httpx.RequestID(r.Context())
	if p.Status >= 500 {
		p.Detail = "the assistant could not reply; try again"
	}
	return p
}

// end ends the visitor's conversation.
func (a *API) end(w http.ResponseWriter, r *http.Request, s *session) {
	c, err := a.Conversations.End(r.Context(), s.Workspace, s.Conversation)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, conversationJSON{ID: c.ID, Status: c.Status, AIEnabled: c.AIEnabled})
}

// streamEvents streams the visitor's conversation live: each new message
// (the visitor's own, the assistant's, an operator's) as "message", and
// "ended" when it ends. It resumes after Last-Event-ID (or
// ?last_event_id=, for clients that cannot set headers) from the event
// table, so a reconnecting widget misses nothing; without one it starts
// now.
func (a *API) streamEvents(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	if a.PerVisitor.Limited(w, r, s.Visitor) {
		return
	}
	q := events.Query{WorkspaceID: s.Workspace, ConversationID: s.Conversation,
		Types: []string{events.MessageCreated, events.ConversationEnded}, Limit: 100}
	after := r.Header.Get("Last-Event-ID")
	if after == "" {
		after = r.URL.Query().Get("last_event_id")
	}
	if after != "" {
		p, ok := events.ParseID(after)
		if !ok {
			httpx.WriteProblem(w, r, fault.Invalid("Last-Event-ID", "must be the id of an event this stream sent"))
			return
		}
		q.After = p
		if err := a.Events.Check(ctx, q); err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
	} else {
		p, err := a.Events.Store.LastEventPos(ctx)
		if err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		q.After = p
	}
	sub, err := a.Events.LiveConversation(ctx, s.Workspace, s.Conversation, "live messages")
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	parkable := a.Parker.Parkable(w, r)
	sse := httpx.NewSSE(w, r)
	f := &streamFeed{a: a, s: s, sub: sub, fl: a.Events.Follower(sub, q)}
	if sse.Start() != nil || !f.fl.CatchUp(ctx, func(e events.Event) bool { return f.send(ctx, sse.SendID, e) }) {
		sub.Close()
		return
	}
	// Caught up: from here the stream is idle until something happens in
	// the conversation, which is most of its life. Parked, it costs no
	// goroutine and none of net/http's buffers (see httpx.Parker).
	if parkable && a.Parker.Park(w, sse, f) {
		return
	}
	defer sub.Close()
	defer sse.Close()
	sse.Heartbeat(heartbeat)
	f.fl.Live(ctx, func(e events.Event) bool { return f.send(ctx, sse.SendID, e) })
}

// streamFeed is what a visitor's event stream sends, after the events it
// caught up on: the live events of its conversation. It feeds the
// stream parked (httpx.Feeder) or, where the connection cannot be
// parked, from the handler.
type streamFeed struct {
	a   *API
	s   *session
	sub *events.Subscription
	fl  *events.Follower
}

// feedTimeout bounds the reads of a parked stream's event, so a stuck
// database holds one of the Parker's few workers for no longer.
const feedTimeout = 10 * time.Second

// Watch implements httpx.Feeder.
func (f *streamFeed) Watch(wake func()) { f.sub.Notify(wake) }

// Feed implements httpx.Feeder.
func (f *streamFeed) Feed(ctx context.Context, send func(id, event string, v any) error) bool {
	ctx, cancel := context.WithTimeout(ctx, feedTimeout)
	defer cancel()
	return f.fl.Pending(func(e events.Event) bool { return f.send(ctx, send, e) })
}

// Close implements httpx.Feeder.
func (f *streamFeed) Close() { f.sub.Close() }

// send writes one event of the conversation to the visitor: a message
// as "message", the end as "ended"; a system message (or one that
// cannot be read) as "skip", which keeps the client's resume point
// moving.
func (f *streamFeed) send(ctx context.Context, send func(id, event string, v any) error, e events.Event) bool {
	switch e.Type {
	case events.ConversationEnded:
		return send(e.ID, "ended", map[string]string{"conversation_id": e.ConversationID}) == nil
	case events.MessageCreated:
		m, err := f.a.Conversations.Message(ctx, f.s.Workspace, f.s.Conversation, e.MessageID)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return false // the client resumes at this event
		}
		if err != nil || m.Role == conversation.RoleSystem {
			return send(e.ID, "skip", struct{}{}) == nil
		}
		return send(e.ID, "message", messageView(m)) == nil
	}
	return true
}
