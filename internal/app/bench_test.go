package app_test

import (
	"context"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/llmtest"
	"github.com/parley-dev/parley/internal/llm/openai"
)

// The engine's overhead per reply is BenchmarkPostMessage/provider minus
// BenchmarkProviderCall: both talk to the same local fake provider; the
// first also stores the user message, loads history, prices and stores
// the reply.

func BenchmarkProviderCall(b *testing.B) {
	fake := llmtest.New(b)
	c := openai.New(fake.BaseURL(), "k", openai.Options{})
	req := llm.Request{Model: "gpt-4o-mini", System: "Be brief.", Messages: []llm.Message{{Role: llm.RoleUser, Content: "Do you ship abroad?"}}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Generate(context.Background(), req, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPostMessage(b *testing.B) {
	for _, model := range []string{"offline", "provider"} {
		b.Run(model, func(b *testing.B) {
			fake := llmtest.New(b)
			s := apptest.Start(b, "", func(c *config.Config) { c.LLMBaseURL, c.LLMAPIKey = fake.BaseURL(), "k" })
			asst := s.DemoAssistant
			if model == "provider" {
				asst = s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "R", "model": "gpt-4o-mini"}).Want(201).Str("id")
			}
			svc := s.App.Conversations
			ctx := context.Background()
			var conv string
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%20 == 0 {
					b.StopTimer()
					c, _, err := svc.Create(ctx, s.Workspace, conversation.CreateInput{AssistantID: asst, Type: conversation.TypeAPI})
					if err != nil {
						b.Fatal(err)
					}
					conv = c.ID
					b.StartTimer()
				}
				if _, err := svc.PostMessage(ctx, s.Workspace, conv, conversation.PostInput{Role: "user", Content: "Do you ship abroad?"}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
