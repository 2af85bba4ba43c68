package httpapi

import (
	"net/http"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/httpx"
)

// apiKeyJSON is the API form of a key. The secret is not stored, so it
// appears only in the answer to the request that made the key.
type apiKeyJSON struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Prefix     string    `json:"prefix"`
	CreatedAt  jsonTime  `json:"created_at"`
	LastUsedAt *jsonTime `json:"last_used_at"`
	Secret     string    `json:"secret,omitempty"`
}

func apiKeyView(k *account.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: jsonTime(k.CreatedAt), LastUsedAt: optTime(k.LastUsedAt)}
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	req, ok := a.listRequest(w, r, nil)
	if !ok {
		return
	}
	res, err := a.Accounts.ListAPIKeys(r.Context(), workspaceID(r.Context()), req)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, newList(res, apiKeyView, a.cursorWriter(r)))
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if err := httpx.Decode(w, r, defaultBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	secret, k, err := a.Accounts.CreateAPIKey(r.Context(), workspaceID(r.Context()), in.Name)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	out := apiKeyView(k)
	out.Secret = secret
	httpx.WriteJSON(w, http.StatusCreated, out)
}

func (a *API) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	if err := a.Accounts.RevokeAPIKey(r.Context(), workspaceID(r.Context()), r.PathValue("id")); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
