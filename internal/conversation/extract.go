package conversation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/events"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/llm"
)

// JobExtract is the kind of the job that extracts variables from an ended
// conversation.
const JobExtract = "conversation.extract"

// ExtractJob does the extraction job args asks for. complete, when not
// nil, is called inside the transaction that stores the extraction's
// outcome, so the job layer can mark the job done in that same
// transaction: the effect and the job's completion commit together, and a
// crash can never leave one without the other (the job then runs again,
// from scratch, or not at all). A failure that running the job again
// cannot fix comes back marked fault.Permanent.
func (s *Service) ExtractJob(ctx context.Context, args ExtractArgs, complete func(ctx context.Context) error) error {
	_, err := s.extract(ctx, args.WorkspaceID, args.ConversationID, complete)
	if fault.Is(err, fault.CodeNotFound) {
		return nil // deleted meanwhile: nothing to do
	}
	if err != nil && !retryable(err) {
		return fault.Permanent(err)
	}
	return err
}

// retryable reports whether a failed model call may succeed if made again:
// a rate limit, a timeout, a server error or a cut reply may; a refused
// key, an empty account, a request the provider rejects or a content
// filter will answer the same way.
func retryable(err error) bool {
	var (
		pe  *llm.ProviderError
		inc *llm.IncompleteError
	)
	switch {
	case errors.As(err, &pe):
		return pe.Temporary()
	case errors.As(err, &inc):
		return inc.Reason == llm.IncompleteCut
	case errors.Is(err, llm.ErrUnknownModel), errors.Is(err, llm.ErrNoJSON):
		// No provider; or the model answered, in every structured-output
		// mode its server allows, with something that is not JSON.
		return false
	}
	return true
}

// Extract asks the assistant's model for the variables of its extraction
// schema, checks each against its type, and stores the valid ones (source
// "extracted") together with a system message carrying the call's usage
// and cost, in one transaction: extraction tokens count toward the
// conversation like any reply. A value of the wrong type is logged and
// dropped, never stored.
func (s *Service) Extract(ctx context.Context, workspaceID, id string) (*Conversation, error) {
	return s.extract(ctx, workspaceID, id, nil)
}

// extract is Extract; complete, when not nil, runs inside the transaction
// that stores a successful extraction (see ExtractJob).
func (s *Service) extract(ctx context.Context, workspaceID, id string, complete func(ctx context.Context) error) (*Conversation, error) {
	c, err := s.Get(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	a, err := s.Assistants.Get(ctx, workspaceID, c.AssistantID)
	if fault.Is(err, fault.CodeNotFound) {
		return c, nil // the assistant and its schema are gone
	} else if err != nil {
		return nil, err
	}
	schema := a.ExtractionSchema()
	if len(schema) == 0 {
		return c, nil
	}
	ex, ok := s.Model.(llm.Extractor)
	if !ok {
		return nil, fault.New(fault.CodeModelUnavailable, "the configured models cannot extract variables")
	}
	msgs, err := s.Transcript(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	req := llm.ExtractRequest{Model: a.Model, Transcript: modelHistory(msgs)}
	if len(req.Transcript) == 0 {
		return c, nil
	}
	defs := map[string]assistant.VariableDef{}
	for _, d := range schema {
		defs[d.Name] = d
		req.Fields = append(req.Fields, llm.Field{Name: d.Name, Type: d.Type, Description: d.Description, Values: d.Values})
	}
	resp, err := ex.Extract(ctx, req)
	if err != nil {
		ferr := modelError(a.Model, err)
		if s.Observer != nil {
			s.Observer.Reply(a.Model, resp.Usage, nil, 0, err)
		}
		if !resp.Usage.IsZero() {
			// The provider billed attempts that failed: record them, so the
			// conversation's tokens and cost stay true.
			if _, rerr := s.recordExtraction(ctx, c, a, resp, nil, nil, ferr, nil); rerr != nil {
				return nil, errors.Join(ferr, rerr)
			}
		}
		return nil, ferr
	}
	vars := map[string]Variable{}
	var names []string
	for name, raw := range resp.Values {
		def, known := defs[name]
		if !known || raw == nil {
			continue
		}
		if n, isInt := raw.(int); isInt { // rules may give ints
			raw = float64(n)
		}
		v, typ, err := typeValue(raw, def)
		if err != nil {
			slog.WarnContext(ctx, "extracted value rejected", "conversation", id, "variable", name, "type", def.Type, "reason", err.Error())
			continue
		}
		vars[name] = Variable{Value: v, Type: typ, Source: SourceExtracted}
		names = append(names, name)
	}
	sort.Strings(names)
	return s.recordExtraction(ctx, c, a, resp, vars, names, nil, complete)
}

// recordExtraction stores the outcome of an extraction: the values, and a
// system note carrying the usage and cost of every attempt the provider
// billed (failed, with its error, when failure is not nil), in one
// transaction, so extraction tokens count toward the conversation like any
// reply. complete, when not nil, runs in that transaction too.
func (s *Service) recordExtraction(ctx context.Context, c *Conversation, a *assistant.Assistant, resp llm.ExtractResponse,
	vars map[string]Variable, names []string, failure *fault.Error, complete func(ctx context.Context) error) (*Conversation, error) {
	model := resp.Model
	if model == "" {
		model = a.Model
	}
	now := s.now()
	usage := resp.Usage
	note := &Message{
		ID: ids.NewAt(ids.Message, now), Role: RoleSystem, CreatedAt: now, Model: model,
		Usage: &usage, UsageEstimated: resp.UsageEstimated, LatencyMS: ptr(resp.Latency.Milliseconds()),
		ProviderCost: resp.ProviderCost,
		Content:      fmt.Sprintf("Extracted %d variable(s)", len(names)),
	}
	if len(names) > 0 {
		note.Content += ": " + strings.Join(names, ", ")
	}
	if failure != nil {
		note.Content = "Variable extraction failed: " + failure.Message
		note.Status, note.Error = "failed", &MessageError{Code: failure.Code, Message: failure.Message}
	}
	price, err := s.Assistants.PriceFor(ctx, c.WorkspaceID, a.Model, model, now)
	if err != nil {
		return nil, err
	}
	if price != nil {
		note.Cost = ptr(price.Cost(usage))
	}
	if s.Observer != nil && failure == nil {
		s.Observer.Reply(model, usage, note.Cost, resp.Latency, nil)
	}
	var out *Conversation
	// Events are recorded last: on PostgreSQL recording holds the events
	// lock until the commit, so nothing else should wait for a lock after.
	err = s.Store.Within(ctx, func(ctx context.Context) error {
		if complete != nil {
			if err := complete(ctx); err != nil {
				return err
			}
		}
		if len(vars) > 0 {
			if _, _, err := s.Store.UpdateConversation(ctx, c.WorkspaceID, c.ID, Update{Variables: vars, UpdatedAt: now}); err != nil {
				return err
			}
		}
		after, err := s.appendMessages(ctx, c.WorkspaceID, c.ID, note)
		if err != nil {
			return err
		}
		out = after
		if len(vars) > 0 {
			return s.record(ctx, s.event(events.ConversationUpdated, after, ""))
		}
		return nil
	})
	return out, err
}
