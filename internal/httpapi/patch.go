package httpapi

import "github.com/parley-dev/parley/internal/httpx"

// textPatch returns an optional text field as a patch takes it: nil when
// left out, and "" for null, since empty is every optional text's default.
func textPatch(o httpx.Optional[string]) *string {
	if !o.Set {
		return nil
	}
	val := o.Value // "" after null
	return &val
}
