package tokens

import (
	"strings"
	"sync"
	"testing"

	"github.com/parley-dev/parley/internal/llm"
)

func TestCount(t *testing.T) {
	cases := map[string]int{
		"":                   0,
		"hello world":        2,
		"Hello, world!":      4,
		"tokenization rocks": 3,
	}
	for text, want := range cases {
		if got := Count(text); got != want {
			t.Errorf("Count(%q) = %d, want %d", text, got, want)
		}
	}
	if Encoding() != "o200k_base" {
		t.Errorf("encoding %s", Encoding())
	}
}

func TestCountChat(t *testing.T) {
	msgs := []llm.Message{{Role: "user", Content: "hello world"}}
	// reply priming 3 + system (3 + 1 + 1) + user (3 + 1 + 2)
	want := 3 + (3 + Count("system") + Count("Be brief")) + (3 + Count("user") + 2)
	if got := CountChat("Be brief", msgs); got != want {
		t.Errorf("CountChat = %d, want %d", got, want)
	}
	if got := CountChat("", nil); got != 3 {
		t.Errorf("empty chat = %d", got)
	}
}

func TestTruncate(t *testing.T) {
	text := strings.Repeat("coffee beans ", 50)
	cut := Truncate(text, 10)
	if Count(cut) > 10 || !strings.HasPrefix(text, cut) || len(cut) == 0 {
		t.Errorf("Truncate gave %q (%d tokens)", cut, Count(cut))
	}
	if Truncate("short", 10) != "short" {
		t.Error("short text changed")
	}
}

func TestConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if Count("hello world") != 2 {
				t.Error("wrong count under concurrency")
			}
		}()
	}
	wg.Wait()
}

func BenchmarkCount(b *testing.B) {
	text := strings.Repeat("Our roastery ships worldwide within three business days. ", 9)
	Count(text)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Count(text)
	}
}
