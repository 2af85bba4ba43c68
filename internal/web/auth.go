package web

import (
	"net/http"
	"strings"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
)

// safeNext keeps a post-sign-in redirect on this site: a path, never a
// scheme-relative or absolute URL.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/login") {
		return "/conversations"
	}
	return next
}

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "login", map[string]any{"Next": safeNext(r.URL.Query().Get("next"))})
}

// login checks the credentials and sets the session cookie. Failures
// re-show the form with the reason; lockouts answer 429.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	email, password := r.PostFormValue("email"), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	token, sess, err := d.Accounts.Login(r.Context(), email, password, httpx.ClientIP(r))
	if err != nil {
		p := httpx.ProblemFor(err)
		msg := p.Detail
		if p.Status >= 500 {
			d.Log.ErrorContext(r.Context(), "dashboard sign-in", "err", err)
			msg = "Sign-in is not possible right now. Try again shortly."
		}
		if fault.Is(err, fault.CodeRateLimited) {
			w.Header().Set("Retry-After", "900")
		}
		d.render(w, r, p.Status, "login", map[string]any{"Error": msg, "Email": email, "Next": next})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: account.SessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: d.SecureCookies || r.TLS != nil, Expires: sess.CreatedAt.Add(account.SessionMax),
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	if err := d.Accounts.Logout(r.Context(), viewerOf(r.Context()).Session); err != nil {
		d.renderError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: account.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: d.SecureCookies || r.TLS != nil})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
