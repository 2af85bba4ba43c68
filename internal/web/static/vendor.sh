#!/bin/sh
# vendor.sh downloads the dashboard's third-party browser files from the
# npm registry (with `npm pack`, so no Node project or build step is
# involved), copies the distribution files into vendor/, and records each
# file's package version and sha256 in vendor/VERSIONS. A test hashes the
# embedded files against VERSIONS, so an edited or half-updated vendor
# directory fails the build. Run it from anywhere: sh internal/web/static/vendor.sh
set -eu
HTMX=2.0.11
HTMX_SSE=2.2.4
UPLOT=1.6.32

here=$(cd "$(dirname "$0")" && pwd)
out="$here/vendor"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# take PACKAGE VERSION PATH-IN-PACKAGE TARGET-NAME
take() {
	(cd "$tmp" && npm pack --silent "$1@$2" >/dev/null)
	tgz=$(ls "$tmp"/*.tgz)
	mkdir -p "$tmp/x"
	tar -xzf "$tgz" -C "$tmp/x"
	cp "$tmp/x/package/$3" "$out/$4"
	rm -rf "$tmp/x" "$tgz"
	printf '%s %s@%s %s\n' "$4" "$1" "$2" "$(sha256sum "$out/$4" | cut -d' ' -f1)" >>"$tmp/VERSIONS"
}

take htmx.org "$HTMX" dist/htmx.min.js htmx.min.js
take htmx-ext-sse "$HTMX_SSE" dist/sse.min.js htmx-sse.min.js
take uplot "$UPLOT" dist/uPlot.iife.min.js uPlot.iife.min.js
take uplot "$UPLOT" dist/uPlot.min.css uPlot.min.css
{
	echo "# file package@version sha256 — written by vendor.sh; checked by TestVendoredFiles"
	sort "$tmp/VERSIONS"
} >"$out/VERSIONS"
