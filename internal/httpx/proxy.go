package httpx

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
)

type clientIPKey struct{}

// TrustedProxies makes ClientIP see through the reverse proxies in
// trusted (PARLEY_TRUSTED_PROXIES): for a request whose connection comes
// from one of them, the client is the right-most address of
// X-Forwarded-For that is not itself a trusted proxy — each proxy appends
// the address it was reached from, so the entries left of the first
// untrusted one may be forged by the client and are never read. A request
// from any other peer keeps its connection's address, whatever headers it
// sends. With no trusted proxies next is returned as is.
func TrustedProxies(next http.Handler, trusted []netip.Prefix) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddr(peerIP(r))
		if err != nil || !isTrusted(peer) {
			next.ServeHTTP(w, r)
			return
		}
		client := peer
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a malformed entry: nothing left of it can be believed
			}
			client = hop.Unmap()
			if !isTrusted(client) {
				break
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey{}, client.String())))
	})
}
