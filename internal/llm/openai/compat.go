package openai

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
)

// Servers that speak "OpenAI-compatible" each accept a different subset of
// OpenAI's chat parameters, and several refuse what they do not know. The
// profile of a server says what to send it; it is chosen from the base URL
// (or forced with Options.Compat) and refined per model family (reasoning
// models take no temperature and count output as max_completion_tokens).
// Each row follows the provider's published documentation; the fakes in
// llmtest speak the same rules, and docs/MODELS.md lists what is tested.

// Names of the known servers, for Options.Compat (and PARLEY_LLM_COMPAT).
const (
	CompatOpenAI     = "openai"
	CompatAzure      = "azure"
	CompatMistral    = "mistral"
	CompatAnthropic  = "anthropic"
	CompatDeepSeek   = "deepseek"
	CompatGroq       = "groq"
	CompatOpenRouter = "openrouter"
	CompatTogether   = "together"
	CompatGemini     = "gemini"
	CompatOllama     = "ollama"
	CompatLlamaCpp   = "llamacpp"
	CompatVLLM       = "vllm"
	CompatLMStudio   = "lmstudio"
	// CompatGeneric is any other server: it gets both output-limit fields
	// and stream_options, and one retry without a parameter it refuses.
	CompatGeneric = "generic"
)

// How a server limits the reply's length.
const (
	limitMaxCompletion = "max_completion_tokens" // OpenAI's current name
	limitMaxTokens     = "max_tokens"            // the name most other servers read
	limitBoth          = "both"                  // unknown server: send both
)

// Structured-output modes, strongest first. Extraction starts at the
// strongest a server supports and steps down when it refuses one.
const (
	formatJSONSchema = "json_schema"
	formatJSONObject = "json_object"
	formatPrompt     = "prompt" // no response_format: the prompt asks for JSON
)

// profile is what one server accepts.
type profile struct {
	name string
	// limit is the field the server reads as the output-token limit.
	limit string
	// streamOptions: send stream_options.include_usage. Servers that refuse
	// it (Mistral: 422) or always send usage anyway leave it out.
	streamOptions bool
	// format is the strongest response_format the server honours.
	format string
	// apiKeyHeader: authenticate with "api-key: KEY" (Azure), not Bearer.
	apiKeyHeader bool
}

var profiles = map[string]profile{
	// platform.openai.com/docs/api-reference/chat: max_tokens is
	// deprecated and refused by reasoning models.
	CompatOpenAI: {name: CompatOpenAI, limit: limitMaxCompletion, streamOptions: true, format: formatJSONSchema},
	// Azure OpenAI: the same API behind an api-key header; classic
	// deployment URLs also need their api-version query (see endpoint).
	CompatAzure: {name: CompatAzure, limit: limitMaxCompletion, streamOptions: true, format: formatJSONSchema, apiKeyHeader: true},
	// docs.mistral.ai/api: max_tokens only; unknown fields are a 422
	// extra_forbidden; usage arrives in the last chunk without
	// stream_options (which it refuses).
	CompatMistral: {name: CompatMistral, limit: limitMaxTokens, format: formatJSONSchema},
	// docs.anthropic.com/en/api/openai-sdk: response_format is ignored,
	// so extraction asks in the prompt; max_completion_tokens and
	// stream_options are supported.
	CompatAnthropic: {name: CompatAnthropic, limit: limitMaxCompletion, streamOptions: true, format: formatPrompt},
	// api-docs.deepseek.com: max_tokens; JSON output is json_object only;
	// cache hits are reported as prompt_cache_hit_tokens.
	CompatDeepSeek: {name: CompatDeepSeek, limit: limitMaxTokens, streamOptions: true, format: formatJSONObject},
	// console.groq.com/docs: max_completion_tokens; streams carry usage in
	// x_groq.usage (and in usage with include_usage).
	CompatGroq: {name: CompatGroq, limit: limitMaxCompletion, streamOptions: true, format: formatJSONSchema},
	// openrouter.ai/docs: max_tokens; usage (with cost) is always sent,
	// stream_options is deprecated and has no effect.
	CompatOpenRouter: {name: CompatOpenRouter, limit: limitMaxTokens, format: formatJSONSchema},
	// docs.together.ai: max_tokens; usage comes in the last chunk.
	CompatTogether: {name: CompatTogether, limit: limitMaxTokens, format: formatJSONSchema},
	// ai.google.dev/gemini-api/docs/openai: max_tokens, include_usage,
	// response_format with a schema; errors come as a JSON list.
	CompatGemini: {name: CompatGemini, limit: limitMaxTokens, streamOptions: true, format: formatJSONSchema},
	// github.com/ollama/ollama/blob/main/docs/openai.md: reads max_tokens
	// only; include_usage and json_schema are supported.
	CompatOllama: {name: CompatOllama, limit: limitMaxTokens, streamOptions: true, format: formatJSONSchema},
	// llama.cpp server README: max_tokens (older builds read nothing
	// else); usage plus timings with cache_n.
	CompatLlamaCpp: {name: CompatLlamaCpp, limit: limitMaxTokens, streamOptions: true, format: formatJSONSchema},
	// docs.vllm.ai: the OpenAI parameters, both limit names, guided JSON.
	CompatVLLM: {name: CompatVLLM, limit: limitMaxCompletion, streamOptions: true, format: formatJSONSchema},
	// lmstudio.ai/docs/app/api/endpoints/openai: max_tokens, json_schema.
	CompatLMStudio: {name: CompatLMStudio, limit: limitMaxTokens, streamOptions: true, format: formatJSONSchema},
	CompatGeneric:  {name: CompatGeneric, limit: limitBoth, streamOptions: true, format: formatJSONSchema},
}

