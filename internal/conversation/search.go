package conversation

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Full-text search normalisation. Both stores index the terms SearchTerms
// makes of a text and query the terms SearchWords makes of what a person
// typed, so that they find the same conversations whatever their own
// tokenizers would do, and so that a rule ("strasse" finds "Straße") is
// written once.
//
// Text is NFKC-normalised (full-width letters and half-width katakana
// become their ordinary forms, ligatures are split), lower-cased, "ß"
// becomes "ss", and accents on Latin letters are dropped ("café" is
// "cafe", "Müller" is "muller"; Greek and Cyrillic letters keep theirs,
// as "й" is not "и"). Words are runs of letters, digits and the marks
// that follow them. Chinese, Japanese and Korean have no spaces between
// words, so their runs are indexed as overlapping pairs of characters
// (bigrams: "東京で" is "東京", "京で") plus the run's last character; a
// search for a CJK word asks for its bigrams side by side, which finds
// it inside any run without a dictionary.

// MaxSearchWords bounds how many words of a search are used.
const MaxSearchWords = 12

// MaxSearchTerms bounds how many index terms a search asks for, so a
// pasted paragraph of CJK text (a term per character) stays cheap.
const MaxSearchTerms = 32

// maxTermBytes bounds an index term. PostgreSQL refuses lexemes over 2 KiB;
// longer words are cut at the same place when indexing and searching, so
// they still find each other.
const maxTermBytes = 255

// A SearchWord is one word of a search: its Terms must appear side by side
// and in this order. Prefix reports that the last term may be the start of
// a longer term (a word ending in "*", or a single CJK character, which
// is indexed only as the first half of bigrams and as a run's last
// character).
type SearchWord struct {
	Terms  []string
	Prefix bool
}

// SearchTerms returns the index terms of text, in order. Adjacent terms
// of the result are adjacent positions in the index, which searches for
// CJK words rely on.
func SearchTerms(text string) []string {
	var out []string
	eachSearchWord(text, func(w []rune) {
		eachTerm(w, false, func(t []rune) { out = append(out, clip(string(t))) })
	})
	return out
}

// SearchText is SearchTerms joined by single spaces: the document a store
// whose tokenizer splits at spaces indexes. Every stored message goes
// through it, so it writes terms straight into one buffer.
func SearchText(text string) string {
	var b strings.Builder
	b.Grow(len(text) + len(text)/8)
	eachSearchWord(text, func(w []rune) {
		eachTerm(w, false, func(t []rune) {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			n := 0
			for _, r := range t {
				if n += utf8.RuneLen(r); n > maxTermBytes {
					break
				}
				b.WriteRune(r)
			}
		})
	})
	return b.String()
}

// SearchWords splits what a person typed into search words, normalised
// as SearchTerms normalises the indexed text: at most MaxSearchWords
// words and MaxSearchTerms terms. Text ending in "*" asks for its last
// word as a prefix when that word ends in three or more letters outside
// CJK. Both stores build their queries from these terms alone, so no
// search syntax in the input ever reaches the database.
func SearchWords(text string) []SearchWord {
	var out []SearchWord
	terms := 0
	eachSearchWord(text, func(w []rune) {
		if len(out) == MaxSearchWords || terms == MaxSearchTerms {
			return
		}
		var ts []string
		prefix := eachTerm(w, true, func(t []rune) { ts = append(ts, clip(string(t))) })
		if n := MaxSearchTerms - terms; len(ts) > n {
			ts, prefix = ts[:n], false
		}
		terms += len(ts)
		out = append(out, SearchWord{Terms: ts, Prefix: prefix})
	})
	if len(out) > 0 && strings.HasSuffix(strings.TrimSpace(text), "*") {
		last := &out[len(out)-1]
		t := last.Terms[len(last.Terms)-1]
		r, _ := utf8.DecodeLastRuneInString(t)
		if !isCJK(r) && utf8.RuneCountInString(t) >= 3 {
			last.Prefix = true
		}
	}
	return out
}

// eachSearchWord calls fn with each word of text, normalised. The slice
// is reused between calls.
func eachSearchWord(text string, fn func([]rune)) {
	var w []rune
	latin := false // the last rune of w is a Latin letter
	flush := func() {
		if len(w) > 0 {
			fn(w)
			w = w[:0]
		}
		latin = false
	}
	for _, r := range norm.NFKC.String(text) {
		r = unicode.ToLower(r)
		switch {
		case r < utf8.RuneSelf:
			if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
				w = append(w, r)
				latin = true
				continue
			}
			flush()
			continue
		case r == 'ß':
			w = append(w, 's', 's')
			latin = true
			continue
		case r == 'ς': // final sigma is sigma
			r = 'σ'
		case r >= 0x300 && r <= 0x36f && latin:
			// A combining accent NFKC could not compose onto its Latin
			// letter: dropped like the composed ones.
			continue
		}
		if f, ok := latinFold[r]; ok {
			r = f
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			w = append(w, r)
			latin = r < 0x250 || unicode.Is(unicode.Latin, r)
		case len(w) > 0 && unicode.IsMark(r):
			w = append(w, r) // vowel signs and viramas belong to their word
		default:
			flush()
		}
	}
	flush()
}

