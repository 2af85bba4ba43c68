package app

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestAPIKeyCommands(t *testing.T) {
	env := map[string]string{"PARLEY_DATABASE_URL": filepath.Join(t.TempDir(), "keys.db")}
	_, secret, _ := run(t, env, "", "apikey", "create", "--name", "ci")
	secret = strings.TrimSpace(secret)
	_, ws, _ := run(t, env, "", "workspace", "create", "--name", "Acme")
	ws = strings.TrimSpace(ws)
	_, other, _ := run(t, env, "", "apikey", "create", "--name", "acme", "--workspace", ws)

	// list: one line per key after a header, never a secret.
	code, out, errs := run(t, env, "", "apikey", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") || strings.Contains(out, secret) || strings.Contains(out, "acme") {
		t.Fatalf("apikey list: %d %q %s", code, out, errs)
	}
	f := strings.Fields(lines[1])
	if len(f) != 5 || !strings.HasPrefix(f[0], "key_") || f[1] != "ci" || !strings.HasPrefix(secret, f[2]) || f[4] != "never" {
		t.Errorf("apikey list row: %q", lines[1])
	}
	id := f[0]
	code, out, _ = run(t, env, "", "apikey", "list", "--workspace", ws)
	if code != 0 || !strings.Contains(out, "acme") || strings.Contains(out, id) || strings.Contains(out, strings.TrimSpace(other)) {
		t.Errorf("apikey list --workspace: %d %q", code, out)
	}

	if code, _, errs := run(t, env, "", "apikey", "list", "--workspace", "ws_nope"); code != 1 || !strings.Contains(errs, "not found") {
		t.Errorf("list of a missing workspace: %d %s", code, errs)
	}

	// revoke: by id; a key of another workspace is not found there.
	if code, _, errs := run(t, env, "", "apikey", "revoke", "--workspace", ws, id); code != 1 || !strings.Contains(errs, "not found") {
		t.Errorf("revoke in the wrong workspace: %d %s", code, errs)
	}
	if code, _, errs := run(t, env, "", "apikey", "revoke"); code != 1 || !strings.Contains(errs, "key id") {
		t.Errorf("revoke without id: %d %s", code, errs)
	}
	if code, _, errs := run(t, env, "", "apikey", "revoke", id, "extra"); code != 1 || !strings.Contains(errs, "unexpected argument") {
		t.Errorf("revoke with two ids: %d %s", code, errs)
	}
	if code, _, errs := run(t, env, "", "apikey", "revoke", id); code != 0 || !strings.Contains(errs, "revoked "+id) {
		t.Fatalf("revoke: %d %s", code, errs)
	}
	if _, out, _ := run(t, env, "", "apikey", "list"); strings.Contains(out, id) {
		t.Errorf("revoked key still listed: %q", out)
	}
	if code, _, errs := run(t, env, "", "apikey", "revoke", id); code != 1 || !strings.Contains(errs, "not found") {
		t.Errorf("revoke twice: %d %s", code, errs)
	}
	// Flags may follow the id too.
	_, out, _ = run(t, env, "", "apikey", "list", "--workspace", ws)
	acme := strings.Fields(strings.Split(strings.TrimSpace(out), "\n")[1])[0]
	if code, _, errs := run(t, env, "", "apikey", "revoke", acme, "--workspace", ws); code != 0 {
		t.Errorf("revoke ID --workspace: %d %s", code, errs)
	}

	_, help, _ := run(t, env, "", "-h")
	for _, want := range []string{"apikey list", "apikey revoke"} {
		if !strings.Contains(help, want) {
			t.Errorf("-h lacks %q", want)
		}
	}
}
