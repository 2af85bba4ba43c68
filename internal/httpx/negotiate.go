package httpx

import (
	"net/http"
	"strconv"
	"strings"
)

// PrefersEventStream reports whether the client prefers a server-sent
// event stream to JSON, by the weights of its Accept header (RFC 9110 §12.5.1).
// The stream must be named itself ("*/*" or "text/*" alone get JSON, the
// default), with a weight above zero and not below JSON's.
func PrefersEventStream(r *http.Request) bool {
	accept := r.Header.Values("Accept")
	stream, named := acceptWeight(accept, "text", "event-stream")
	if !named || stream == 0 {
		return false
	}
	json, _ := acceptWeight(accept, "application", "json")
	return stream >= json
}

// acceptWeight returns the weight Accept header values give a media type:
// the q of the most specific range matching it (type/subtype, then
// type/*, then */*), 0 when none does. named reports whether the media
// type is listed itself. A range with an invalid weight is ignored.
func acceptWeight(accept []string, typ, subtype string) (q float64, named bool) {
	best := -1 // specificity of the range q came from
	for _, header := range accept {
		for _, item := range strings.Split(header, ",") {
			params := strings.Split(item, ";")
			t, s, ok := strings.Cut(strings.ToLower(strings.TrimSpace(params[0])), "/")
			if !ok {
				continue
			}
			weight, valid := 1.0, true
			for _, p := range params[1:] {
				if name, val, _ := strings.Cut(p, "="); strings.EqualFold(strings.TrimSpace(name), "q") {
					weight, valid = parseQValue(strings.TrimSpace(val))
					break // parameters after q are extensions, not part of the range
				}
			}
			spec := -1
			switch {
			case !valid:
			case t == typ && s == subtype:
				spec, named = 2, true
			case t == typ && s == "*":
				spec = 1
			case t == "*" && s == "*":
				spec = 0
			}
			if spec > best || (spec == best && spec >= 0 && weight > q) {
				best, q = spec, weight
			}
		}
	}
	return q, named
}

// parseQValue parses a weight: "0" to "1" with at most three decimals
// (RFC 9110 §12.4.2).
func parseQValue(s string) (float64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if (whole != "0" && whole != "1") || len(frac) > 3 {
		return 0, false
	}
	for _, c := range frac {
		if c < '0' || c > '9' || (whole == "1" && c != '0') {
			return 0, false
		}
	}
	q, err := strconv.ParseFloat(whole+"."+frac+"0", 64)
	return q, err == nil
}
