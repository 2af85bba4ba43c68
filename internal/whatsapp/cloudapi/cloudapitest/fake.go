// Package cloudapitest is a fake of Meta's Graph API for tests: it
// speaks the Cloud API's real wire formats (send message, mark read,
// message templates with cursor paging, media, phone number) and can be
// told to answer with Meta's errors (131047 outside the window, 130429
// throughput, 5xx), so the channel is tested against what Meta sends.
package cloudapitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Sent is a send request the fake received.
type Sent struct {
	PhoneNumberID string
	Token         string
	Body          map[string]any
	WAMID         string
}

// Template is a template the fake's account holds.
type Template struct {
	ID, Name, Language, Status, Category string
	Components                           []map[string]any
}

// Fault is an error the fake answers a send with.
type Fault struct {
	HTTPStatus int
	Code       int
	Message    string
	Details    string
}

// Fake is a running fake Graph API.
type Fake struct {
	URL   string
	Token string // the access token it accepts

	mu        sync.Mutex
	sent      []Sent
	reads     []map[string]any
	templates []Template
	faults    []Fault // answered to the next sends, in order
	media     map[string][]byte
	created   []map[string]any
	deleted   []string
	pageSize  int
	n         int
	srv       *httptest.Server
	status    string              // the number's, as GET /{phone-number-id} reports it
	foreign   map[string]bool     // numbers of another business: the token cannot read them
	accounts  map[string][]string // phone number ids of a WABA, when a test set them
	seen      []string            // numbers read so far: those of a WABA no test set
	quality   string
	beforeAck func(wamid string)
}

// BeforeAck makes the fake call fn with each accepted send's wamid before
// it answers the send request — as when Meta's status webhook for a
// message overtakes the answer to its send.
func (f *Fake) BeforeAck(fn func(wamid string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.beforeAck = fn
}

// Start starts a fake accepting token, stopped when the test ends.
func Start(t testing.TB, token string) *Fake {
	f := New(token)
	t.Cleanup(f.Close)
	return f
}

// New starts a fake accepting token outside a test (the benchmark's);
// Close stops it.
func New(token string) *Fake {
	f := &Fake{Token: token, media: map[string][]byte{}, pageSize: 2, status: "CONNECTED", quality: "GREEN"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL + "/v26.0"
	return f
}

// Close stops the fake.
func (f *Fake) Close() { f.srv.Close() }

// FailNext makes the next sends fail with these errors, in order.
func (f *Fake) FailNext(faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, faults...)
}

// SetToken changes the access token the fake accepts (the old one is
// revoked).
func (f *Fake) SetToken(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Token = token
}

func (f *Fake) token() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Token
}

// SetAccountNumbers sets the phone number ids of a WABA. A WABA no test
// set lists every number read so far (any sender's account is its own).
func (f *Fake) SetAccountNumbers(wabaID string, ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.accounts == nil {
		f.accounts = map[string][]string{}
	}
	f.accounts[wabaID] = ids
}

// listNumbers answers GET /{waba-id}/phone_numbers, in pages as the
// templates are.
func (f *Fake) listNumbers(w http.ResponseWriter, r *http.Request, wabaID string) {
	f.mu.Lock()
	all, set := f.accounts[wabaID]
	if !set {
		all = f.seen
	}
	all = append([]string(nil), all...)
	size := f.pageSize
	f.mu.Unlock()
	start := 0
	if a := r.URL.Query().Get("after"); a != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(a, "c"))
		if err != nil || n < 0 || n > len(all) {
			graphError(w, 400, 100, "Invalid cursor", a)
			return
		}
		start = n
	}
	end := min(start+size, len(all))
	data := []any{}
	for _, id := range all[start:end] {
		data = append(data, map[string]any{"id": id, "display_phone_number": "15550001111", "verified_name": "Parley Test",
			"quality_rating": "GREEN"})
	}
	paging := map[string]any{"cursors": map[string]any{"before": "c" + strconv.Itoa(start), "after": "c" + strconv.Itoa(end)}}
	if end < len(all) {
		paging["next"] = "http://" + r.Host + r.URL.Path + "?after=c" + strconv.Itoa(end)
	}
	writeJSON(w, map[string]any{"data": data, "paging": paging})
}

