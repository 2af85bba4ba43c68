package httpx

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	var got string
	h := TrustedProxies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientIP(r) }), trusted)
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer forges the header", "203.0.113.9:4000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"untrusted peer, no header", "203.0.113.9:4000", nil, "203.0.113.9"},
		{"trusted proxy", "10.1.2.3:4000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"the client prepends a forged hop", "10.1.2.3:4000", []string{"1.2.3.4, 198.51.100.7"}, "198.51.100.7"},
		{"two trusted proxies", "10.1.2.3:4000", []string{"198.51.100.7, 10.9.9.9"}, "198.51.100.7"},
		{"headers split over lines", "10.1.2.3:4000", []string{"1.2.3.4", "198.51.100.7"}, "198.51.100.7"},
		{"malformed last hop", "10.1.2.3:4000", []string{"198.51.100.7, unknown"}, "10.1.2.3"},
		{"trusted proxy, no header", "10.1.2.3:4000", nil, "10.1.2.3"},
		{"only trusted hops", "10.1.2.3:4000", []string{"10.5.5.5"}, "10.5.5.5"},
		{"IPv6 proxy, IPv4-mapped client", "[::1]:4000", []string{"::ffff:198.51.100.8"}, "198.51.100.8"},
		{"spaces and tabs", "10.1.2.3:4000", []string{" 1.2.3.4 ,\t198.51.100.7\t, 10.9.9.9 "}, "198.51.100.7"},
		{"IPv6 client behind an IPv6 proxy", "[::1]:4000", []string{"2001:db8::1:2, ::1"}, "2001:db8::1:2"},
		{"garbage before the client", "10.1.2.3:4000", []string{"<script>, ;;, 198.51.100.7"}, "198.51.100.7"},
		{"empty hop after the client", "10.1.2.3:4000", []string{"198.51.100.7,,10.9.9.9"}, "10.9.9.9"},
		{"a hop with a port is not believed", "10.1.2.3:4000", []string{"198.51.100.7:555"}, "10.1.2.3"},
		{"a forged trusted hop left of the client", "10.1.2.3:4000", []string{"10.7.7.7, 198.51.100.7"}, "198.51.100.7"},
		{"a thousand forged hops", "10.1.2.3:4000", []string{strings.Repeat("1.2.3.4, ", 1000) + "198.51.100.7"}, "198.51.100.7"},
		{"an untrusted IPv6 peer forges the header", "[2001:db8::9]:4000", []string{"198.51.100.1"}, "2001:db8::9"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("%s: client %s, want %s", c.name, got, c.want)
		}
	}
	// Without trusted proxies the header is never read.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr, got = "10.1.2.3:4000", ""
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	TrustedProxies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientIP(r) }), nil).ServeHTTP(httptest.NewRecorder(), r)
	if got != "10.1.2.3" {
		t.Errorf("no trusted proxies: %s", got)
	}
}
