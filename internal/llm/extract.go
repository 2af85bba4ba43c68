package llm

import (
	"context"
	"time"
)

// Field types that can be extracted.
const (
	FieldString  = "string"
	FieldNumber  = "number"
	FieldBoolean = "boolean"
	FieldDate    = "date"
	FieldEnum    = "enum"
)

// Field is one value to extract from a conversation.
type Field struct {
	Name        string
	Type        string
	Description string
	Values      []string // for enums
}

// ExtractRequest asks for typed values found in a transcript.
type ExtractRequest struct {
	Model      string
	Transcript []Message
	Fields     []Field
}

// ExtractResponse holds what was found: JSON values by field name (a
// field not found is absent or null). Values are not yet validated.
type ExtractResponse struct {
	Values         map[string]any
	Model          string
	Usage          Usage
	UsageEstimated bool
	Latency        time.Duration
}

// Extractor pulls structured values out of conversations.
type Extractor interface {
	Extract(ctx context.Context, req ExtractRequest) (ExtractResponse, error)
}

// Extract implements Extractor by model name, like Generate.
func (r *Router) Extract(ctx context.Context, req ExtractRequest) (ExtractResponse, error) {
	m := r.Remote
	if req.Model == OfflineModel {
		m = r.Offline
	}
	ex, ok := m.(Extractor)
	if m == nil || !ok {
		return ExtractResponse{}, ErrUnknownModel
	}
	return ex.Extract(ctx, req)
}
