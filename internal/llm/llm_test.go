package llm

import (
	"context"
	"errors"
	"math"
	"testing"
)

func TestSum(t *testing.T) {
	a := Usage{InputTokens: 10, OutputTokens: 5, CachedInputTokens: 4, ReasoningTokens: 2, TotalTokens: 15}
	got, err := Sum(a, a)
	if err != nil || got != (Usage{20, 10, 8, 4, 30}) {
		t.Errorf("Sum = %+v, %v", got, err)
	}
	big := Usage{OutputTokens: math.MaxInt64 - 1}
	if _, err := Sum(big, a); !errors.Is(err, ErrUsageOverflow) {
		t.Errorf("overflow: %v", err)
	}
	if _, err := Sum(Usage{InputTokens: -1}, a); !errors.Is(err, ErrUsageOverflow) {
		t.Errorf("negative: %v", err)
	}
	// Add never wraps around to a negative total.
	if s := big.Add(a); s.OutputTokens != math.MaxInt64 || s.InputTokens != 10 {
		t.Errorf("Add saturates: %+v", s)
	}
}

func TestOutcomeErrors(t *testing.T) {
	pe := &ProviderError{Status: 500, Code: CodeContextLengthExceeded, Message: "context size exceeded"}
	if pe.Temporary() {
		t.Error("a context overflow is not temporary")
	}
	if !(&ProviderError{Status: 503, Code: CodeProviderError}).Temporary() || (&ProviderError{Status: 400, Code: CodeProviderError}).Temporary() {
		t.Error("5xx temporary, 400 not")
	}
	inc := &IncompleteError{Reason: IncompleteCut, Err: pe}
	if inc.Code() != CodeContextLengthExceeded || !errors.As(error(inc), &pe) {
		t.Errorf("cut wraps its cause: %v", inc)
	}
	if (&IncompleteError{Reason: IncompleteContentFilter}).Code() != CodeContentFiltered {
		t.Error("filtered code")
	}
	idle := &IncompleteError{Reason: IncompleteCut, Err: ErrIdleTimeout}
	if !errors.Is(idle, context.DeadlineExceeded) || !errors.Is(idle, ErrIdleTimeout) {
		t.Error("an idle stream is a deadline")
	}
}
