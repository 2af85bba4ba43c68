package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/parley-dev/parley/internal/app"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/jobs"
	"github.com/parley-dev/parley/internal/page"
)

// jobsMain is `parley-bench jobs`: it ends --conversations conversations
// with no worker running (a backlog of extraction jobs), drains the
// backlog in a child process that it kills with SIGKILL half-way, drains
// the rest in a second child, and checks that every conversation was
// extracted exactly once (one extraction note each). It then measures
// pickup latency: conversations ended one at a time on a node whose
// workers are idle, from the end to the stored extraction.
//
// `parley-bench jobs-work` is the child: it works jobs until none is left.
func jobsMain(args []string) error {
	fs := flag.NewFlagSet("parley-bench jobs", flag.ExitOnError)
	dbURL := fs.String("database-url", "jobs.db", "SQLite path or postgres:// URL (a fresh database)")
	n := fs.Int("conversations", 2000, "jobs in the backlog")
	latency := fs.Int("latency-samples", 100, "conversations ended one at a time to measure pickup latency")
	cpuProfile := fs.String("cpuprofile", "", "write the first worker's CPU profile (until its kill) to this file")
	_ = fs.Parse(args)
	ctx := context.Background()
	a, ws, asst, err := openBench(ctx, *dbURL, jobs.Config{})
	if err != nil {
		return err
	}
	defer a.Close()

	fmt.Printf("ending %d conversations (no worker running)...\n", *n)
	convs := make([]string, *n)
	for i := range convs {
		if convs[i], err = endedConversation(ctx, a, ws, asst); err != nil {
			return err
		}
	}
	backlog := func() int64 {
		counts, err := a.Jobs.Backlog(ctx)
		if err != nil {
			fail(err)
		}
		var left int64
		for _, c := range counts {
			left += c.N
		}
		return left
	}
	fmt.Printf("backlog: %d jobs\n", backlog())

	child := func(extra ...string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], append([]string{"jobs-work", "--database-url", *dbURL}, extra...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			fail(err)
		}
		return cmd
	}
	var extra []string
	if *cpuProfile != "" {
		extra = []string{"--cpuprofile", *cpuProfile, "--profile-until", fmt.Sprint(*n / 2)}
	}
	first := child(extra...)
	start := time.Now()
	for backlog() > int64(*n/2) {
		time.Sleep(5 * time.Millisecond)
	}
	if *cpuProfile != "" {
		time.Sleep(200 * time.Millisecond) // the child stops its profile at the same mark
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	_ = first.Wait()
	left := backlog()
	fmt.Printf("kill -9 after %v with %d jobs left (%.0f jobs/s before the kill)\n",
		time.Since(start).Round(time.Millisecond), left, float64(int64(*n)-left)/time.Since(start).Seconds())
	second := child()
	if err := second.Wait(); err != nil {
		return fmt.Errorf("second worker: %w", err)
	}

	// Every conversation extracted exactly once.
	counts := map[int]int{}
	for _, id := range convs {
		msgs, err := a.Conversations.Transcript(ctx, ws, id)
		if err != nil {
			return err
		}
		notes := 0
		for _, m := range msgs {
			if m.Role == conversation.RoleSystem && strings.HasPrefix(m.Content, "Extracted ") {
				notes++
			}
		}
		counts[notes]++
	}
	fmt.Printf("extraction notes per conversation: %v (want map[1:%d])\n", counts, *n)
	if counts[1] != *n {
		return errors.New("some job's effect did not happen exactly once")
	}

	// Pickup latency on an idle node: end → extraction stored.
	stop, err := a.StartJobs(ctx)
	if err != nil {
		return err
	}
	defer stop(ctx)
	var m measurement
	for range *latency {
		if err := endedConversationTimed(ctx, a, ws, asst, &m); err != nil {
			return err
		}
	}
	fmt.Printf("end → extraction stored, one at a time: p50 %v p95 %v p99 %v\n", m.pct(0.5), m.pct(0.95), m.pct(0.99))
	return nil
}

