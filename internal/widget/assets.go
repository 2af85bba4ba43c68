package widget

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"strconv"
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
// within minutes. Each is compressed once, at start.
type assets struct {
	loader    *script
	panel     *script
	panelName string
}

// script is one script's bytes, as they are and gzipped, with the
// entity tag of each (a compressed body is another representation, so
// it has its own tag).
type script struct {
	raw, gz        []byte
	etag, etagGzip string
}

func newScript(b []byte) *script {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	sum := sha256.Sum256(b)
	tag := hex.EncodeToString(sum[:8])
	return &script{raw: b, gz: buf.Bytes(), etag: `"` + tag + `"`, etagGzip: `"` + tag + `-gz"`}
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
	return &assets{loader: newScript(loader), panel: newScript(panel), panelName: name}
}

// Sizes reports the served sizes of the loader and the panel, raw and
// gzipped, in bytes (for the docs and the benchmark report).
func Sizes() (loader, loaderGzip, panel, panelGzip int) {
	a := loadAssets()
	return len(a.loader.raw), len(a.loader.gz), len(a.panel.raw), len(a.panel.gz)
}

// acceptsGzip reports whether the client takes gzip: named in
// Accept-Encoding with a q above 0, or not named while "*" is.
func acceptsGzip(r *http.Request) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			q := 1.0
			if k, val, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
					q = f
				}
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "gzip", "x-gzip":
				gzipQ = q
			case "*":
				starQ = q
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

// serve answers with the script, gzipped when the client takes it, with
// its length and tag, and 304 when the client has that representation.
// Any site may load it.
func (sc *script) serve(w http.ResponseWriter, r *http.Request, cache string) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", cache)
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Access-Control-Allow-Origin", "*") // public code, no credentials
	h.Add("Vary", "Accept-Encoding")
	body, tag := sc.raw, sc.etag
	if acceptsGzip(r) {
		body, tag = sc.gz, sc.etagGzip
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", tag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, tag) {
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// etagMatch is If-None-Match's weak comparison against tag.
func etagMatch(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}

// loader serves /widget.js.
func (a *API) loader(w http.ResponseWriter, r *http.Request) {
	a.assets.loader.serve(w, r, "public, max-age=300")
}

// asset serves the panel bundle under its content-hashed name.
func (a *API) asset(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("name") != a.assets.panelName {
		httpx.WriteProblem(w, r, fault.NotFound("widget asset"))
		return
	}
	a.assets.panel.serve(w, r, "public, max-age=31536000, immutable")
}
