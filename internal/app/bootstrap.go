package app

import (
	"context"
	"fmt"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/llm/offline"
)

// Bootstrap prepares an empty database: a workspace, the owner user and a
// Demo Assistant on the offline model, so Parley works at once. Of several
// nodes starting together, only the one that claims the database does it.
func (a *App) Bootstrap(ctx context.Context) error {
	if _, err := a.SecretKey(ctx); err != nil {
		return err
	}
	existing, err := a.Store.ListWorkspaces(ctx)
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		return nil
	}
	claim := ids.New("node")
	if got, err := a.Store.EnsureSetting(ctx, "bootstrap_claim", claim); err != nil {
		return err
	} else if got != claim {
		a.Log.Info("another node is preparing the empty database")
		return nil
	}
	ws, err := a.Accounts.CreateWorkspace(ctx, "Default")
	if err != nil {
		return err
	}
	password, generated := a.Config.AdminPassword, false
	if password == "" {
		password, generated = account.RandomToken(20), true
	}
	if _, err := a.Accounts.CreateUser(ctx, ws.ID, a.Config.AdminEmail, password, account.RoleOwner); err != nil {
		return fmt.Errorf("create owner %s: %w", a.Config.AdminEmail, err)
	}
	set := assistant.Defaults()
	set.Name = "Demo Assistant"
	set.SystemPrompt = "You are the friendly assistant of Parley Coffee Roasters. Answer briefly and only from what you know."
	set.Greeting = "Hello! I'm the Parley Coffee Roasters assistant. Ask me about opening hours, shipping, returns or subscriptions."
	set.Knowledge = offline.DemoKnowledge
	set.Variables = []assistant.VariableDef{
		{Name: "email", Type: assistant.TypeString, Description: "The customer's email address, if they gave it."},
		{Name: "wants_subscription", Type: assistant.TypeBoolean, Description: "Whether the customer wants a coffee subscription."},
	}
	set.PrechatForm = []assistant.PrechatField{
		{Name: "name", Label: "Your name", Type: "text", Placeholder: "Ada"},
		{Name: "email", Label: "Email", Type: "email", Placeholder: "ada@example.com"},
	}
	if _, err := a.Assistants.Create(ctx, ws.ID, set); err != nil {
		return fmt.Errorf("create Demo Assistant: %w", err)
	}
	attrs := []any{"workspace", ws.ID, "email", a.Config.AdminEmail}
	if generated {
		// Logged once, on purpose: it is the only way to learn it.
		attrs = append(attrs, "generated_password", password)
	}
	a.Log.Info("first start: created workspace, owner and Demo Assistant", attrs...)
	return nil
}

// SecretKey returns the configured secret key, or the one generated into
// the database on first start.
func (a *App) SecretKey(ctx context.Context) (string, error) {
	if a.Config.SecretKey != "" {
		return a.Config.SecretKey, nil
	}
	return a.Store.EnsureSetting(ctx, "secret_key", account.RandomToken(48))
}
