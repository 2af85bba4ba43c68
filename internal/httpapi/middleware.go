package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
)

type ctxKey int

const keyWorkspace ctxKey = iota

// workspaceID returns the workspace the request's API key belongs to.
func workspaceID(ctx context.Context) string {
	s, _ := ctx.Value(keyWorkspace).(string)
	return s
}

// authenticate admits requests that carry a valid API key and records the
// key's workspace in the context; a missing or wrong key gets a 401
// problem. Requests that are malformed before any key is looked at get a
// 400: two Authorization headers (which one would count is ambiguous, and
// proxies disagree), or a URL with NUL characters or bytes that are not
// UTF-8 in its path or query (checked here, once, for every API route).
func (a *API) authenticate(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Values("Authorization")) > 1 {
			httpx.WriteProblem(w, r, fault.New(fault.CodeMalformed, "send one Authorization header, not %d", len(r.Header.Values("Authorization"))))
			return
		}
		if err := httpx.CheckURL(r.URL); err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		h := r.Header.Get("Authorization")
		scheme, secret, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			httpx.WriteProblem(w, r, fault.New(fault.CodeUnauthorized, "missing API key: send Authorization: Bearer <key>"))
			return
		}
		key, err := a.Accounts.Authenticate(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		if a.Limiter.Limited(w, r, key.ID) {
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), keyWorkspace, key.WorkspaceID)))
	}
}
