// Package offline is Parley's built-in model: deterministic, free and
// local. It answers from the assistant's knowledge text by retrieval (the
// best-matching passage by BM25), handles greetings, and says plainly when
// the knowledge has no answer. It lets Parley work with no API keys, and
// gives tests a model whose output they can predict.
package offline

import (
	"context"
	"crypto/sha256"
	"math"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/tokens"
)

// Name is the model name the offline model answers to.
const Name = llm.OfflineModel

// Replies that do not come from the knowledge text.
const (
	ReplyGreeting    = "Hello! How can I help you today?"
	ReplyThanks      = "You're welcome! Is there anything else I can help with?"
	ReplyGoodbye     = "Goodbye, and thanks for getting in touch!"
	ReplyUnknown     = "I'm sorry, I don't have information about that. Could you rephrase, or ask about something else?"
	ReplyNoKnowledge = "I don't have any reference information yet, so I can't answer that. Your question has been recorded."
)

// Model is the offline model. It is safe for concurrent use.
type Model struct {
	mu    sync.Mutex
	cache map[[32]byte]*index
	order [][32]byte // insertion order, to evict the oldest index
}

// cacheSize is how many knowledge texts stay indexed.
const cacheSize = 64

// New returns an offline model.
func New() *Model { return &Model{cache: map[[32]byte]*index{}} }

// Generate implements llm.Model.
func (m *Model) Generate(ctx context.Context, req llm.Request, onDelta llm.DeltaFunc) (llm.Response, error) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return llm.Response{}, err
	}
	question := ""
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == llm.RoleUser {
			question = req.Messages[i].Content
			break
		}
	}
	reply := m.answer(question, req.Knowledge)
	if req.MaxOutputTokens > 0 {
		reply = tokens.Truncate(reply, req.MaxOutputTokens)
	}
	var first time.Duration
	if onDelta != nil {
		for i, chunk := range chunks(reply) {
			if i == 0 {
				first = time.Since(start)
			}
			if onDelta(chunk) != nil {
				break // the listener left; the reply is still returned whole
			}
		}
	}
	latency := time.Since(start)
	if onDelta == nil {
		first = latency
	}
	in := int64(tokens.CountChat(req.System, req.Messages))
	out := int64(tokens.Count(reply))
	return llm.Response{
		Content:      reply,
		Model:        Name,
		FinishReason: llm.FinishStop,
		Usage:        llm.Usage{InputTokens: in, OutputTokens: out, TotalTokens: in + out},
		FirstToken:   first,
		Latency:      latency,
	}, nil
}

