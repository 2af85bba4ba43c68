package httpx

import (
	"encoding/json"
	"testing"
)

// TestOptional: left out, null and a value are three different things.
func TestOptional(t *testing.T) {
	var in struct {
		A Optional[string] `json:"a"`
		B Optional[string] `json:"b"`
		C Optional[string] `json:"c"`
	}
	if err := json.Unmarshal([]byte(`{"b":null,"c":"x"}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.A.Set || !in.B.Set || !in.B.Null || !in.C.Set || in.C.Null || in.C.Value != "x" {
		t.Errorf("decoded %+v", in)
	}
	got := "old"
	in.A.Put(&got, "default")
	if got != "old" {
		t.Errorf("left out: %q", got)
	}
	in.B.Put(&got, "default")
	if got != "default" {
		t.Errorf("null: %q", got)
	}
	in.C.Put(&got, "default")
	if got != "x" {
		t.Errorf("value: %q", got)
	}
}
