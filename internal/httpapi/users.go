package httpapi

import (
	"context"
	"net/http"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/httpx"
)

// userJSON is the API form of a dashboard user; the password hash is
// never sent. Password is set only when the server generated it.
type userJSON struct {
	ID        string   `json:"id"`
	Email     string   `json:"email"`
	Role      string   `json:"role"`
	CreatedAt jsonTime `json:"created_at"`
	Password  string   `json:"password,omitempty"`
}

func userView(u *account.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Role: u.Role, CreatedAt: jsonTime(u.CreatedAt)}
}

// keyActor is who an API key acts as when managing users: any key of the
// workspace manages its keys, so it may as well manage its users, with
// the owner's rights. The account service still keeps the last owner.
func keyActor(ctx context.Context) *account.User {
	return &account.User{WorkspaceID: workspaceID(ctx), Role: account.RoleOwner}
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	us, err := a.Accounts.ListUsers(r.Context(), keyActor(r.Context()))
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	data := make([]userJSON, len(us))
	for i, u := range us {
		data[i] = userView(u)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"data": data, "next_cursor": nil, "prev_cursor": nil})
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Role     string `json:"role"`
	}
	if err := httpx.Decode(w, r, defaultBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	u, generated, err := a.Accounts.AddUser(r.Context(), keyActor(r.Context()), in.Email, in.Password, in.Role)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	out := userView(u)
	out.Password = generated
	httpx.WriteJSON(w, http.StatusCreated, out)
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Role string `json:"role"`
	}
	if err := httpx.Decode(w, r, defaultBodyLimit, &in); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	u, err := a.Accounts.ChangeRole(r.Context(), keyActor(r.Context()), r.PathValue("id"), in.Role)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, userView(u))
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	if err := a.Accounts.RemoveUser(r.Context(), keyActor(r.Context()), r.PathValue("id")); err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
