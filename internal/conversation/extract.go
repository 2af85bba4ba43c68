package conversation

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/parley-dev/parley/internal/assistant"
	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/ids"
	"github.com/parley-dev/parley/internal/jobs"
	"github.com/parley-dev/parley/internal/llm"
)

// JobExtract is the kind of the job that extracts variables from an ended
// conversation.
const JobExtract = "conversation.extract"

type extractPayload struct {
	ConversationID string `json:"conversation_id"`
}

// ExtractJob is the job handler for JobExtract.
func (s *Service) ExtractJob(ctx context.Context, j *jobs.Job) error {
	var p extractPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return fmt.Errorf("extract job payload: %w", err)
	}
	_, err := s.Extract(ctx, j.WorkspaceID, p.ConversationID)
	if fault.Is(err, fault.CodeNotFound) {
		return nil // deleted meanwhile: nothing to do
	}
	return err
}

// Extract asks the assistant's model for the variables of its extraction
// schema, checks each against its type, and stores the valid ones (source
// "extracted") together with a system message carrying the call's usage
// and cost, in one transaction: extraction tokens count toward the
// conversation like any reply. A value of the wrong type is logged and
// dropped, never stored.
func (s *Service) Extract(ctx context.Context, workspaceID, id string) (*Conversation, error) {
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
		if s.Observer != nil {
			s.Observer.Reply(a.Model, llm.Usage{}, nil, 0, err)
		}
		return nil, modelError(a.Model, err)
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
	model := resp.Model
	if model == "" {
		model = a.Model
	}
	now := s.now()
	usage := resp.Usage
	note := &Message{
		ID: ids.New(ids.Message), Role: RoleSystem, CreatedAt: now, Model: model,
		Usage: &usage, UsageEstimated: resp.UsageEstimated, LatencyMS: ptr(resp.Latency.Milliseconds()),
		Content: fmt.Sprintf("Extracted %d variable(s)", len(names)),
	}
	if len(names) > 0 {
		note.Content += ": " + strings.Join(names, ", ")
	}
	price, err := s.Assistants.PriceFor(ctx, workspaceID, a.Model, model, now)
	if err != nil {
		return nil, err
	}
	if price != nil {
		note.Cost = ptr(price.Cost(usage))
	}
	if s.Observer != nil {
		s.Observer.Reply(model, usage, note.Cost, resp.Latency, nil)
	}
	return s.Store.UpdateConversation(ctx, workspaceID, id, Update{Variables: vars, Append: []*Message{note}, UpdatedAt: now})
}
