package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/page"
)

// TestLoad runs parley-bench load briefly against a small seeded SQLite
// database, through the real server, and checks every class reported
// requests and no errors, and that the posts it counted are stored, each
// with its reply.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	dbURL := filepath.Join(t.TempDir(), "bench.db")
	a, ws, first, closeStore, err := open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := seed(ctx, a, ws, first, seedOptions{N: 200, Per: 4, Assistants: 3}); err != nil {
		t.Fatal(err)
	}
	closeStore()

	fs := newLoadFlags()
	getConfig, o := fs.config, fs.opts
	if err := fs.set.Parse([]string{"--database-url", dbURL, "--posters", "4", "--shared", "2", "--listers", "1",
		"--counters", "1", "--searchers", "1", "--duration", "1s", "--warmup", "200ms", "--floor", "200ms"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := getConfig()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := load(prepareLoadConfig(cfg), *o, &out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	row := regexp.MustCompile(`(?m)^\| ([^|]+) \| (\d+) \| (\d+) \| \d+ \|.*\| (\d+) \|$`)
	rows := row.FindAllStringSubmatch(out.String(), -1)
	if len(rows) != 5 {
		t.Fatalf("%d result rows, want the floor and four classes:\n%s", len(rows), out.String())
	}
	posts := 0
	for _, r := range rows {
		n, _ := strconv.Atoi(r[3])
		if n == 0 || r[4] != "0" {
			t.Errorf("%s: %s requests, %s errors", strings.TrimSpace(r[1]), r[3], r[4])
		}
		if strings.HasPrefix(r[1], "post") {
			posts = n
		}
	}

	// Every counted post is stored with its reply (more were posted in
	// the warm-up), in conversations shared by two posters.
	a, ws, _, closeStore, err = open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	from := time.Now().Add(-time.Hour)
	list, err := a.Conversations.List(ctx, ws, conversation.Filter{CreatedFrom: &from}, conversation.Order{Sort: "created_at", Desc: true}, page.Request{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for _, c := range list.Items {
		msgs, err := a.Conversations.Transcript(ctx, ws, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		users, replies := 0, 0
		for _, m := range msgs {
			switch m.Role {
			case conversation.RoleUser:
				users++
			case conversation.RoleAssistant:
				replies++
			}
		}
		if users > replies {
			t.Errorf("conversation %s: %d user messages, %d replies", c.ID, users, replies)
		}
		stored += users
	}
	if len(list.Items) == 0 || stored < posts {
		t.Errorf("%d conversations hold %d user messages; %d posts were counted", len(list.Items), stored, posts)
	}
}
