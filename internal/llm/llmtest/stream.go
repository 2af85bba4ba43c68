package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// chunkStream writes a chat-completions stream as OpenAI's wire format
// has it: each chunk a "data:" event, flushed at once.
type chunkStream struct {
	w       http.ResponseWriter
	flusher http.Flusher
	// id, created and model are repeated in every chunk.
	id      string
	created int64
	model   string
}

// startStream sends the stream's headers.
func startStream(w http.ResponseWriter, id string, created int64, model string) *chunkStream {
	w.Header().Set("Content-Type", "text/event-stream")
	f, _ := w.(http.Flusher)
	return &chunkStream{w: w, flusher: f, id: id, created: created, model: model}
}

// send writes one event whose data is v.
func (s *chunkStream) send(v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintf(s.w, "data: %s\n\n", b)
	if s.flusher != nil {
		s.flusher.Flush()
	}
}

// chunk is a chat.completion.chunk carrying delta and finish.
func (s *chunkStream) chunk(delta map[string]any, finish any) map[string]any {
	return map[string]any{"id": s.id, "object": "chat.completion.chunk", "created": s.created, "model": s.model,
		"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
}