// jobsWork is the child of jobsMain: it works jobs until the backlog is
// empty, then reports how fast it drained it.
func jobsWork(args []string) error {
	fs := flag.NewFlagSet("parley-bench jobs-work", flag.ExitOnError)
	dbURL := fs.String("database-url", "jobs.db", "SQLite path or postgres:// URL")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	profileUntil := fs.Int64("profile-until", 0, "stop the CPU profile when this many jobs are left")
	_ = fs.Parse(args)
	ctx := context.Background()
	// A killed worker's running jobs are rescued after 10 s, not 3 min.
	a, _, _, err := openBench(ctx, *dbURL, jobs.Config{JobTimeout: 5 * time.Second, RescueAfter: 10 * time.Second})
	if err != nil {
		return err
	}
	defer a.Close()
	left := func() int64 {
		counts, err := a.Jobs.Backlog(ctx)
		if err != nil {
			fail(err)
		}
		var n int64
		for _, c := range counts {
			n += c.N
		}
		return n
	}
	before := left()
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer func() { _ = stopProfile() }()
	start := time.Now()
	stop, err := a.StartJobs(ctx)
	if err != nil {
		return err
	}
	for n := left(); n > 0; n = left() {
		if n <= *profileUntil {
			_ = stopProfile()
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = stopProfile()
	d := time.Since(start)
	stop(ctx)
	fmt.Printf("worker drained %d jobs in %v: %.0f jobs/s\n", before, d.Round(time.Millisecond), float64(before)/d.Seconds())
	return nil
}

// openBench opens, migrates and bootstraps the database, with the demo
// assistant (the offline model, which extracts by rules).
func openBench(ctx context.Context, dbURL string, jc jobs.Config) (*app.App, string, string, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := app.OpenStore(ctx, dbURL)
	if err != nil {
		return nil, "", "", err
	}
	if err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		return nil, "", "", err
	}
	a, err := app.Build(&config.Config{DatabaseURL: dbURL, AdminEmail: "bench@example.com", AdminPassword: "bench-password"},
		st, log, jc)
	if err != nil {
		_ = st.Close()
		return nil, "", "", err
	}
	if err := a.Bootstrap(ctx); err != nil {
		_ = a.Close()
		return nil, "", "", err
	}
	ws, err := a.Accounts.DefaultWorkspace(ctx)
	if err != nil {
		_ = a.Close()
		return nil, "", "", err
	}
	list, err := a.Assistants.List(ctx, ws, page.Request{Limit: 1})
	if err != nil || len(list.Items) == 0 {
		_ = a.Close()
		return nil, "", "", fmt.Errorf("no assistant: %w", err)
	}
	return a, ws, list.Items[0].ID, nil
}

// endedConversation creates a conversation with one exchange and ends it,
// which enqueues its extraction.
func endedConversation(ctx context.Context, a *app.App, ws, asst string) (string, error) {
	c, _, err := a.Conversations.Create(ctx, ws, conversation.CreateInput{AssistantID: asst, Type: conversation.TypeAPI})
	if err != nil {
		return "", err
	}
	if _, err := a.Conversations.PostMessage(ctx, ws, c.ID, conversation.PostInput{Role: conversation.RoleUser, Content: "Hi, my email is ada@example.com"}, nil); err != nil {
		return "", err
	}
	if _, err := a.Conversations.End(ctx, ws, c.ID); err != nil {
		return "", err
	}
	return c.ID, nil
}

// endedConversationTimed is endedConversation timing the end → stored
// extraction span into m.
func endedConversationTimed(ctx context.Context, a *app.App, ws, asst string, m *measurement) error {
	c, _, err := a.Conversations.Create(ctx, ws, conversation.CreateInput{AssistantID: asst, Type: conversation.TypeAPI})
	if err != nil {
		return err
	}
	if _, err := a.Conversations.PostMessage(ctx, ws, c.ID, conversation.PostInput{Role: conversation.RoleUser, Content: "Hi, my email is ada@example.com"}, nil); err != nil {
		return err
	}
	start := time.Now()
	if _, err := a.Conversations.End(ctx, ws, c.ID); err != nil {
		return err
	}
	deadline := start.Add(30 * time.Second)
	for {
		got, err := a.Conversations.Get(ctx, ws, c.ID)
		if err != nil {
			return err
		}
		if _, ok := got.Variables["summary"]; ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("conversation %s not extracted after 30 s", c.ID)
		}
		time.Sleep(time.Millisecond)
	}
	m.samples = append(m.samples, time.Since(start))
	return nil
}
