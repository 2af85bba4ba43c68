package web

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static/app.css static/app.js static/analytics.js static/vendor
var staticFS embed.FS

// asset is one embedded file served under a content-hashed name, so it
// can be cached forever and a new release is fetched at once.
type asset struct {
	url  string
	body []byte
	ct   string
}

// assets maps a file's plain name ("app.css", "vendor/htmx.min.js") to its
// hashed URL and content, and each hashed URL back to the file.
type assets struct {
	byName map[string]*asset
	byURL  map[string]*asset
}

func loadAssets() (*assets, error) {
	a := &assets{byName: map[string]*asset{}, byURL: map[string]*asset{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Base(p) == "VERSIONS" {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		url := "/static/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ct := mime.TypeByExtension(ext)
		if ct == "" {
			ct = "application/octet-stream"
		}
		x := &asset{url: url, body: body, ct: ct}
		a.byName[name], a.byURL[url] = x, x
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded assets: %w", err)
	}
	return a, nil
}

// URL returns the hashed URL of a static file; an unknown name panics at
// template execution, which the golden tests catch.
func (a *assets) URL(name string) (string, error) {
	x, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return x.url, nil
}

// ServeHTTP serves a hashed static file with immutable caching.
func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x, ok := a.byURL[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", x.ct)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", startTime, bytes.NewReader(x.body))
}

// vendored parses vendor/VERSIONS: file → (package@version, sha256).
func vendored() (map[string][2]string, error) {
	b, err := staticFS.ReadFile("static/vendor/VERSIONS")
	if err != nil {
		return nil, err
	}
	out := map[string][2]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("VERSIONS: bad line %q", line)
		}
		out[f[0]] = [2]string{f[1], f[2]}
	}
	return out, sc.Err()
}
