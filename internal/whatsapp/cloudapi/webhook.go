package cloudapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
	"github.com/parley-dev/parley/internal/whatsapp"
)

// MaxBody is the largest webhook delivery accepted: Meta's payloads are
// at most 3 MB.
const MaxBody = 3 << 20

// Ingester stores parsed webhook changes (whatsapp.Service).
type Ingester interface {
	Ingest(ctx context.Context, changes []whatsapp.Change) error
}

// Webhook serves Meta's webhook endpoint.
type Webhook struct {
	Ingester    Ingester
	AppSecret   string
	VerifyToken string
	Log         *slog.Logger
}

// Register adds the webhook's routes.
func (h *Webhook) Register(mux interface {
	HandleFunc(pattern string, fn func(http.ResponseWriter, *http.Request))
}) {
	mux.HandleFunc("GET /webhooks/whatsapp", h.Verify)
	mux.HandleFunc("POST /webhooks/whatsapp", h.Receive)
}

// Verify answers Meta's subscription check: the challenge echoed when
// the verify token matches, 403 otherwise.
func (h *Webhook) Verify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if h.VerifyToken == "" || q.Get("hub.mode") != "subscribe" ||
		subtle.ConstantTimeCompare([]byte(q.Get("hub.verify_token")), []byte(h.VerifyToken)) != 1 {
		httpx.WriteProblem(w, r, fault.New(fault.CodeForbidden, "the verify token does not match PARLEY_WHATSAPP_VERIFY_TOKEN"))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, q.Get("hub.challenge"))
}

// Sign returns the X-Hub-Signature-256 value of body under secret, as
// Meta computes it.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// validSignature checks X-Hub-Signature-256 over the raw body, in
// constant time.
func validSignature(secret, header string, body []byte) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || secret == "" {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Receive takes a delivery: the signature is checked over the raw body
// before anything is read from it (401, nothing stored, when it fails);
// the changes are stored in one transaction; only then 200. A failure to
// store answers 500, so Meta delivers again.
func (h *Webhook) Receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		httpx.WriteProblem(w, r, fault.New(fault.CodeTooLarge, "a webhook delivery is at most %d bytes", MaxBody))
		return
	}
	if err != nil {
		httpx.WriteProblem(w, r, fault.New(fault.CodeMalformed, "could not read the body"))
		return
	}
	if !validSignature(h.AppSecret, r.Header.Get("X-Hub-Signature-256"), body) {
		if h.AppSecret == "" {
			h.log().WarnContext(r.Context(), "whatsapp webhook refused: PARLEY_WHATSAPP_APP_SECRET is not set")
		}
		httpx.WriteProblem(w, r, fault.New(fault.CodeUnauthorized, "missing or invalid X-Hub-Signature-256"))
		return
	}
	changes, err := Parse(body)
	if errors.Is(err, ErrNotWhatsApp) {
		w.WriteHeader(http.StatusOK) // signed by Meta, but another product's: nothing to do
		return
	}
	if err != nil {
		httpx.WriteProblem(w, r, fault.New(fault.CodeMalformed, "not a WhatsApp webhook payload: %v", err))
		return
	}
	if err := h.Ingester.Ingest(context.WithoutCancel(r.Context()), changes); err != nil {
		h.log().ErrorContext(r.Context(), "whatsapp webhook not stored: Meta will deliver it again", "err", err)
		httpx.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *Webhook) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}