// AddForeignNumber makes a phone number id another business's: reading
// it with the fake's token fails as the Graph API's does.
func (f *Fake) AddForeignNumber(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.foreign == nil {
		f.foreign = map[string]bool{}
	}
	f.foreign[id] = true
}

// SetNumber sets the status and quality rating the numbers report.
func (f *Fake) SetNumber(status, quality string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.quality = status, quality
}

// AddTemplates adds templates to the account.
func (f *Fake) AddTemplates(ts ...Template) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.templates = append(f.templates, ts...)
}

// RemoveTemplates deletes the account's templates of a name, as deleting
// them in WhatsApp Manager does.
func (f *Fake) RemoveTemplates(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removeTemplates(name, "")
}

// removeTemplates deletes the templates of a name (only the one of hsmID
// when given); f.mu is held.
func (f *Fake) removeTemplates(name, hsmID string) {
	kept := f.templates[:0]
	for _, t := range f.templates {
		if t.Name != name || (hsmID != "" && t.ID != hsmID) {
			kept = append(kept, t)
		}
	}
	f.templates = kept
}

// AddMedia stores a media object.
func (f *Fake) AddMedia(id string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.media[id] = data
}

// Sent returns the sends received so far.
func (f *Fake) Sent() []Sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Sent(nil), f.sent...)
}

// Reads returns the mark-read requests received so far.
func (f *Fake) Reads() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.reads...)
}

// Created returns the template creation requests.
func (f *Fake) Created() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.created...)
}

// Deleted lists the templates deleted: their name, and "#" and the
// hsm_id when the request named one language.
func (f *Fake) Deleted() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.deleted...)
}