// chunks splits text into word-sized pieces that concatenate back to it.
func chunks(text string) []string {
	var out []string
	start := 0
	for i, r := range text {
		if unicode.IsSpace(r) && i > start {
			out = append(out, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

var (
	greetings = set("hi", "hello", "hey", "hiya", "howdy", "greetings", "morning", "afternoon", "evening", "good")
	thanks    = set("thanks", "thank", "thx", "cheers", "ty")
	goodbyes  = set("bye", "goodbye", "cya", "later", "farewell")
)

// answer picks the reply to a question.
func (m *Model) answer(question, knowledge string) string {
	words := words(question)
	if len(words) > 0 && len(words) <= 4 {
		switch {
		case allIn(words, greetings, "there", "you", "all"):
			return ReplyGreeting
		case allIn(words, thanks, "you", "so", "much", "a", "lot"):
			return ReplyThanks
		case allIn(words, goodbyes, "see", "you", "good", "bye", "then"):
			return ReplyGoodbye
		}
	}
	if strings.TrimSpace(knowledge) == "" {
		return ReplyNoKnowledge
	}
	idx := m.index(knowledge)
	best, ok := idx.best(terms(question))
	if !ok {
		return ReplyUnknown
	}
	return best
}

func allIn(words []string, main map[string]bool, fillers ...string) bool {
	seen := false
	for _, w := range words {
		if main[w] {
			seen = true
			continue
		}
		filler := false
		for _, f := range fillers {
			if w == f {
				filler = true
			}
		}
		if !filler {
			return false
		}
	}
	return seen
}

// index returns the cached index of a knowledge text, building it once.
func (m *Model) index(knowledge string) *index {
	key := sha256.Sum256([]byte(knowledge))
	m.mu.Lock()
	defer m.mu.Unlock()
	if idx, ok := m.cache[key]; ok {
		return idx
	}
	idx := buildIndex(knowledge)
	if len(m.order) >= cacheSize {
		delete(m.cache, m.order[0])
		m.order = m.order[1:]
	}
	m.cache[key] = idx
	m.order = append(m.order, key)
	return idx
}

// index is a BM25 index over the passages of one knowledge text.
type index struct {
	passages []passage
	df       map[string]int
	avgLen   float64
}

type passage struct {
	text  string
	tf    map[string]int
	terms int
	// head holds the terms of the section heading: what the passage is
	// about, as opposed to words it merely uses.
	head map[string]bool
}

// maxPassage is the longest passage, in characters, before a paragraph is
// split into groups of sentences.
const maxPassage = 400

func buildIndex(knowledge string) *index {
	idx := &index{df: map[string]int{}}
	heading := ""
	for _, para := range paragraphs(knowledge) {
		if strings.HasPrefix(para, "#") {
			// A heading line names the section; the reply leaves it out.
			line, rest, _ := strings.Cut(para, "\n")
			heading = strings.TrimSpace(strings.TrimLeft(line, "#"))
			if para = strings.TrimSpace(rest); para == "" {
				continue
			}
		}
		for _, text := range splitLong(para) {
			// The heading is indexed with its section but not repeated in
			// the reply.
			tf := map[string]int{}
			n := 0
			for _, t := range terms(heading + " " + text) {
				tf[t]++
				n++
			}
			if n == 0 {
				continue
			}
			for t := range tf {
				idx.df[t]++
			}
			head := map[string]bool{}
			for _, t := range terms(heading) {
				head[t] = true
			}
			idx.passages = append(idx.passages, passage{text: text, tf: tf, terms: n, head: head})
			idx.avgLen += float64(n)
		}
	}
	if len(idx.passages) > 0 {
		idx.avgLen /= float64(len(idx.passages))
	}
	return idx
}

func paragraphs(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var out []string
	for _, p := range strings.Split(text, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// splitLong breaks a long paragraph into runs of whole sentences.
func splitLong(para string) []string {
	if len(para) <= maxPassage {
		return []string{para}
	}
	var out []string
	var cur strings.Builder
	for _, s := range sentences(para) {
		if cur.Len() > 0 && cur.Len()+len(s) > maxPassage {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
		cur.WriteString(s)
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}

func sentences(text string) []string {
	var out []string
	start := 0
	rs := []rune(text)
	for i, r := range rs {
		if (r == '.' || r == '!' || r == '?' || r == '\n') && (i+1 == len(rs) || unicode.IsSpace(rs[i+1])) {
			out = append(out, string(rs[start:i+1])+" ")
			start = i + 1
		}
	}
	if start < len(rs) {
		out = append(out, string(rs[start:]))
	}
	return out
}

// BM25 parameters, and the least score that counts as an answer.
const (
	k1       = 1.2
	b        = 0.75
	minScore = 0.5
)

// A passage answers a question only if it matches enough of what the
// question is about: at least minCoverage of the weight (IDF) of the
// question's content words, or minHeadingCoverage when a matching word
// names the passage's section. One common word shared by chance ("Write
// me a poem" and "Write to wholesale@…"; "Do you deliver to Germany?"
// and "delivers freshly roasted beans") is not an answer.
const (
	minCoverage        = 0.5
	minHeadingCoverage = 0.25
)

// best returns the passage that best answers the query terms: the one
// covering the most of the question's weight, BM25 breaking ties.
func (idx *index) best(query []string) (string, bool) {
	if len(query) == 0 || len(idx.passages) == 0 {
		return "", false
	}
	n := float64(len(idx.passages))
	idf := func(t string) float64 {
		df := float64(idx.df[t])
		return math.Log(1 + (n-df+0.5)/(df+0.5))
	}
	uniq := map[string]bool{}
	var qs []string
	for _, q := range query {
		if !uniq[q] {
			uniq[q] = true
			qs = append(qs, q)
		}
	}
	total := 0.0
	for _, q := range qs {
		total += idf(q) // a word the knowledge never uses weighs the most
	}
	bestI, bestW, bestS := -1, 0.0, 0.0
	for i, p := range idx.passages {
		s, w, onTopic := 0.0, 0.0, false
		for _, q := range qs {
			f := float64(p.tf[q])
			if f == 0 {
				continue
			}
			w += idf(q)
			onTopic = onTopic || p.head[q]
			s += idf(q) * f * (k1 + 1) / (f + k1*(1-b+b*float64(p.terms)/idx.avgLen))
		}
		coverage := w / total
		if s < minScore || coverage < minCoverage && !(onTopic && coverage >= minHeadingCoverage) {
			continue
		}
		if w > bestW || w == bestW && s > bestS {
			bestI, bestW, bestS = i, w, s
		}
	}
	if bestI < 0 {
		return "", false
	}
	return idx.passages[bestI].text, true
}

// words splits text into lower-case words of letters and digits.
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// terms returns the searchable terms of text: words without stopwords,
// lightly stemmed so "ships", "shipping" and "shipped" meet.
func terms(text string) []string {
	var out []string
	for _, w := range words(text) {
		if stopwords[w] {
			continue
		}
		out = append(out, stem(w))
	}
	return out
}

func stem(w string) string {
	// "delivery" meets "deliver", "brewery" "brewer".
	if len(w) >= 7 && strings.HasSuffix(w, "ery") {
		return w[:len(w)-1]
	}
	for _, suf := range []string{"ing", "ed", "es", "s"} {
		if strings.HasSuffix(w, suf) && len(w)-len(suf) >= 3 {
			w = strings.TrimSuffix(w, suf)
			break
		}
	}
	// Fold a doubled final consonant left by -ing/-ed ("shipp" → "ship").
	if n := len(w); n >= 4 && w[n-1] == w[n-2] && !strings.ContainsRune("aeiou", rune(w[n-1])) {
		w = w[:n-1]
	}
	return w
}

func set(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

var stopwords = set(
	"a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "do", "does", "for", "from",
	"have", "has", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or",
	"our", "please", "so", "that", "the", "their", "then", "there", "these", "this", "to", "us", "was",
	"we", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your", "yours",
	"am", "any", "about", "tell", "know", "want", "like", "get", "there's", "whats", "hi", "hello",
	"much", "many", "some", "also", "just", "need",
)
