package httpapi_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/parley-dev/parley/internal/apptest"
)

// Every text cell of the CSV export is defused: a spreadsheet must never
// read a customer's or an integrator's text as a formula.
func TestCSVExportDefusesFormulas(t *testing.T) {
	s := apptest.Start(t, testDB(t))
	asst := s.Do("POST", "/api/v1/assistants", s.Key, map[string]any{"name": "@SUM(1+1)*cmd|' /C calc'!A0"}).Want(201).Str("id")
	conv := newConversation(t, s, s.Key, map[string]any{
		"assistant_id":        asst,
		"external_identifier": "=1+1",
		"customer": map[string]any{
			"name":  "-2+3+cmd|' /C calc'!A0",
			"email": "=cmd|calc!A0@y.z",
			"phone": "+44 20 7946 0958",
		},
	})
	s.Do("POST", "/api/v1/conversations/"+conv+"/messages", s.Key, map[string]any{"content": "=HYPERLINK(\"http://evil.example\")"}).Want(201)
	other := newConversation(t, s, s.Key, map[string]any{"assistant_id": asst, "customer": map[string]any{"name": "\r+1"}})

	r := s.Do("GET", "/api/v1/conversations/export?format=csv&order=asc", s.Key, nil).Want(200)
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("csv: %v %q", err, r.Body)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	row := rows[1]
	if row[col["id"]] != conv || rows[2][col["id"]] != other {
		t.Fatalf("rows out of order: %q", r.Body)
	}
	for name, want := range map[string]string{
		"assistant_name":      "'@SUM(1+1)*cmd|' /C calc'!A0",
		"external_identifier": "'=1+1",
		"customer_name":       "'-2+3+cmd|' /C calc'!A0",
		"customer_email":      "'=cmd|calc!A0@y.z",
		"customer_phone":      "'+442079460958",
	} {
		if got := row[col[name]]; got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := rows[2][col["customer_name"]]; got != "'+1" {
		t.Errorf("customer_name = %q", got)
	}
	// No cell of any row may start, after blanks, with a formula trigger.
	for i, row := range rows[1:] {
		for j, cell := range row {
			if c := strings.TrimLeft(cell, " \t\r\n"); c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
				t.Errorf("row %d %s = %q starts a formula", i+1, rows[0][j], cell)
			}
			if cell != "" && strings.ContainsRune("\t\r", rune(cell[0])) {
				t.Errorf("row %d %s = %q starts with a control character", i+1, rows[0][j], cell)
			}
		}
	}
	if tr := row[col["transcript"]]; !strings.Contains(tr, `user: =HYPERLINK("http://evil.example")`) {
		t.Errorf("transcript lost its text: %q", tr)
	}
}
