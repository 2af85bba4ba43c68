// Package tokens counts tokens the way OpenAI's current models do, with
// the o200k_base byte-pair encoding bundled into the binary, so counting
// never touches the network.
package tokens

import (
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"

	"github.com/parley-dev/parley/internal/llm"
)

// encodingName is the encoding of GPT-4o and later models.
const encodingName = "o200k_base"

var (
	once sync.Once
	enc  *tiktoken.Tiktoken
)

func encoder() *tiktoken.Tiktoken {
	once.Do(func() {
		tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
		e, err := tiktoken.GetEncoding(encodingName)
		if err != nil {
			// The encoding ships inside the binary: failing to load it is a
			// build defect, not a runtime condition to handle.
			panic(fmt.Sprintf("tokens: load %s: %v", encodingName, err))
		}
		enc = e
	})
	return enc
}

// Encoding names the encoding used.
func Encoding() string { return encodingName }

// Count returns the number of tokens in text. Counts are cached: a
// conversation's history is counted again on every turn, and encoding is
// far slower than a map lookup.
func Count(text string) int {
	if text == "" {
		return 0
	}
	key := maphash.String(seed, text)
	cache.Lock()
	n, ok := cache.m[key]
	cache.Unlock()
	if ok {
		return n
	}
	n = len(encoder().Encode(text, nil, nil))
	cache.Lock()
	if len(cache.m) >= cacheSize {
		clear(cache.m) // crude but bounded; hot entries come back at once
	}
	cache.m[key] = n
	cache.Unlock()
	return n
}

// cacheSize bounds the count cache (about 16 bytes an entry).
const cacheSize = 1 << 16

var (
	seed  = maphash.MakeSeed()
	cache = struct {
		sync.Mutex
		m map[uint64]int
	}{m: make(map[uint64]int)}
)

// Truncate returns the longest prefix of text with at most max tokens.
// The count comes from Count's cache first: most texts fit (every reply
// of the offline model does), and encoding one again on every reply was
// a fifth of the CPU of posting a message under load.
func Truncate(text string, max int) string {
	if Count(text) <= max {
		return text
	}
	e := encoder()
	toks := e.Encode(text, nil, nil)
	if len(toks) <= max {
		return text
	}
	return e.Decode(toks[:max])
}

// Chat overheads of OpenAI chat models: each message is wrapped in a few
// formatting tokens, and the reply is primed with a few more. These are
// the published rules of thumb, so a count is close to, not exactly, what
// a given provider bills.
const (
	perMessage = 3
	perReply   = 3
)

// CountChat returns the prompt tokens of a chat: the system prompt (when
// not empty) and every message, each with its role and overhead, plus the
// reply priming.
func CountChat(system string, msgs []llm.Message) int {
	n := perReply
	if system != "" {
		n += perMessage + Count(llm.RoleSystem) + Count(system)
	}
	for _, m := range msgs {
		n += perMessage + Count(m.Role) + Count(m.Content)
	}
	return n
}

// CountPrompt returns the prompt tokens of everything sent to a model:
// every message as sent (the system prompt with any knowledge folded in
// among them) and extra text the model also reads, such as the JSON
// schema of a structured-output request. Estimated usage must count all
// of it, not only the transcript.
func CountPrompt(msgs []llm.Message, extra ...string) int {
	n := CountChat("", msgs)
	for _, e := range extra {
		n += Count(e)
	}
	return n
}
