package postgres_test

import (
	"context"
	"testing"
)

// TestPoolPlanSettings checks that every pooled connection plans each
// statement for its parameters (no generic plan after five runs of a
// cached search statement) and never JIT-compiles.
func TestPoolPlanSettings(t *testing.T) {
	db := open(t, schemaURL(t))
	ctx := context.Background()
	for name, want := range map[string]string{"plan_cache_mode": "force_custom_plan", "jit": "off"} {
		got, err := db.Setting(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}
