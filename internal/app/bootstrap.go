package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/parley-dev/parley/internal/account"
	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/config"
	"github.com/parley-dev/parley/internal/llm/offline"
	"github.com/parley-dev/parley/internal/llm/openai"
	"github.com/parley-dev/parley/internal/store"
)

// Bootstrap prepares an empty database: a workspace, the owner user and a
// Demo Assistant on the offline model, so Parley works at once. They are
// stored in one transaction, so a start that fails or dies half-way
// leaves the database empty and the next start does the whole of it; of
// several nodes starting together, one does it.
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
	ws, err := a.Accounts.NewWorkspace("Default")
	if err != nil {
		return err
	}
	password, generated := a.Config.AdminPassword, false
	if password == "" {
		password, generated = account.RandomToken(20), true
	}
	owner, err := a.Accounts.NewUser(ws.ID, a.Config.AdminEmail, password, account.RoleOwner)
	if err != nil {
		return fmt.Errorf("owner %s: %w", a.Config.AdminEmail, err)
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
	demo, err := a.Assistants.New(ws.ID, set)
	if err != nil {
		return fmt.Errorf("the Demo Assistant: %w", err)
	}
	created, err := a.Store.Bootstrap(ctx, store.FirstStart{Workspace: ws, Owner: owner, Assistant: demo})
	if err != nil {
		return fmt.Errorf("store the workspace, owner and Demo Assistant: %w", err)
	}
	if !created {
		a.Log.Info("another node prepared the empty database")
		return nil
	}
	attrs := []any{"workspace", ws.ID, "email", owner.Email}
	if generated {
		// Logged once, on purpose: it is the only way to learn it.
		attrs = append(attrs, "generated_password", password)
	}
	a.Log.Info("first start: created workspace, owner and Demo Assistant", attrs...)
	return nil
}

// CheckConfig checks the settings that only the first start uses, so a
// bad one stops the process before it touches the database rather than
// half-way through preparing it.
func CheckConfig(cfg *config.Config) error {
	var errs []error
	if msg := account.CheckEmail(cfg.AdminEmail); msg != "" {
		errs = append(errs, fmt.Errorf("PARLEY_ADMIN_EMAIL: %s", msg))
	}
	if err := openai.ValidCompat(cfg.LLMCompat); err != nil {
		errs = append(errs, fmt.Errorf("PARLEY_LLM_COMPAT: %w", err))
	}
	if cfg.AdminPassword != "" { // unset, one is generated
		if msg := account.CheckPassword(cfg.AdminPassword); msg != "" {
			errs = append(errs, fmt.Errorf("PARLEY_ADMIN_PASSWORD: %s", msg))
		}
	}
	return errors.Join(errs...)
}

// SecretKey returns the configured secret key, or the one generated into
// the database on first start.
func (a *App) SecretKey(ctx context.Context) (string, error) {
	if a.Config.SecretKey != "" {
		return a.Config.SecretKey, nil
	}
	return a.Store.EnsureSetting(ctx, "secret_key", account.RandomToken(48))
}
