package httpapi

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/parley-dev/parley/internal/httpx"
)

// TestOpenAPIDocumentsEveryProblemCode checks that every code the API can
// answer with is documented under the status it is answered with, and
// that the ProblemCode enum lists exactly the documented codes.
func TestOpenAPIDocumentsEveryProblemCode(t *testing.T) {
	type schema struct {
		Ref        string            `json:"$ref"`
		Enum       []string          `json:"enum"`
		Const      *int              `json:"const"`
		AllOf      []schema          `json:"allOf"`
		Properties map[string]schema `json:"properties"`
	}
	var doc struct {
		Components struct {
			Responses map[string]struct {
				Content map[string]struct {
					Schema schema `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
			Schemas struct {
				ProblemCode schema `json:"ProblemCode"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	byStatus := map[int][]string{} // documented codes by status
	var all []string
	for name, r := range doc.Components.Responses {
		mt, ok := r.Content["application/problem+json"]
		if !ok {
			continue
		}
		s := mt.Schema
		if len(s.AllOf) != 2 || s.AllOf[0].Ref != "#/components/schemas/Problem" {
			t.Errorf("response %s: a problem response is allOf [Problem, {status, code}]", name)
			continue
		}
		st, codes := s.AllOf[1].Properties["status"].Const, s.AllOf[1].Properties["code"].Enum
		if st == nil || len(codes) == 0 {
			t.Errorf("response %s: no status const or code enum", name)
			continue
		}
		byStatus[*st] = append(byStatus[*st], codes...)
		all = append(all, codes...)
	}
	for code, status := range httpx.StatusCodes() {
		if !slices.Contains(byStatus[status], code) {
			t.Errorf("code %s (status %d) is not documented under a %d problem response", code, status, status)
		}
	}
	enum := doc.Components.Schemas.ProblemCode.Enum
	for _, c := range all {
		if !slices.Contains(enum, c) {
			t.Errorf("code %s of a response is not in ProblemCode", c)
		}
	}
	for _, c := range enum {
		if !slices.Contains(all, c) {
			t.Errorf("ProblemCode %s is documented under no status", c)
		}
	}
	if len(byStatus) < 10 {
		t.Errorf("only %d statuses documented", len(byStatus))
	}
}
