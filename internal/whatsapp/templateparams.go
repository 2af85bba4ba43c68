package whatsapp

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/fault"
)

// templateShape is what a template's HEADER and BUTTONS components ask
// of a message sending it.
type templateShape struct {
	headerFormat string // TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION; empty: no header
	headerParams int    // the {{n}} of a text header
	buttons      []templateButtonShape
}

type templateButtonShape struct {
	kind    string // quick_reply, url, copy_code, phone_number, …: Meta's type, lower case
	dynamic bool   // a URL with {{1}}: the send gives its suffix
}

func (t *Template) shape() templateShape {
	var comps []struct {
		Type    string `json:"type"`
		Format  string `json:"format"`
		Text    string `json:"text"`
		Buttons []struct {
			Type string `json:"type"`
			URL  string `json:"url"`
		} `json:"buttons"`
	}
	var sh templateShape
	if json.Unmarshal(t.Components, &comps) != nil {
		return sh
	}
	for _, c := range comps {
		switch strings.ToUpper(c.Type) {
		case "HEADER":
			sh.headerFormat = strings.ToUpper(c.Format)
			if sh.headerFormat == "" {
				sh.headerFormat = "TEXT"
			}
			sh.headerParams = paramCount(c.Text)
		case "BUTTONS":
			for _, b := range c.Buttons {
				sh.buttons = append(sh.buttons, templateButtonShape{kind: strings.ToLower(b.Type),
					dynamic: strings.Contains(b.URL, "{{")})
			}
		}
	}
	return sh
}

// paramText reports whether Meta takes s as a template parameter's text:
// it refuses new lines, tabs and more than four spaces in a row (132018).
func paramText(s string) bool {
	return !strings.ContainsAny(s, "\n\r\t") && !strings.Contains(s, "     ")
}

// checkTemplateParams checks a send's header and button parameters
// against the template's components, as Meta would (132000, 132012 and
// 132018 otherwise), adding what is wrong to v.
func checkTemplateParams(t *Template, h *conversation.TemplateHeader, buttons []conversation.TemplateButton, v *fault.Validation) {
	sh := t.shape()
	switch {
	case h == nil && sh.headerFormat == "TEXT" && sh.headerParams > 0:
		v.Add("header", "template %q has a text header with a parameter: give {\"type\": \"text\", \"text\": …}", t.Name)
	case h == nil && (sh.headerFormat == "IMAGE" || sh.headerFormat == "VIDEO" || sh.headerFormat == "DOCUMENT"):
		v.Add("header", "template %q has a %s header: give its link or media_id", t.Name, strings.ToLower(sh.headerFormat))
	case h == nil && sh.headerFormat == "LOCATION":
		v.Add("header", "template %q has a location header: give {\"type\": \"location\", \"latitude\", \"longitude\"}", t.Name)
	case h == nil:
	case sh.headerFormat == "" || (sh.headerFormat == "TEXT" && sh.headerParams == 0):
		v.Add("header", "template %q has no header parameter to fill", t.Name)
	case !strings.EqualFold(h.Type, sh.headerFormat):
		v.Add("header.type", "template %q has a %s header", t.Name, strings.ToLower(sh.headerFormat))
	case h.Type == "text":
		if n := utf8.RuneCountInString(h.Text); strings.TrimSpace(h.Text) == "" || n > 60 {
			v.Add("header.text", "must have 1 to 60 characters")
		} else if !paramText(h.Text) {
			v.Add("header.text", "must be one line: no new lines, tabs or more than 4 spaces in a row")
		}
	case h.Type == "location":
		checkLocation(h, v)
	default:
		if (h.Link == "") == (h.MediaID == "") {
			v.Add("header", "give one of link and media_id")
		} else if h.Link != "" && !publicHTTPS(h.Link) {
			v.Add("header.link", "must be a public https:// URL")
		} else if h.MediaID != "" && strings.Trim(h.MediaID, "0123456789") != "" {
			v.Add("header.media_id", "must be the id of an uploaded media")
		}
		if h.Filename != "" && h.Type != "document" {
			v.Add("header.filename", "names a document only")
		}
	}
	given := map[int]bool{}
	for i, b := range buttons {
		field := fmt.Sprintf("buttons[%d]", i)
		if b.Index < 0 || b.Index >= len(sh.buttons) {
			v.Add(field+".index", "template %q has %d buttons", t.Name, len(sh.buttons))
			continue
		}
		if given[b.Index] {
			v.Add(field+".index", "button %d is given twice", b.Index)
			continue
		}
		given[b.Index] = true
		want := sh.buttons[b.Index]
		switch {
		case b.SubType != want.kind:
			v.Add(field+".sub_type", "button %d of template %q is %s", b.Index, t.Name, want.kind)
		case b.SubType == "url" && !want.dynamic:
			v.Add(field, "button %d has a fixed URL: it takes no parameter", b.Index)
		case b.SubType != "quick_reply" && b.SubType != "url" && b.SubType != "copy_code":
			v.Add(field+".sub_type", "a %s button takes no parameter", b.SubType)
		case strings.TrimSpace(b.Value) == "" || utf8.RuneCountInString(b.Value) > 2000:
			v.Add(field+".value", "must have 1 to 2000 characters")
		case b.SubType == "copy_code" && utf8.RuneCountInString(b.Value) > 15:
			v.Add(field+".value", "a coupon code has at most 15 characters")
		}
	}
	for i, want := range sh.buttons {
		if !given[i] && ((want.kind == "url" && want.dynamic) || want.kind == "copy_code") {
			v.Add("buttons", "button %d (%s) of template %q needs a value", i, want.kind, t.Name)
		}
	}
}

// checkLocation checks a location header: a place on Earth, its name
// and address optional and short, nothing of a media header.
func checkLocation(h *conversation.TemplateHeader, v *fault.Validation) {
	if h.Latitude == nil || math.IsNaN(*h.Latitude) || *h.Latitude < -90 || *h.Latitude > 90 {
		v.Add("header.latitude", "is required, from -90 to 90")
	}
	if h.Longitude == nil || math.IsNaN(*h.Longitude) || *h.Longitude < -180 || *h.Longitude > 180 {
		v.Add("header.longitude", "is required, from -180 to 180")
	}
	if utf8.RuneCountInString(h.Name) > 1000 {
		v.Add("header.name", "has at most 1000 characters")
	}
	if utf8.RuneCountInString(h.Address) > 1000 {
		v.Add("header.address", "has at most 1000 characters")
	}
	if h.Text != "" || h.Link != "" || h.MediaID != "" || h.Filename != "" {
		v.Add("header", "a location header takes latitude, longitude, name and address only")
	}
}

// publicHTTPS reports whether link is a URL Meta can fetch a header's
// media from: https, a host, no credentials, and nothing (spaces,
// control characters) that would only fail later, in the send job.
func publicHTTPS(link string) bool {
	if len(link) > 2000 || strings.ContainsFunc(link, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return false
	}
	u, err := url.Parse(link)
	return err == nil && u.Scheme == "https" && u.Hostname() != "" && u.User == nil && u.Opaque == ""
}
