package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/internal/llm"
	"github.com/parley-dev/parley/internal/llm/llmtest"
	"github.com/parley-dev/parley/internal/money"
)

func TestDetect(t *testing.T) {
	for url, want := range map[string]string{
		"https://api.openai.com/v1":                                              CompatOpenAI,
		"https://contoso.openai.azure.com/openai/v1":                             CompatAzure,
		"https://contoso.cognitiveservices.azure.com/openai/deployments/x":       CompatAzure,
		"https://gw.example.com/openai/deployments/gpt4o?api-version=2024-10-21": CompatAzure,
		"https://api.mistral.ai/v1":                                              CompatMistral,
		"https://api.anthropic.com/v1/":                                          CompatAnthropic,
		"https://api.deepseek.com":                                               CompatDeepSeek,
		"https://api.groq.com/openai/v1":                                         CompatGroq,
		"https://openrouter.ai/api/v1":                                           CompatOpenRouter,
		"https://api.together.xyz/v1":                                            CompatTogether,
		"https://generativelanguage.googleapis.com/v1beta/openai/":               CompatGemini,
		"http://localhost:11434/v1":                                              CompatOllama,
		"http://gpu-box:11434/v1":                                                CompatOllama,
		"http://127.0.0.1:1234/v1":                                               CompatLMStudio,
		"http://localhost:8080/v1":                                               CompatGeneric,
		"https://llm.internal.example/v1":                                        CompatGeneric,
		"::not a url":                                                            CompatGeneric,
	} {
		if got := Detect(url); got != want {
			t.Errorf("Detect(%q) = %q, want %q", url, got, want)
		}
	}
	if err := ValidCompat("Mistral"); err != nil {
		t.Error(err)
	}
	if err := ValidCompat("mistrall"); err == nil || !strings.Contains(err.Error(), "openrouter") {
		t.Errorf("ValidCompat(typo) = %v", err)
	}
	// Compat forces a profile whatever the URL says.
	if c := New("http://localhost:8080/v1", "", Options{Compat: "llamacpp"}); c.Profile() != CompatLlamaCpp {
		t.Errorf("forced profile %q", c.Profile())
	}
}

// OpenAI's reasoning models answer 400 to the assistant's default
// temperature and to max_tokens; Parley sends neither.
func TestReasoningModels(t *testing.T) {
	for _, spec := range []llmtest.Spec{llmtest.OpenAI, llmtest.AzureClassic} {
		for _, model := range []string{"gpt-5-mini", "o3", "o4-mini-2025-04-16"} {
			p := llmtest.NewProvider(t, spec)
			c := client(p, Options{})
			resp, err := c.Generate(context.Background(), ask(model, 64), nil)
			if err != nil || resp.Content == "" {
				t.Fatalf("%s %s: %v", spec.Name, model, err)
			}
			r := p.Requests()
			if len(r) != 1 || r[0].Has("temperature") || r[0].Has("max_tokens") || r[0].Int("max_completion_tokens") != 64 {
				t.Errorf("%s %s: %d requests, body %v", spec.Name, model, len(r), r[0].Body)
			}
		}
	}
	// A non-reasoning model keeps its temperature.
	p := llmtest.NewProvider(t, llmtest.OpenAI)
	if _, err := client(p, Options{}).Generate(context.Background(), ask("gpt-5-chat-latest", 64), nil); err != nil {
		t.Fatal(err)
	}
	if tmp, _ := p.Requests()[0].Body["temperature"].(float64); tmp != 0.7 {
		t.Errorf("gpt-5-chat temperature %v", p.Requests()[0].Body["temperature"])
	}
}

func TestAzureClassicDeploymentURL(t *testing.T) {
	p := llmtest.NewProvider(t, llmtest.AzureClassic)
	c := client(p, Options{})
	if _, _, err := stream(t, c, ask("gpt-4o", 64)); err != nil {
		t.Fatal(err)
	}
	r := p.Requests()[0]
	if r.Path != "/openai/deployments/prod-gpt4o/chat/completions" || r.Query != "api-version=2024-10-21" ||
		r.Header.Get("api-key") != "sk-test" || r.Header.Get("Authorization") != "" {
		t.Errorf("request %s?%s headers %v", r.Path, r.Query, r.Header)
	}
	// A deployment URL without api-version gets the GA version.
	if got := endpoint("https://x.openai.azure.com/openai/deployments/d", profiles[CompatAzure]); got !=
		"https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version="+azureAPIVersion {
		t.Errorf("endpoint %s", got)
	}
}

