package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// run runs the CLI in-process with an environment of its own.
func run(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(&Env{
		Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }, Context: context.Background(),
	})
	return code, out.String(), errb.String()
}

func TestCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	env := map[string]string{"PARLEY_DATABASE_URL": db}

	code, out, _ := run(t, env, "", "-h")
	for _, want := range []string{"serve", "apikey create", "user create", "--password-stdin", "--role", "--workspace",
		"PARLEY_DATABASE_URL", "PARLEY_LLM_API_KEY_FILE", "PARLEY_WHATSAPP_GRAPH_URL", "PARLEY_API_RATE_LIMIT", "PARLEY_METRICS_TOKEN", "PARLEY_METRICS_TOKEN_FILE"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("-h (code %d) lacks %q", code, want)
		}
	}
	if code, out, _ := run(t, env, "", "version"); code != 0 || !strings.HasPrefix(out, "parley ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, _, errs := run(t, env, "", "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown command: %d %q", code, errs)
	}
	if code, _, _ := run(t, env, "", "migrate"); code != 0 {
		t.Fatalf("migrate failed")
	}

	code, key, errs := run(t, env, "", "apikey", "create", "--name", "ci")
	key = strings.TrimSpace(key)
	if code != 0 || !strings.HasPrefix(key, "pk_") || strings.Count(key, "\n") != 0 {
		t.Fatalf("apikey create: %d %q %s", code, key, errs)
	}
	// The key works only on a server using the same database: say which.
	if !strings.Contains(errs, "sqlite database "+db) {
		t.Errorf("apikey create does not say where it wrote the key: %s", errs)
	}
	code, ws, _ := run(t, env, "", "workspace", "create", "--name", "Acme")
	ws = strings.TrimSpace(ws)
	if code != 0 || !strings.HasPrefix(ws, "ws_") {
		t.Fatalf("workspace create: %d %q", code, ws)
	}
	if code, out, errs := run(t, env, "", "apikey", "create", "--name", "acme", "--workspace", ws); code != 0 || !strings.HasPrefix(out, "pk_") {
		t.Errorf("apikey in workspace: %d %q %s", code, out, errs)
	}
	if code, _, errs := run(t, env, "", "apikey", "create", "--name", "x", "--workspace", "ws_nope"); code != 1 || !strings.Contains(errs, "not found") {
		t.Errorf("apikey for missing workspace: %d %s", code, errs)
	}
	if code, _, errs := run(t, env, "", "workspace", "create"); code != 1 || !strings.Contains(errs, "name") {
		t.Errorf("workspace without name: %d %s", code, errs)
	}
	code, out, errs = run(t, env, "s3cret-password\n", "user", "create", "--email", "bob@example.com", "--password-stdin", "--role", "admin")
	if code != 0 || !strings.HasPrefix(out, "usr_") {
		t.Errorf("user create: %d %q %s", code, out, errs)
	}
	if code, _, errs := run(t, env, "s3cret-password\n", "user", "create", "--email", "BOB@example.com", "--password-stdin"); code != 1 || !strings.Contains(errs, "already exists") {
		t.Errorf("duplicate user: %d %s", code, errs)
	}
	if code, _, errs := run(t, env, "", "user", "create", "--email", "c@example.com"); code != 1 || !strings.Contains(errs, "--password-stdin") {
		t.Errorf("user without password: %d %s", code, errs)
	}
	if code, _, errs := run(t, map[string]string{"PARLEY_LOG_FORMAT": "xml"}, "", "version"); code != 2 || !strings.Contains(errs, "PARLEY_LOG_FORMAT") {
		t.Errorf("bad config: %d %s", code, errs)
	}
	// A first-owner setting that would fail the first start half-way is
	// refused before the database is created.
	fresh := filepath.Join(t.TempDir(), "fresh.db")
	for k, v := range map[string]string{"PARLEY_ADMIN_PASSWORD": "short", "PARLEY_ADMIN_EMAIL": "not an address", "PARLEY_LLM_COMPAT": "klingon"} {
		code, _, errs := run(t, map[string]string{"PARLEY_DATABASE_URL": fresh, k: v}, "", "migrate")
		if code != 2 || !strings.Contains(errs, k) {
			t.Errorf("%s=%q: %d %s", k, v, code, errs)
		}
		if _, err := os.Stat(fresh); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s=%q: the database was created: %v", k, v, err)
		}
	}
}

func TestServe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "serve.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Main(&Env{
			Args: []string{"serve", "--addr", "127.0.0.1:0"}, Stdin: strings.NewReader(""),
			Stdout: io.Discard, Stderr: &syncWriter{w: &stderr},
			Getenv:  func(k string) string { return map[string]string{"PARLEY_DATABASE_URL": db}[k] },
			Ready:   func(addr string) { addrc <- addr },
			Context: ctx,
		})
	}()
	var addr string
	select {
	case addr = <-addrc:
	case code := <-done:
		t.Fatalf("serve exited with %d: %s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	// The readiness gauge is true from the start, before any /readyz.
	c := [][2]string{{"/metrics", `parley_database_ready{driver="sqlite"} 1`}, {"/healthz", "ok"}, {"/readyz", "ready"}, {"/", "Sign in"}, {"/metrics", "parley_http_requests_total"}}
	for _, c := range c {
		path, want := c[0], c[1]
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d %.200s", path, resp.StatusCode, body)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit code %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	log := stderr.String()
	for _, want := range []string{"addr=127.0.0.1:", "generated_password=", "Demo Assistant", "stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestDatabaseName(t *testing.T) {
	cwd, _ := os.Getwd()
	for in, want := range map[string]string{
		"parley.db":        "sqlite database " + filepath.Join(cwd, "parley.db"),
		"sqlite:/var/p.db": "sqlite database /var/p.db",
		"postgres://parley:s3cret@db.internal:5432/parley?sslmode=require&password=s3cret": `postgres database "parley" on db.internal:5432`,
		"postgresql://u@/parley?host=/run/postgresql":                                      `postgres database "parley" on /run/postgresql`,
	} {
		if got := databaseName(in); got != want {
			t.Errorf("databaseName(%q) = %q, want %q", in, got, want)
		}
	}
}