// eachTerm calls emit with each term of one normalised word (the slice
// is only valid during the call). A word splits into runs of CJK and of
// other letters; a run of other letters is one term, a CJK run its
// bigrams. Indexed runs end with their last character, so that single
// characters can be found (as bigram prefixes or that last character) and
// so that the terms of a word are the same wherever it stands.
//
// A searched CJK run must be found inside longer runs, so it asks for its
// bigrams alone; only where the word goes on after it (東京abc) must the
// indexed run end there too, and it asks for the last character as well.
// A searched single character with nothing after it is a prefix, which
// eachTerm reports.
func eachTerm(w []rune, query bool, emit func([]rune)) (prefix bool) {
	for i := 0; i < len(w); {
		j := i + 1
		cjk := isCJK(w[i])
		for j < len(w) && (isCJK(w[j]) == cjk || !cjk && unicode.IsMark(w[j])) {
			j++
		}
		run, more := w[i:j], j < len(w)
		i = j
		if !cjk {
			emit(run)
			continue
		}
		for k := 0; k+1 < len(run); k++ {
			emit(run[k : k+2])
		}
		switch {
		case !query || more:
			emit(run[len(run)-1:])
		case len(run) == 1:
			emit(run)
			prefix = true
		}
	}
	return prefix
}

// clip cuts a term to maxTermBytes, at a rune boundary.
func clip(t string) string {
	if len(t) <= maxTermBytes {
		return t
	}
	n := maxTermBytes
	for n > 0 && !utf8.RuneStart(t[n]) {
		n--
	}
	return t[:n]
}

// isCJK reports whether r is written without spaces between words:
// Chinese characters, Japanese kana and Korean hangul (Korean does use
// spaces, but particles are glued to words: 서울에서 is 서울 + 에서).
func isCJK(r rune) bool {
	if r < 0x1100 {
		return false
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		r == 'ー' // the prolonged sound mark of katakana words (コーヒー)
}

// latinFold maps each accented Latin letter (lower case) to its letter
// without accents: its canonical decomposition without the combining
// marks U+0300–U+036F. Letters that are not a letter plus accents (ø, ł,
// æ) stay as they are, as SQLite's unicode61 tokenizer has always had
// them.
var latinFold = func() map[rune]rune {
	m := map[rune]rune{}
	for _, rt := range unicode.Latin.R16 {
		for r := rune(rt.Lo); r <= rune(rt.Hi); r += rune(rt.Stride) {
			foldLatin(m, r)
		}
	}
	for _, rt := range unicode.Latin.R32 {
		for r := rune(rt.Lo); r <= rune(rt.Hi); r += rune(rt.Stride) {
			foldLatin(m, r)
		}
	}
	return m
}()

func foldLatin(m map[rune]rune, r rune) {
	if r < utf8.RuneSelf || unicode.ToLower(r) != r {
		return
	}
	var base []rune
	for _, d := range norm.NFD.String(string(r)) {
		if d < 0x300 || d > 0x36f {
			base = append(base, d)
		}
	}
	if len(base) == 1 && base[0] != r {
		m[r] = base[0]
	}
}

// CustomerSearchText is the index document of a conversation's customer
// fields: name, phone, email and external identifier, so a search finds a
// conversation by any of them or their parts ("ada@example.com" is "ada",
// "example", "com").
func CustomerSearchText(c *Conversation) string {
	return SearchText(CustomerText(c))
}

// CustomerText is the text of a conversation's searchable customer fields
// (name, phone, email, external identifier), before normalisation.
func CustomerText(c *Conversation) string {
	return c.Customer.Name + " " + c.Customer.Phone + " " + c.Customer.Email + " " + c.ExternalIdentifier
}

// DistinctSearchTerms returns the distinct index terms of texts (the
// terms SearchTerms makes of each), sorted: what a store records of which
// terms a conversation holds, so that a count of the conversations with a
// word reads one entry per conversation instead of one per message.
func DistinctSearchTerms(texts ...string) []string {
	seen := map[string]struct{}{}
	for _, text := range texts {
		eachSearchWord(text, func(w []rune) {
			eachTerm(w, false, func(t []rune) { seen[clip(string(t))] = struct{}{} })
		})
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// SingleTerm returns the one index term a search for query asks for, when
// it is a single whole word: not a prefix, and not a CJK word of several
// terms that must stand side by side. A conversation matches such a search
// exactly when one of its messages or its customer fields holds the term,
// so a store can count the matches from its per-conversation terms
// (DistinctSearchTerms). Several words must appear in one message, which
// per-conversation terms cannot tell, so they report false.
func SingleTerm(query string) (string, bool) {
	words := SearchWords(query)
	if len(words) != 1 || words[0].Prefix || len(words[0].Terms) != 1 {
		return "", false
	}
	return words[0].Terms[0], true
}

// SinglePrefix returns the start of term a search for query asks for when
// it is a single word asked for as a prefix ("ord*", a whole term of its
// own, not a CJK word): a conversation matches when it holds any term that
// starts with it.
func SinglePrefix(query string) (string, bool) {
	words := SearchWords(query)
	if len(words) != 1 || !words[0].Prefix || len(words[0].Terms) != 1 {
		return "", false
	}
	return words[0].Terms[0], true
}