func graphError(w http.ResponseWriter, status, code int, msg, details string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": fmt.Sprintf("(#%d) %s", code, msg), "type": "OAuthException", "code": code,
		"error_data": map[string]any{"messaging_product": "whatsapp", "details": details},
		"fbtrace_id": "AbCdEfGhIjK"}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v26.0/")
	if strings.HasPrefix(r.URL.Path, "/download/") {
		f.download(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token() {
		graphError(w, 401, 190, "Invalid OAuth access token - Cannot parse access token", "")
		return
	}
	parts := strings.Split(path, "/")
	switch {
	case len(parts) == 2 && parts[1] == "messages" && r.Method == http.MethodPost:
		f.messages(w, r, parts[0])
	case len(parts) == 2 && parts[1] == "phone_numbers" && r.Method == http.MethodGet:
		f.listNumbers(w, r, parts[0])
	case len(parts) == 2 && parts[1] == "message_templates" && r.Method == http.MethodGet:
		f.listTemplates(w, r)
	case len(parts) == 2 && parts[1] == "message_templates" && r.Method == http.MethodPost:
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.created = append(f.created, body)
		f.n++
		id := strconv.Itoa(900000 + f.n)
		// Listed from now on, pending review, as Meta lists it.
		name, _ := body["name"].(string)
		lang, _ := body["language"].(string)
		category, _ := body["category"].(string)
		f.templates = append(f.templates, Template{ID: id, Name: name, Language: lang, Status: "PENDING", Category: category})
		f.mu.Unlock()
		writeJSON(w, map[string]any{"id": id, "status": "PENDING", "category": body["category"]})
	case len(parts) == 2 && parts[1] == "message_templates" && r.Method == http.MethodDelete:
		f.mu.Lock()
		d := r.URL.Query().Get("name")
		if id := r.URL.Query().Get("hsm_id"); id != "" {
			d += "#" + id
		}
		f.deleted = append(f.deleted, d)
		f.removeTemplates(r.URL.Query().Get("name"), r.URL.Query().Get("hsm_id"))
		f.mu.Unlock()
		writeJSON(w, map[string]any{"success": true})
	case len(parts) == 1 && r.Method == http.MethodGet && r.URL.Query().Get("fields") != "":
		f.mu.Lock()
		status, quality, foreign := f.status, f.quality, f.foreign[parts[0]]
		if !foreign && !slices.Contains(f.seen, parts[0]) {
			f.seen = append(f.seen, parts[0])
		}
		f.mu.Unlock()
		if foreign {
			graphError(w, 400, 100, "Unsupported get request. Object with ID '"+parts[0]+"' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", "")
			return
		}
		writeJSON(w, map[string]any{"display_phone_number": "15550001111", "verified_name": "Parley Test",
			"quality_rating": quality, "status": status, "id": parts[0]})
	case len(parts) == 1 && r.Method == http.MethodGet:
		f.mu.Lock()
		data, ok := f.media[parts[0]]
		f.mu.Unlock()
		if !ok {
			graphError(w, 404, 100, "Unsupported get request.", "Object with ID does not exist")
			return
		}
		scheme := "http://"
		writeJSON(w, map[string]any{"messaging_product": "whatsapp", "url": scheme + r.Host + "/download/" + parts[0],
			"mime_type": "image/jpeg", "sha256": "abc", "file_size": strconv.Itoa(len(data)), "id": parts[0]})
	default:
		graphError(w, 400, 100, "Unsupported request", r.Method+" "+path)
	}
}

func (f *Fake) download(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.token() {
		w.WriteHeader(401)
		return
	}
	f.mu.Lock()
	data, ok := f.media[strings.TrimPrefix(r.URL.Path, "/download/")]
	f.mu.Unlock()
	if !ok {
		w.WriteHeader(404)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	_, _ = w.Write(data)
}

func (f *Fake) messages(w http.ResponseWriter, r *http.Request, phoneNumberID string) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil || body["messaging_product"] != "whatsapp" {
		graphError(w, 400, 100, "Invalid parameter", "messaging_product is required")
		return
	}
	if body["status"] == "read" {
		f.mu.Lock()
		f.reads = append(f.reads, body)
		f.mu.Unlock()
		writeJSON(w, map[string]any{"success": true})
		return
	}
	to, _ := body["to"].(string)
	rcpt, _ := body["recipient"].(string)
	if to == "" && rcpt == "" {
		graphError(w, 400, 100, "Invalid parameter", "to or recipient is required")
		return
	}
	f.mu.Lock()
	if len(f.faults) > 0 {
		ft := f.faults[0]
		f.faults = f.faults[1:]
		f.mu.Unlock()
		graphError(w, ft.HTTPStatus, ft.Code, ft.Message, ft.Details)
		return
	}
	f.n++
	wamid := fmt.Sprintf("wamid.OUT%06d", f.n)
	f.sent = append(f.sent, Sent{PhoneNumberID: phoneNumberID, Token: f.Token, Body: body, WAMID: wamid})
	before := f.beforeAck
	f.mu.Unlock()
	if before != nil {
		before(wamid)
	}
	contact := map[string]any{"input": to}
	if to != "" {
		contact["wa_id"] = strings.TrimPrefix(to, "+")
	} else {
		contact = map[string]any{"input": rcpt, "user_id": rcpt}
	}
	writeJSON(w, map[string]any{"messaging_product": "whatsapp", "contacts": []any{contact},
		"messages": []any{map[string]any{"id": wamid, "message_status": "accepted"}}})
}

// listTemplates pages with Meta's cursors (before/after, and next while
// more remain), pageSize at a time whatever limit says, so paging is
// exercised.
func (f *Fake) listTemplates(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	all := append([]Template(nil), f.templates...)
	size := f.pageSize
	f.mu.Unlock()
	start := 0
	if a := r.URL.Query().Get("after"); a != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(a, "c"))
		if err != nil {
			graphError(w, 400, 100, "Invalid cursor", a)
			return
		}
		start = n
	}
	end := min(start+size, len(all))
	data := []any{}
	for _, t := range all[start:end] {
		data = append(data, map[string]any{"id": t.ID, "name": t.Name, "language": t.Language, "status": t.Status,
			"category": t.Category, "components": t.Components})
	}
	paging := map[string]any{"cursors": map[string]any{"before": "c" + strconv.Itoa(start), "after": "c" + strconv.Itoa(end)}}
	if end < len(all) {
		paging["next"] = "http://" + r.Host + r.URL.Path + "?after=c" + strconv.Itoa(end)
	}
	writeJSON(w, map[string]any{"data": data, "paging": paging})
}
