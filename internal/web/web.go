// Package web is the dashboard: server-rendered pages (html/template)
// made live with htmx and server-sent events, behind a session sign-in.
// Its browser files are embedded and served under content-hashed URLs.
// Handlers call the services, never a store.
package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/whatsapp"
)

// startTime is the Last-Modified of embedded files.
var startTime = time.Now()

// Dashboard serves the dashboard's pages.
type Dashboard struct {
	Accounts      *account.Service
	Assistants    *assistant.Service
	Conversations *conversation.Service
	WhatsApp      *whatsapp.Service
	// WhatsAppSetup describes the webhook's configuration for the
	// /whatsapp page.
	WhatsAppSetup WhatsAppSetup
	Events        *events.Feed
	Cursors       *page.Codec
	// SecureCookies marks the session cookie Secure even on plain HTTP
	// requests (PARLEY_BASE_URL is https: TLS ends at a proxy).
	SecureCookies bool
	Log           *slog.Logger
	Now           func() time.Time

	assets *assets
	pages  map[string]*template.Template
}

// Handler returns the dashboard's routes, wrapped in cross-origin
// protection: a browser's cross-site unsafe request is refused before any
// handler runs; per-session tokens guard the rest (see requireCSRF).
func (d *Dashboard) Handler() (http.Handler, error) {
	var err error
	if d.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if d.pages, err = parsePages(d.assets); err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", d.assets)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/conversations", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /login", d.loginPage)
	mux.HandleFunc("POST /login", d.login)
	mux.HandleFunc("POST /logout", d.auth(account.RoleAgent, d.logout))

	mux.HandleFunc("GET /events", d.auth(account.RoleAgent, d.events))
	mux.HandleFunc("GET /conversations", d.auth(account.RoleAgent, d.conversations))
	mux.HandleFunc("GET /conversations/count", d.auth(account.RoleAgent, d.navCount))
	mux.HandleFunc("GET /conversations/export", d.auth(account.RoleAgent, d.export))
	mux.HandleFunc("POST /conversations/bulk-delete", d.auth(account.RoleAgent, d.bulkDelete))
	mux.HandleFunc("GET /conversations/{id}", d.auth(account.RoleAgent, d.conversation))
	mux.HandleFunc("GET /conversations/{id}/messages", d.auth(account.RoleAgent, d.messages))
	mux.HandleFunc("POST /conversations/{id}/messages", d.auth(account.RoleAgent, d.postOperator))
	mux.HandleFunc("GET /conversations/{id}/messages/{mid}", d.auth(account.RoleAgent, d.message))
	mux.HandleFunc("GET /conversations/{id}/compose", d.auth(account.RoleAgent, d.compose))
	mux.HandleFunc("POST /conversations/{id}/template", d.auth(account.RoleAgent, d.sendTemplate))
	mux.HandleFunc("POST /conversations/{id}/ai", d.auth(account.RoleAgent, d.setAI))
	mux.HandleFunc("POST /conversations/{id}/end", d.auth(account.RoleAgent, d.end))
	mux.HandleFunc("POST /conversations/{id}/delete", d.auth(account.RoleAgent, d.deleteConversation))
	mux.HandleFunc("GET /conversations/{id}/transcript", d.auth(account.RoleAgent, d.transcript))

	mux.HandleFunc("GET /test-chat", d.auth(account.RoleAgent, d.testChat))
	mux.HandleFunc("POST /test-chat/send", d.auth(account.RoleAgent, d.testChatSend))
	mux.HandleFunc("POST /test-chat/{id}/end", d.auth(account.RoleAgent, d.testChatEnd))
	mux.HandleFunc("GET /test-chat/{id}/ended", d.auth(account.RoleAgent, d.testChatEnded))

	mux.HandleFunc("GET /assistants", d.auth(account.RoleAgent, d.assistants))
	mux.HandleFunc("GET /assistants/new", d.auth(account.RoleAdmin, d.assistantForm))
	mux.HandleFunc("POST /assistants", d.auth(account.RoleAdmin, d.saveAssistant))
	mux.HandleFunc("GET /assistants/{id}", d.auth(account.RoleAgent, d.assistantForm))
	mux.HandleFunc("POST /assistants/{id}", d.auth(account.RoleAdmin, d.saveAssistant))
	mux.HandleFunc("POST /assistants/{id}/delete", d.auth(account.RoleAdmin, d.deleteAssistant))

	mux.HandleFunc("GET /analytics", d.auth(account.RoleAgent, d.analytics))

	// Agents see the WhatsApp page; senders, templates and rates are
	// managed by admins and owners.
	mux.HandleFunc("GET /whatsapp", d.auth(account.RoleAgent, d.whatsappPage))
	mux.HandleFunc("POST /whatsapp/senders", d.auth(account.RoleAdmin, d.createSender))
	mux.HandleFunc("POST /whatsapp/senders/{id}", d.auth(account.RoleAdmin, d.updateSender))
	mux.HandleFunc("POST /whatsapp/senders/{id}/delete", d.auth(account.RoleAdmin, d.deleteSender))
	mux.HandleFunc("POST /whatsapp/templates", d.auth(account.RoleAdmin, d.createTemplate))
	mux.HandleFunc("POST /whatsapp/templates/sync", d.auth(account.RoleAdmin, d.syncTemplates))
	mux.HandleFunc("POST /whatsapp/templates/{id}/delete", d.auth(account.RoleAdmin, d.deleteTemplate))
	mux.HandleFunc("POST /whatsapp/rates", d.auth(account.RoleAdmin, d.createRate))
	mux.HandleFunc("POST /whatsapp/rates/{id}/delete", d.auth(account.RoleAdmin, d.deleteRate))

	mux.HandleFunc("GET /settings", d.auth(account.RoleAgent, d.settings))
	mux.HandleFunc("POST /settings/workspace", d.auth(account.RoleAdmin, d.renameWorkspace))
	mux.HandleFunc("POST /settings/keys", d.auth(account.RoleAdmin, d.createKey))
	mux.HandleFunc("POST /settings/keys/{id}/revoke", d.auth(account.RoleAdmin, d.revokeKey))
	mux.HandleFunc("POST /settings/prices", d.auth(account.RoleAdmin, d.createPrice))
	mux.HandleFunc("POST /settings/prices/{id}/delete", d.auth(account.RoleAdmin, d.deletePrice))
	// The users forms admit every role: the account service decides who
	// may manage whom (admins cannot touch owners, agents nothing).
	mux.HandleFunc("POST /settings/users", d.auth(account.RoleAgent, d.addUser))
	mux.HandleFunc("POST /settings/users/{id}/role", d.auth(account.RoleAgent, d.changeUserRole))
	mux.HandleFunc("POST /settings/users/{id}/remove", d.auth(account.RoleAgent, d.removeUser))

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		d.renderError(w, r, fault.NotFound("page"))
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.renderError(w, r, fault.New(fault.CodeForbidden, "This request came from another site and was refused."))
	}))
	return cop.Handler(mux), nil
}