// An unknown server that refuses a parameter gets one retry without it;
// the client remembers, and says so once in the log.
func TestUnknownServerRefusesAParameter(t *testing.T) {
	strict := llmtest.OpenAI
	strict.Name, strict.BaseURL = "Strict", "https://llm.internal.example/v1"
	strict.Params = []string{"model", "messages", "temperature", "max_tokens", "stream", "response_format"}
	p := llmtest.NewProvider(t, strict)
	var logs bytes.Buffer
	c := client(p, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for i := 0; i < 3; i++ {
		resp, deltas, err := stream(t, c, ask("my-model", 3))
		if err != nil || resp.Content != "Echo: When do " || len(deltas) == 0 {
			t.Fatalf("call %d: %v %q", i, err, resp.Content)
		}
	}
	// The first call is refused twice (max_completion_tokens, then
	// stream_options), each retried once; later calls leave both out.
	reqs := p.Requests()
	last := reqs[len(reqs)-1]
	if last.Has("max_completion_tokens") || last.Has("stream_options") || last.Int("max_tokens") != 3 {
		t.Errorf("last request still sends a refused parameter: %v", last.Body)
	}
	if len(reqs) != 5 {
		t.Errorf("%d requests for 3 replies, want 5 (two refusals, each retried once)", len(reqs))
	}
	if n := strings.Count(logs.String(), "refused a parameter"); n != 2 || !strings.Contains(logs.String(), "param=max_completion_tokens") {
		t.Errorf("warnings logged: %s", logs.String())
	}
}

func TestProviderErrorsNotRetried(t *testing.T) {
	// llama.cpp reports a context overflow as a 500: not retried.
	p := llmtest.NewProvider(t, llmtest.LlamaCpp)
	p.ContextWindow = 5
	_, err := client(p, Options{MaxRetries: 2}).Generate(context.Background(), ask("local", 64), nil)
	var pe *llm.ProviderError
	if !errors.As(err, &pe) || pe.Status != 500 || pe.Code != llm.CodeContextLengthExceeded || pe.Temporary() ||
		!strings.Contains(pe.Message, "exceeds the available context size") {
		t.Errorf("err %#v", err)
	}
	if n := len(p.Requests()); n != 1 {
		t.Errorf("context overflow sent %d times", n)
	}
	// OpenRouter's 402 and DeepSeek's 402: quota, once.
	for _, spec := range []llmtest.Spec{llmtest.OpenRouter, llmtest.DeepSeek} {
		p := llmtest.NewProvider(t, spec)
		p.FailNext(402)
		_, err := client(p, Options{}).Generate(context.Background(), ask(spec.Model, 64), nil)
		if !errors.As(err, &pe) || pe.Code != llm.CodeProviderQuota || len(p.Requests()) != 1 {
			t.Errorf("%s 402: %#v after %d requests", spec.Name, err, len(p.Requests()))
		}
	}
	// A 500 that is only a 500 is retried.
	p = llmtest.NewProvider(t, llmtest.VLLM)
	p.FailNext(500)
	if _, err := client(p, Options{}).Generate(context.Background(), ask("m", 64), nil); err != nil || len(p.Requests()) != 2 {
		t.Errorf("500 then success: %v after %d requests", err, len(p.Requests()))
	}
	// A context overflow in each provider's shape is classified.
	for _, spec := range []llmtest.Spec{llmtest.OpenAI, llmtest.Anthropic, llmtest.VLLM} {
		p := llmtest.NewProvider(t, spec)
		p.ContextWindow = 5
		_, err := client(p, Options{}).Generate(context.Background(), ask(spec.Model, 64), nil)
		if !errors.As(err, &pe) || pe.Code != llm.CodeContextLengthExceeded || len(p.Requests()) != 1 {
			t.Errorf("%s overflow: %#v", spec.Name, err)
		}
	}
}

func TestErrorShapes(t *testing.T) {
	cases := []struct {
		name          string
		status        int
		body          string
		msg, code, pa string
	}{
		{"openai", 400, `{"error":{"message":"Unsupported value: 'temperature' does not support 0.7 with this model. Only the default (1) value is supported.","type":"invalid_request_error","param":"temperature","code":"unsupported_value"}}`,
			"Unsupported value: 'temperature' does not support 0.7 with this model. Only the default (1) value is supported.", llm.CodeUnsupportedParameter, "temperature"},
		{"mistral object message", 422, `{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","max_completion_tokens"],"msg":"Extra inputs are not permitted","input":32000}]},"type":"invalid_request_error","param":null,"code":null}`,
			"max_completion_tokens: Extra inputs are not permitted", llm.CodeUnsupportedParameter, "max_completion_tokens"},
		{"vllm python repr", 400, `{"object":"error","message":"[{'type': 'extra_forbidden', 'loc': ('body', 'max_completion_tokens'), 'msg': 'Extra inputs are not permitted', 'input': 800}]","type":"BadRequestError","param":null,"code":400}`,
			"[{'type': 'extra_forbidden', 'loc': ('body', 'max_completion_tokens'), 'msg': 'Extra inputs are not permitted', 'input': 800}]", llm.CodeUnsupportedParameter, "max_completion_tokens"},
		{"gemini list", 400, `[{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT"}}]`,
			"Request contains an invalid argument.", llm.CodeProviderError, ""},
		{"openrouter 402", 402, `{"error":{"code":402,"message":"Insufficient credits. Add more using https://openrouter.ai/credits"}}`,
			"Insufficient credits. Add more using https://openrouter.ai/credits", llm.CodeProviderQuota, ""},
		{"openai quota 429", 429, `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`,
			"You exceeded your current quota, please check your plan and billing details.", llm.CodeProviderQuota, ""},
		{"rate limit", 429, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`, "Rate limit reached", llm.CodeRateLimited, ""},
		{"fastapi detail", 422, `{"detail":[{"type":"extra_forbidden","loc":["body","store"],"msg":"Extra inputs are not permitted","input":false}]}`,
			"store: Extra inputs are not permitted", llm.CodeUnsupportedParameter, "store"},
		{"azure unrecognized", 400, `{"error":{"message":"Unrecognized request argument supplied: stream_options","type":"invalid_request_error","param":null,"code":null}}`,
			"Unrecognized request argument supplied: stream_options", llm.CodeUnsupportedParameter, "stream_options"},
		{"azure content filter", 400, `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}`,
			"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", llm.CodeContentFiltered, "prompt"},
		{"ollama string", 404, `{"error":"model \"llama9\" not found, try pulling it first"}`, `model "llama9" not found, try pulling it first`, llm.CodeProviderError, ""},
		{"text body", 502, "<html>Bad gateway</html>\nmore", "<html>Bad gateway</html>", llm.CodeProviderError, ""},
		{"empty body", 503, "", "Service Unavailable", llm.CodeProviderError, ""},
		{"key echoed", 401, `{"error":{"message":"Incorrect API key provided: sk-secret-123456."}}`, "Incorrect API key provided: [redacted].", llm.CodeProviderAuth, ""},
	}
	for _, c := range cases {
		pe := parseError(c.status, []byte(c.body), "sk-secret-123456")
		if pe.Message != c.msg || pe.Code != c.code || pe.Param != c.pa || pe.Status != c.status {
			t.Errorf("%s: got %+v", c.name, *pe)
		}
	}
}

func TestUsageFields(t *testing.T) {
	cases := []struct {
		name, chunk string
		want        llm.Usage
	}{
		{"groq x_groq in the last chunk", `{"id":"chatcmpl-8566","object":"chat.completion.chunk","model":"llama3-8b-8192","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"x_groq":{"id":"req_01hy","usage":{"queue_time":0.07,"prompt_tokens":23,"prompt_time":0.006,"completion_tokens":19,"completion_time":0.022,"total_tokens":42,"total_time":0.028}}}`,
			llm.Usage{InputTokens: 23, OutputTokens: 19, TotalTokens: 42}},
		{"deepseek cache", `{"usage":{"prompt_tokens":1500,"completion_tokens":80,"total_tokens":1580,"prompt_cache_hit_tokens":1280,"prompt_cache_miss_tokens":220,"completion_tokens_details":{"reasoning_tokens":30}}}`,
			llm.Usage{InputTokens: 1500, OutputTokens: 80, CachedInputTokens: 1280, ReasoningTokens: 30, TotalTokens: 1580}},
		{"llama.cpp timings", `{"usage":{"prompt_tokens":900,"completion_tokens":12,"total_tokens":912},"timings":{"cache_n":850,"prompt_n":50,"predicted_n":12}}`,
			llm.Usage{InputTokens: 900, OutputTokens: 12, CachedInputTokens: 850, TotalTokens: 912}},
		{"llama.cpp timings only", `{"timings":{"cache_n":850,"prompt_n":50,"predicted_n":12}}`,
			llm.Usage{InputTokens: 900, OutputTokens: 12, CachedInputTokens: 850, TotalTokens: 912}},
		{"provider total kept", `{"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":17}}`,
			llm.Usage{InputTokens: 10, OutputTokens: 5, TotalTokens: 17}},
	}
	for _, c := range cases {
		var w wireReply
		if err := jsonUnmarshal(c.chunk, &w); err != nil {
			t.Fatal(err)
		}
		u, _, ok, err := w.usage()
		if err != nil || !ok || u != c.want {
			t.Errorf("%s: %+v ok=%v err=%v", c.name, u, ok, err)
		}
	}
}

func TestProviderCost(t *testing.T) {
	for in, want := range map[string]money.Money{
		"0.95": 950_000_000, "1.5e-05": 15_000, "0.000412345678": 412_346, "0.0000000004": 0,
		`"0.002"`: 2_000_000, "0": 0, "2E-3": 2_000_000, "0.0000000005": 1,
	} {
		if got, err := parseCost(in); err != nil || got != want {
			t.Errorf("parseCost(%s) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"1e999999", "abc", "1/3", "0x10", "", "NaN"} {
		if _, err := parseCost(bad); err == nil {
			t.Errorf("parseCost(%q) accepted", bad)
		}
	}
	// OpenRouter reports its charge; it is kept exactly, streamed or not.
	p := llmtest.NewProvider(t, llmtest.OpenRouter)
	p.Usage = &llmtest.ProviderUsage{Prompt: 100, Completion: 10, Cost: "1.5e-05"}
	c := client(p, Options{})
	r1, err1 := c.Generate(context.Background(), ask(p.Spec.Model, 64), nil)
	r2, _, err2 := stream(t, c, ask(p.Spec.Model, 64))
	for _, r := range []llm.Response{r1, r2} {
		if r.ProviderCost == nil || *r.ProviderCost != 15_000 {
			t.Errorf("provider cost %v (%v %v)", r.ProviderCost, err1, err2)
		}
	}
}

func TestIncompleteReplies(t *testing.T) {
	// Azure's content filter stops a reply midway.
	p := llmtest.NewProvider(t, llmtest.AzureV1)
	p.Finish = "content_filter"
	p.Usage = &llmtest.ProviderUsage{Prompt: 50, Completion: 9}
	c := client(p, Options{})
	for _, streamed := range []bool{false, true} {
		var err error
		if streamed {
			_, _, err = stream(t, c, ask("gpt-4o", 64))
		} else {
			_, err = c.Generate(context.Background(), ask("gpt-4o", 64), nil)
		}
		var inc *llm.IncompleteError
		if !errors.As(err, &inc) || inc.Reason != llm.IncompleteContentFilter || inc.Code() != llm.CodeContentFiltered ||
			inc.Response.FinishReason != llm.FinishContentFilter || inc.Response.Usage.InputTokens != 50 {
			t.Errorf("streamed=%v filtered: %#v", streamed, err)
		}
	}
	// An empty reply (a reasoning model that spent its limit thinking).
	p = llmtest.NewProvider(t, llmtest.OpenAI)
	p.EmptyReply = true
	p.Usage = &llmtest.ProviderUsage{Prompt: 50, Completion: 64, Reasoning: 64}
	_, err := client(p, Options{}).Generate(context.Background(), ask("gpt-5-mini", 64), nil)
	var inc *llm.IncompleteError
	if !errors.As(err, &inc) || inc.Reason != llm.IncompleteEmpty || inc.Response.Usage.ReasoningTokens != 64 ||
		inc.Response.FinishReason != llm.FinishError {
		t.Errorf("empty: %#v", err)
	}
	// A stream cut before its finish chunk and [DONE].
	p = llmtest.NewProvider(t, llmtest.Ollama)
	p.CutAfter = 2
	resp, deltas, err := stream(t, client(p, Options{}), ask("llama3.1:8b", 64))
	if !errors.As(err, &inc) || inc.Reason != llm.IncompleteCut || inc.Response.Content != "Echo: When " ||
		strings.Join(deltas, "") != "Echo: When " || !inc.Response.UsageEstimated || inc.Response.Usage.InputTokens == 0 {
		t.Errorf("cut: %#v %+v", err, resp)
	}
	// OpenRouter's error in the middle of a 200 stream.
	p = llmtest.NewProvider(t, llmtest.OpenRouter)
	p.ErrorAfter = 3
	_, _, err = stream(t, client(p, Options{}), ask(p.Spec.Model, 64))
	var pe *llm.ProviderError
	if !errors.As(err, &inc) || inc.Reason != llm.IncompleteCut || !errors.As(err, &pe) ||
		!strings.Contains(pe.Message, "upstream disconnected") || inc.Response.Content != "Echo: When do " {
		t.Errorf("mid-stream error: %#v", err)
	}
}

// A slow model that keeps streaming is not cut by a per-attempt limit:
// only silence (the idle timeout) or the overall reply timeout ends it.
// Durations are scaled down: 75 chunks 10 ms apart stand for a 75 s reply
// with a chunk every second, against limits of 60 s (Timeout, which used
// to bound the whole stream) and an idle limit of 50 s.
func TestSlowStreams(t *testing.T) {
	p := llmtest.NewProvider(t, llmtest.Ollama)
	p.Reply = strings.Repeat("word ", 74) + "end"
	p.ChunkDelay = 10 * time.Millisecond
	c := client(p, Options{Timeout: 600 * time.Millisecond, IdleTimeout: 500 * time.Millisecond, ReplyTimeout: 10 * time.Second})
	resp, deltas, err := stream(t, c, ask("llama3.1:8b", 0))
	if err != nil || len(deltas) != 75 || !strings.HasSuffix(resp.Content, "end") || resp.Latency < 750*time.Millisecond {
		t.Fatalf("slow stream: %v, %d deltas, latency %v", err, len(deltas), resp.Latency)
	}
	// Silence longer than the idle timeout ends the reply as a timeout.
	p.ChunkDelay = 300 * time.Millisecond
	p.Reply = "one two three"
	c = client(p, Options{IdleTimeout: 100 * time.Millisecond, MaxRetries: -1})
	_, _, err = stream(t, c, ask("llama3.1:8b", 0))
	var inc *llm.IncompleteError
	if !errors.As(err, &inc) || !errors.Is(err, llm.ErrIdleTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("idle: %#v", err)
	}
	// The overall reply timeout bounds even a stream that keeps talking.
	p.ChunkDelay = 20 * time.Millisecond
	p.Reply = strings.Repeat("word ", 100)
	c = client(p, Options{IdleTimeout: time.Second, ReplyTimeout: 150 * time.Millisecond})
	_, _, err = stream(t, c, ask("llama3.1:8b", 0))
	if !errors.As(err, &inc) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, llm.ErrIdleTimeout) {
		t.Errorf("overall: %#v", err)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
