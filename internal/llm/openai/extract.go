package openai

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/llm"
)

// formatOrder is the fallback chain of structured-output modes.
var formatOrder = []string{formatJSONSchema, formatJSONObject, formatPrompt}

// Extract implements llm.Extractor. It asks for a JSON object whose
// properties are the fields, each its type or null, in the strongest
// structured-output mode the server allows: a strict JSON schema, else
// JSON mode, else the prompt alone (Anthropic's endpoint ignores
// response_format). A server that refuses a mode is asked again in the
// next one, and the client remembers it for the model. The answer is read
// leniently (llm.ParseValues). A refusal that will not change (auth,
// quota, context length) is not retried. The usage of every answered
// attempt is summed into the response, on error too.
func (c *Client) Extract(ctx context.Context, req llm.ExtractRequest) (llm.ExtractResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.ReplyTimeout)
	defer cancel()
	start := time.Now()
	schema := extractSchema(req.Fields)
	var transcript strings.Builder
	for _, m := range req.Transcript {
		transcript.WriteString(m.Role + ": " + m.Content + "\n")
	}
	msgs := []llm.Message{
		{Role: llm.RoleSystem, Content: extractInstructions(req.Fields)},
		{Role: llm.RoleUser, Content: transcript.String()},
	}
	out := llm.ExtractResponse{Model: req.Model}
	fail := func(err error) (llm.ExtractResponse, error) {
		out.Latency = time.Since(start)
		return out, err
	}
	format := c.formatFor(req.Model)
	for {
		p := c.params(chatRequest{model: req.Model, messages: msgs, format: apiFormat(format), schema: schema})
		out.Attempts++
		resp, err := c.complete(ctx, p)
		if err == nil || isIncomplete(err) {
			var inc *llm.IncompleteError
			if errors.As(err, &inc) {
				resp = inc.Response
			}
			if resp.Usage.IsZero() {
				resp.Usage, resp.UsageEstimated = estimate(msgs, p, resp.Content), true
			}
			if err := c.addUsage(&out, resp); err != nil {
				return fail(err)
			}
			if resp.Model != "" {
				out.Model = resp.Model
			}
		}
		if err != nil {
			if c.learn(req.Model, p, err) {
				continue
			}
			if next, ok := c.stepDown(req.Model, format, err); ok {
				format = next
				continue
			}
			return fail(err)
		}
		values, perr := llm.ParseValues(resp.Content, req.Fields)
		if perr != nil {
			if next, ok := c.stepDown(req.Model, format, perr); ok {
				format = next
				continue
			}
			return fail(&llm.ProviderError{Status: http.StatusBadGateway, Code: llm.CodeProviderError, Message: perr.Error()})
		}
		out.Values = values
		out.Latency = time.Since(start)
		return out, nil
	}
}

func isIncomplete(err error) bool {
	var inc *llm.IncompleteError
	return errors.As(err, &inc)
}

// addUsage sums an attempt's usage (and reported cost) into out.
func (c *Client) addUsage(out *llm.ExtractResponse, resp llm.Response) error {
	u, err := llm.Sum(out.Usage, resp.Usage)
	if err != nil {
		return err
	}
	out.Usage = u
	out.UsageEstimated = out.UsageEstimated || resp.UsageEstimated
	if resp.ProviderCost != nil {
		sum := *resp.ProviderCost
		if out.ProviderCost != nil {
			sum += *out.ProviderCost
		}
		out.ProviderCost = &sum
	}
	return nil
}

// stepDown decides whether a failed extraction is worth asking again in a
// weaker mode: the server refused the response_format (400/422 naming it),
// or the model answered something that is not JSON under a mode that does
// not force JSON output. It records the weaker mode for the model.
func (c *Client) stepDown(model, format string, err error) (string, bool) {
	next := ""
	for i, f := range formatOrder {
		if f == format && i+1 < len(formatOrder) {
			next = formatOrder[i+1]
		}
	}
	if next == "" {
		return "", false
	}
	var pe *llm.ProviderError
	switch {
	case errors.Is(err, llm.ErrNoJSON):
		// A model that ignored the format; JSON mode or the prompt alone
		// may still get JSON, and the next step is what the server allows.
	case errors.As(err, &pe):
		if pe.Status != http.StatusBadRequest && pe.Status != http.StatusUnprocessableEntity {
			return "", false
		}
		msg := strings.ToLower(pe.Message + " " + pe.Param)
		if !strings.Contains(msg, "response_format") && !strings.Contains(msg, "json_schema") &&
			!strings.Contains(msg, "json_object") && !strings.Contains(msg, "structured output") &&
			!strings.Contains(msg, "json mode") {
			return "", false
		}
	default:
		return "", false
	}
	c.mu.Lock()
	prev := c.formats[model]
	c.formats[model] = next
	c.mu.Unlock()
	if prev != next {
		c.log.Warn("model server refused a structured-output mode; extracting with a weaker one",
			"model", model, "from", format, "to", next, "profile", c.prof.name)
	}
	return next, true
}

// formatFor is the strongest mode to try for a model: the profile's, or
// the weaker one the server was found to need.
func (c *Client) formatFor(model string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.formats[model]; ok {
		return f
	}
	return c.prof.format
}

// apiFormat is the response_format to send for a mode ("" for none).
func apiFormat(mode string) string {
	if mode == formatPrompt {
		return ""
	}
	return mode
}

// extractInstructions is the system prompt of an extraction. It describes
// the object in words too, since JSON mode and prompt-only extraction get
// no schema (and OpenAI's JSON mode requires the word JSON in the prompt).
func extractInstructions(fields []llm.Field) string {
	var b strings.Builder
	b.WriteString("Extract the requested values from the conversation below. Answer with only a JSON object, no prose, with exactly these keys; use null for anything the conversation does not state.\n")
	for _, f := range fields {
		b.WriteString("- " + f.Name + ": ")
		switch f.Type {
		case llm.FieldNumber:
			b.WriteString("a number")
		case llm.FieldBoolean:
			b.WriteString("true or false")
		case llm.FieldDate:
			b.WriteString("a date as YYYY-MM-DD")
		case llm.FieldEnum:
			b.WriteString("one of " + strings.Join(f.Values, ", "))
		default:
			b.WriteString("a string")
		}
		if f.Description != "" {
			b.WriteString(" (" + f.Description + ")")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// extractSchema is the strict JSON schema of the answer.
func extractSchema(fields []llm.Field) map[string]any {
	props := map[string]any{}
	required := make([]string, 0, len(fields))
	for _, f := range fields {
		var p map[string]any
		switch f.Type {
		case llm.FieldNumber:
			p = map[string]any{"type": []string{"number", "null"}}
		case llm.FieldBoolean:
			p = map[string]any{"type": []string{"boolean", "null"}}
		case llm.FieldEnum:
			values := make([]any, 0, len(f.Values)+1)
			for _, v := range f.Values {
				values = append(values, v)
			}
			p = map[string]any{"type": []string{"string", "null"}, "enum": append(values, nil)}
		case llm.FieldDate:
			p = map[string]any{"type": []string{"string", "null"}, "description": strings.TrimSpace("A date as YYYY-MM-DD. " + f.Description)}
		default:
			p = map[string]any{"type": []string{"string", "null"}}
		}
		if _, ok := p["description"]; !ok && f.Description != "" {
			p["description"] = f.Description
		}
		props[f.Name] = p
		required = append(required, f.Name)
	}
	return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}
