package httpapi_test

import (
	"testing"

	"github.com/parley-dev/parley/internal/store/pgtest"
)

// testDB is the database the API tests run on: a temporary SQLite file,
// or a PostgreSQL schema inside TestOnPostgres.
var testDB = func(testing.TB) string { return "" }

// TestOnPostgres runs the API tests again on PostgreSQL, so both stores
// answer the API the same way end to end.
func TestOnPostgres(t *testing.T) {
	pgtest.SchemaURL(t) // skips, saying so, when no server is configured
	old := testDB
	testDB = func(t testing.TB) string { return pgtest.SchemaURL(t) }
	defer func() { testDB = old }()
	tests := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"Auth", TestAuth}, {"Assistants", TestAssistantsAPI}, {"ModelPrices", TestModelPricesAPI},
		{"ConversationLifecycle", TestConversationLifecycle}, {"CreateValidation", TestCreateConversationValidation},
		{"Streaming", TestStreamingReply}, {"ListFilterCountExport", TestListFilterCountExport},
		{"ProviderPriced", TestProviderReplyIsPricedExactly}, {"Unpriced", TestUnpricedModel},
		{"ProviderFailure", TestProviderFailureLosesNothing}, {"EndExtracts", TestEndExtractsOffline},
		{"ExtractWithProvider", TestExtractWithProvider}, {"SearchScripts", TestSearchScripts},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.fn)
	}
}