// CompatNames lists the values Options.Compat accepts (besides "" and
// "auto", which detect the server from the base URL).
func CompatNames() []string {
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ValidCompat reports whether name is a value Options.Compat accepts, so
// configuration can refuse a typo at start-up.
func ValidCompat(name string) error {
	if name == "" || name == "auto" {
		return nil
	}
	if _, ok := profiles[strings.ToLower(name)]; ok {
		return nil
	}
	return fmt.Errorf("unknown LLM compatibility profile %q (known: auto, %s)", name, strings.Join(CompatNames(), ", "))
}

// Detect returns the profile name for a base URL: by host for hosted
// providers, by the default port for local servers, else generic.
func Detect(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return CompatGeneric
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "api.openai.com":
		return CompatOpenAI
	case strings.HasSuffix(host, ".openai.azure.com"), strings.HasSuffix(host, ".cognitiveservices.azure.com"),
		strings.HasSuffix(host, ".services.ai.azure.com"), strings.Contains(u.Path, "/openai/deployments/"):
		return CompatAzure
	case host == "api.mistral.ai":
		return CompatMistral
	case host == "api.anthropic.com":
		return CompatAnthropic
	case host == "api.deepseek.com":
		return CompatDeepSeek
	case host == "api.groq.com":
		return CompatGroq
	case host == "openrouter.ai":
		return CompatOpenRouter
	case host == "api.together.xyz", host == "api.together.ai":
		return CompatTogether
	case host == "generativelanguage.googleapis.com":
		return CompatGemini
	}
	// Local servers are recognised by their default ports only: llama.cpp
	// (8080) and vLLM (8000) share their ports with everything else, and
	// the generic profile suits both.
	switch u.Port() {
	case "11434":
		return CompatOllama
	case "1234":
		if isLocal(host) {
			return CompatLMStudio
		}
	}
	return CompatGeneric
}

func isLocal(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate())
}

// reasoningModel reports whether a model is one of OpenAI's reasoning
// families (o1, o3, o4-mini, gpt-5…), which answer 400 to any temperature
// but the default and to max_tokens. The name is matched after any
// "vendor/" prefix (OpenRouter's "openai/o3"). gpt-5-chat is the
// non-reasoning chat model of the family and takes temperature.
func reasoningModel(model string) bool {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	if strings.HasPrefix(m, "gpt-5") {
		return !strings.HasPrefix(m, "gpt-5-chat")
	}
	for _, p := range []string{"o1", "o3", "o4"} {
		if m == p || strings.HasPrefix(m, p+"-") {
			return true
		}
	}
	return false
}
