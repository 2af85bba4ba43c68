package app_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/llm/llmtest"
)

// bodyTimeout is the body deadline these tests run with.
const bodyTimeout = 200 * time.Millisecond

// TestSilentBodiesDoNotHoldConnections: a client that announces a body
// and never sends it must not hold a connection (and a file descriptor)
// for longer than the body deadline, whichever route it asks for and
// whether or not the handler reads the body.
func TestSilentBodiesDoNotHoldConnections(t *testing.T) {
	s := apptest.Start(t, "", func(c *config.Config) { c.BodyReadTimeout = bodyTimeout })
	addr := strings.TrimPrefix(s.URL, "http://")
	auth := "Authorization: Bearer " + s.Key + "\r\nContent-Type: application/json\r\n"
	cases := []struct{ name, head, body string }{
		{"authenticated route", "POST /api/v1/conversations HTTP/1.1\r\n" + auth + "Content-Length: 1000\r\n", ""},
		{"broken JSON, then silence", "POST /api/v1/conversations HTTP/1.1\r\n" + auth + "Content-Length: 1000\r\n", "{]"},
		{"unauthenticated route", "POST /api/v1/conversations HTTP/1.1\r\nContent-Length: 1000\r\n", ""},
		{"bad API key", "POST /api/v1/assistants HTTP/1.1\r\nAuthorization: Bearer pk_nope\r\nContent-Length: 1000\r\n", ""},
		{"unknown route", "POST /nowhere HTTP/1.1\r\nContent-Length: 1000\r\n", ""},
		{"unknown API route", "PUT /api/v1/nowhere HTTP/1.1\r\nContent-Length: 1000\r\n", ""},
		{"GET with a body", "GET /healthz HTTP/1.1\r\nContent-Length: 1000\r\n", ""},
		{"chunked body", "POST /api/v1/conversations HTTP/1.1\r\n" + auth + "Transfer-Encoding: chunked\r\n", "5\r\n{\"ass"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			start := time.Now()
			if _, err := io.WriteString(conn, tc.head+"Host: parley\r\n\r\n"+tc.body); err != nil {
				t.Fatal(err)
			}
			// The server must answer and close, or just close, well
			// before this.
			_ = conn.SetReadDeadline(start.Add(5 * time.Second))
			_, err = io.Copy(io.Discard, conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the connection was still open after %v", time.Since(start).Round(time.Millisecond))
			}
			if d := time.Since(start); d > bodyTimeout+2*time.Second {
				t.Errorf("the connection was closed only after %v", d)
			}
		})
	}
}

// TestBodyDeadlineEndsWithTheBody: once a body has been read to its end,
// the deadline is lifted, so the connection serves later requests (and
// long streamed responses) however long they take.
func TestBodyDeadlineEndsWithTheBody(t *testing.T) {
	s := apptest.Start(t, "", func(c *config.Config) { c.BodyReadTimeout = bodyTimeout })
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	r := bufio.NewReader(conn)
	body := `{"assistant_id":"` + s.DemoAssistant + `"}`
	for i := range 2 {
		req := "POST /api/v1/conversations HTTP/1.1\r\nHost: parley\r\nAuthorization: Bearer " + s.Key +
			"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("request %d: status %d", i+1, resp.StatusCode)
		}
		time.Sleep(3 * bodyTimeout) // longer than the body deadline
	}
}

// TestStreamOutlastsBodyDeadline: a streamed reply that runs far longer
// than the body deadline finishes; the deadline ended with the body.
func TestStreamOutlastsBodyDeadline(t *testing.T) {
	fake := llmtest.New(t)
	fake.Reply = func(llmtest.Request) string { return "one two three four five six" }
	fake.ChunkDelay = bodyTimeout / 2 // six chunks: three body deadlines
	s := apptest.Start(t, "", func(c *config.Config) {
		c.BodyReadTimeout = bodyTimeout
		c.LLMBaseURL, c.LLMAPIKey = fake.BaseURL(), "sk-test"
	})
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "Remote", "model": "gpt-4o"}).Want(201).Str("id")
	conv := s.Do("POST", "/api/v1/conversations", s.Key, map[string]any{"assistant_id": asst}).Want(201).Str("id")
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/conversations/"+conv+"/messages", strings.NewReader(`{"content":"count"}`))
	req.Header.Set("Authorization", "Bearer "+s.Key)
	req.Header.Set("Accept", "text/event-stream")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stream, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("after %v: %v", time.Since(start), err)
	}
	if !strings.Contains(string(stream), "event: done") || strings.Contains(string(stream), "event: error") {
		t.Errorf("stream of %v: %s", time.Since(start), stream)
	}
	if time.Since(start) < 2*bodyTimeout {
		t.Errorf("the stream took %v, not longer than the body deadline: the test proves nothing", time.Since(start))
	}
}
