package widget

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/httpx"
)

// static holds the loader (served as /widget.js) and the panel bundle it
// loads when the visitor first opens the widget.
//
//go:embed static/loader.js static/panel.js
var static embed.FS

// assets are the scripts as served: the panel under a name holding the
// hash of its content, so it can be cached for good, and the loader,
// which names it and is cached briefly so a new release reaches sites
// within minutes.
type assets struct {
	loader    []byte
	panel     []byte
	panelName string
}

func loadAssets() *assets {
	panel, err := static.ReadFile("static/panel.js")
	if err != nil {
		panic(err) // embedded: cannot be missing
	}
	loader, err := static.ReadFile("static/loader.js")
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(panel)
	name := "panel." + hex.EncodeToString(sum[:6]) + ".js"
	loader = []byte(strings.Replace(string(loader), "__PANEL__", name, 1))
	return &assets{loader: loader, panel: panel, panelName: name}
}

// scriptHeaders prepares a script response that any site may load.
func scriptHeaders(w http.ResponseWriter, cache string) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", cache)
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Access-Control-Allow-Origin", "*") // public code, no credentials
}

// loader serves /widget.js.
func (a *API) loader(w http.ResponseWriter, r *http.Request) {
	scriptHeaders(w, "public, max-age=300")
	_, _ = w.Write(a.assets.loader)
}

// asset serves the panel bundle under its content-hashed name.
func (a *API) asset(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("name") != a.assets.panelName {
		httpx.WriteProblem(w, r, fault.NotFound("widget asset"))
		return
	}
	scriptHeaders(w, "public, max-age=31536000, immutable")
	_, _ = w.Write(a.assets.panel)
}