// Paths returns the URL patterns the dashboard answers, for mounting it
// beside the API on one mux.
func Paths() []string {
	return []string{"/{$}", "/static/", "/login", "/logout", "/events", "/conversations", "/conversations/",
		"/test-chat", "/test-chat/", "/assistants", "/assistants/", "/analytics", "/whatsapp", "/whatsapp/", "/settings", "/settings/"}
}

type ctxKey struct{}

// viewer is who a request acts for.
type viewer struct {
	Session *account.Session
	User    *account.User
}

func viewerOf(ctx context.Context) *viewer {
	v, _ := ctx.Value(ctxKey{}).(*viewer)
	return v
}

// auth runs h for a signed-in user of at least role min. A browser
// without a session is sent to /login (htmx requests get HX-Redirect);
// an unsafe request must carry the session's CSRF token; a lower role
// gets 403.
func (d *Dashboard) auth(min string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// As the API: PostgreSQL cannot compare NUL or bytes that are not
		// UTF-8, so they never reach a query.
		if err := httpx.CheckURL(r.URL); err != nil {
			d.renderError(w, r, err)
			return
		}
		c, err := r.Cookie(account.SessionCookie)
		var sess *account.Session
		if err == nil {
			sess, err = d.Accounts.Session(r.Context(), c.Value)
		}
		if err != nil {
			if !fault.Is(err, fault.CodeUnauthorized) && !errors.Is(err, http.ErrNoCookie) {
				d.renderError(w, r, err)
				return
			}
			d.toLogin(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !validCSRF(r, sess.CSRFToken) {
				d.renderError(w, r, fault.New(fault.CodeForbidden, "The form was stale or not from this dashboard. Reload the page and try again."))
				return
			}
			// Form text is not JSON: nothing else refuses NUL or bytes
			// that are not UTF-8, which PostgreSQL cannot store and SQLite
			// would keep.
			_ = r.ParseMultipartForm(32 << 20)
			if err := httpx.CheckForm(r.PostForm); err != nil {
				d.renderError(w, r, err)
				return
			}
		}
		if err := account.RequireRole(sess.User, min); err != nil {
			d.renderError(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, &viewer{Session: sess, User: sess.User})
		h(w, r.WithContext(ctx))
	}
}

func (d *Dashboard) toLogin(w http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet || r.URL.Path == "/events" {
		next = "/conversations"
	}
	target := "/login?next=" + url.QueryEscape(next)
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusUnauthorized)
		d.render(w, r, http.StatusUnauthorized, "error", map[string]any{"Title": "Signed out", "Message": "Your session has ended. Sign in again."})
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// validCSRF compares the request's token (header X-CSRF-Token, which the
// dashboard's script adds to htmx requests, or form field csrf) with the
// session's, in constant time.
func validCSRF(r *http.Request, want string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// isHX reports an htmx request (a fragment is wanted, not a page).
func isHX(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-History-Restore-Request") != "true"
}

// render executes a page template into the response.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	t, ok := d.pages[name]
	if !ok {
		d.Log.ErrorContext(r.Context(), "dashboard: no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if data == nil {
		data = map[string]any{}
	}
	if v := viewerOf(r.Context()); v != nil {
		data["Viewer"] = v.User
		data["CSRF"] = v.Session.CSRFToken
		data["CanManage"] = account.Can(v.User.Role, account.RoleAdmin)
		if _, ok := data["NavCount"]; !ok {
			if c, err := d.Conversations.Count(r.Context(), v.User.WorkspaceID, conversation.Filter{}); err == nil {
				data["NavCount"] = c.Total
			}
		}
	}
	data["Path"] = r.URL.Path
	var buf strings.Builder
	tmpl := "page"
	if frag, ok := data["Fragment"].(string); ok && frag != "" {
		tmpl = frag
	}
	if v := viewerOf(r.Context()); v != nil && tmpl == "page" && d.Events != nil {
		// The page's live updates start right after what it shows.
		if p, err := d.Events.Store.LastEventPos(r.Context()); err == nil {
			data["EventsAfter"] = p.ID()
		}
	}
	if err := t.ExecuteTemplate(&buf, tmpl, data); err != nil {
		d.Log.ErrorContext(r.Context(), "dashboard: render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	httpx.HTMLHeaders(w.Header())
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "HX-Request")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// renderError shows err as a page (or, to htmx, a fragment) with the
// status its code maps to. Validation errors are shown beside fields by
// the handlers; what reaches here is shown whole.
func (d *Dashboard) renderError(w http.ResponseWriter, r *http.Request, err error) {
	p := httpx.ProblemFor(err)
	if p.Status >= 500 {
		d.Log.ErrorContext(r.Context(), "dashboard request failed", "path", r.URL.Path, "err", err)
	}
	data := map[string]any{"Title": p.Title, "Message": p.Detail, "Status": p.Status}
	if isHX(r) {
		data["Fragment"] = "alert"
		// htmx swaps only 2xx by default; retarget errors to the flash area.
		w.Header().Set("HX-Retarget", "#flash")
		w.Header().Set("HX-Reswap", "innerHTML")
	}
	d.render(w, r, p.Status, "error", data)
}

// fieldErrors turns a validation error into field → message, for forms.
func fieldErrors(err error) map[string]string {
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Code != fault.CodeValidation {
		return nil
	}
	out := map[string]string{}
	for _, e := range fe.Fields {
		if _, ok := out[e.Field]; !ok {
			out[e.Field] = e.Message
		}
	}
	return out
}

func workspace(r *http.Request) string { return viewerOf(r.Context()).User.WorkspaceID }

func redirect(w http.ResponseWriter, r *http.Request, to string) {
	if isHX(r) {
		w.Header().Set("HX-Location", to)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// zeroFilter selects every conversation.
var zeroFilter = conversation.Filter{}

var _ = fmt.Sprintf

// zoneCookie holds the viewer's IANA time zone, which app.js sets from
// the browser; date filters count days in it. The URL stays the same for
// everyone: "today" is each viewer's own.
const zoneCookie = "parley_tz"

// viewerZone is the time zone the viewer's browser reported, or UTC.
func viewerZone(r *http.Request) *time.Location {
	c, err := r.Cookie(zoneCookie)
	if err != nil || c.Value == "" || len(c.Value) > 64 || strings.Contains(c.Value, "..") {
		return time.UTC
	}
	name, err := url.QueryUnescape(c.Value)
	if err != nil {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return time.UTC
	}
	return loc
}
