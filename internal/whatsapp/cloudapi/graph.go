package cloudapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parley-dev/parley/internal/conversation"
	"github.com/parley-dev/parley/internal/whatsapp"
)

// DefaultBaseURL is the Graph API version Parley is built against.
const DefaultBaseURL = "https://graph.facebook.com/v26.0"

// Client is the Graph API client (whatsapp.Graph).
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

// NewClient returns a client of the Graph API at base (DefaultBaseURL
// when empty), with a timeout on every request.
func NewClient(base string) *Client {
	if base == "" {
		base = DefaultBaseURL
	}
	return &Client{BaseURL: strings.TrimSuffix(base, "/"), HTTP: &http.Client{Timeout: 30 * time.Second}}
}

var _ whatsapp.Graph = (*Client)(nil)

// graphErrorBody is the Graph API's error answer.
type graphErrorBody struct {
	Error struct {
		Message        string `json:"message"`
		Type           string `json:"type"`
		Code           int    `json:"code"`
		ErrorSubcode   int    `json:"error_subcode"`
		ErrorUserTitle string `json:"error_user_title"`
		ErrorUserMsg   string `json:"error_user_msg"`
		ErrorData      struct {
			Details string `json:"details"`
		} `json:"error_data"`
	} `json:"error"`
}

// do sends a request with the token and decodes a JSON answer into out.
func (c *Client) do(ctx context.Context, method, rawURL, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("graph API %s: %w", method, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("graph API %s: read answer: %w", method, err)
	}
	if resp.StatusCode >= 300 {
		return graphError(resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("graph API %s: decode answer: %w", method, err)
	}
	return nil
}

func graphError(resp *http.Response, data []byte) error {
	ge := &whatsapp.GraphError{HTTPStatus: resp.StatusCode}
	var eb graphErrorBody
	if json.Unmarshal(data, &eb) == nil && eb.Error.Code != 0 {
		e := eb.Error
		ge.Code, ge.Subcode, ge.Message, ge.Details = e.Code, e.ErrorSubcode, e.Message, e.ErrorData.Details
		ge.Title = e.ErrorUserTitle
	} else {
		ge.Message = http.StatusText(resp.StatusCode)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 && s < 3600 {
		ge.RetryAfter = time.Duration(s) * time.Second
	}
	return ge
}

func (c *Client) url(parts ...string) string {
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return c.BaseURL + "/" + strings.Join(parts, "/")
}

type sendRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to,omitempty"`
	Recipient        string `json:"recipient,omitempty"`
	Type             string `json:"type"`
	Context          *struct {
		MessageID string `json:"message_id"`
	} `json:"context,omitempty"`
	Text *struct {
		PreviewURL bool   `json:"preview_url"`
		Body       string `json:"body"`
	} `json:"text,omitempty"`
	Template *sendTemplate `json:"template,omitempty"`
}

type sendTemplate struct {
	Name     string `json:"name"`
	Language struct {
		Code string `json:"code"`
	} `json:"language"`
	Components []templateComponent `json:"components,omitempty"`
}

type templateComponent struct {
	Type       string              `json:"type"`
	SubType    string              `json:"sub_type,omitempty"`
	Index      string              `json:"index,omitempty"`
	Parameters []templateParameter `json:"parameters"`
}

// templateParameter is one parameter of a component, as Meta's send
// message reference shapes it: text, a media object, a quick reply's
// payload or a coupon code.
type templateParameter struct {
	Type       string       `json:"type"`
	Text       string       `json:"text,omitempty"`
	Payload    string       `json:"payload,omitempty"`
	CouponCode string       `json:"coupon_code,omitempty"`
	Image      *mediaObject `json:"image,omitempty"`
	Video      *mediaObject `json:"video,omitempty"`
	Document   *mediaObject `json:"document,omitempty"`
	Location   *location    `json:"location,omitempty"`
}

// location is a location header's place, its coordinates as decimal
// strings, as Meta's examples send them.
type location struct {
	Latitude  string `json:"latitude"`
	Longitude string `json:"longitude"`
	Name      string `json:"name,omitempty"`
	Address   string `json:"address,omitempty"`
}

type mediaObject struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// templateComponents are the header, body and button parameters of a
// template message.
func templateComponents(t *conversation.Template) []templateComponent {
	var out []templateComponent
	if h := t.Header; h != nil {
		p := templateParameter{Type: h.Type}
		media := &mediaObject{ID: h.MediaID, Link: h.Link}
		switch h.Type {
		case "text":
			p.Text = h.Text
		case "image":
			p.Image = media
		case "video":
			p.Video = media
		case "document":
			media.Filename = h.Filename
			p.Document = media
		case "location":
			if h.Latitude != nil && h.Longitude != nil {
				p.Location = &location{Latitude: strconv.FormatFloat(*h.Latitude, 'f', -1, 64),
					Longitude: strconv.FormatFloat(*h.Longitude, 'f', -1, 64), Name: h.Name, Address: h.Address}
			}
		}
		out = append(out, templateComponent{Type: "header", Parameters: []templateParameter{p}})
	}
	if len(t.Params) > 0 {
		comp := templateComponent{Type: "body"}
		for _, p := range t.Params {
			comp.Parameters = append(comp.Parameters, templateParameter{Type: "text", Text: p})
		}
		out = append(out, comp)
	}
	for _, b := range t.Buttons {
		p := templateParameter{Type: "text", Text: b.Value}
		switch b.SubType {
		case "quick_reply":
			p = templateParameter{Type: "payload", Payload: b.Value}
		case "copy_code":
			p = templateParameter{Type: "coupon_code", CouponCode: b.Value}
		}
		out = append(out, templateComponent{Type: "button", SubType: b.SubType, Index: strconv.Itoa(b.Index),
			Parameters: []templateParameter{p}})
	}
	return out
}

// Send implements whatsapp.Graph.
func (c *Client) Send(ctx context.Context, token, phoneNumberID string, m whatsapp.OutMessage) (string, error) {
	req := sendRequest{MessagingProduct: "whatsapp", RecipientType: "individual"}
	if m.To != "" {
		req.To = strings.TrimPrefix(m.To, "+")
	} else {
		req.Recipient = m.Recipient
	}
	if m.ReplyTo != "" {
		req.Context = &struct {
			MessageID string `json:"message_id"`
		}{m.ReplyTo}
	}
	if t := m.Template; t != nil {
		req.Type = "template"
		st := &sendTemplate{Name: t.Name}
		st.Language.Code = t.Language
		st.Components = templateComponents(t)
		req.Template = st
	} else {
		req.Type = "text"
		req.Text = &struct {
			PreviewURL bool   `json:"preview_url"`
			Body       string `json:"body"`
		}{false, m.Text}
	}
	var resp struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := c.do(ctx, http.MethodPost, c.url(phoneNumberID, "messages"), token, req, &resp); err != nil {
		return "", err
	}
	if len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
		return "", fmt.Errorf("graph API send: the answer has no message id")
	}
	return resp.Messages[0].ID, nil
}

// MarkRead implements whatsapp.Graph.
func (c *Client) MarkRead(ctx context.Context, token, phoneNumberID, wamid string, typing bool) error {
	req := map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
	if typing {
		req["typing_indicator"] = map[string]string{"type": "text"}
	}
	return c.do(ctx, http.MethodPost, c.url(phoneNumberID, "messages"), token, req, nil)
}

type remoteTemplate struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Language       string          `json:"language"`
	Status         string          `json:"status"`
	Category       string          `json:"category"`
	RejectedReason string          `json:"rejected_reason"`
	Components     json.RawMessage `json:"components"`
}

// Templates implements whatsapp.Graph: every page, by the after cursor.
func (c *Client) Templates(ctx context.Context, token, wabaID string) ([]whatsapp.RemoteTemplate, error) {
	var out []whatsapp.RemoteTemplate
	q := url.Values{"limit": {"100"}, "fields": {"id,name,language,status,category,components,rejected_reason"}}
	err := eachPage(ctx, c, token, c.url(wabaID, "message_templates"), q, 1000, func(t remoteTemplate) {
		reason := t.RejectedReason
		if reason == "NONE" {
			reason = ""
		}
		out = append(out, whatsapp.RemoteTemplate{ID: t.ID, Name: t.Name, Language: t.Language,
			Category: strings.ToLower(t.Category), Status: strings.ToLower(t.Status), Reason: reason, Components: t.Components})
	})
	if err != nil {
		return nil, fmt.Errorf("graph API templates: %w", err)
	}
	return out, nil
}

// AccountNumbers implements whatsapp.Graph: GET /{waba-id}/phone_numbers,
// every page.
func (c *Client) AccountNumbers(ctx context.Context, token, wabaID string) ([]string, error) {
	var out []string
	q := url.Values{"limit": {"100"}, "fields": {"id"}}
	err := eachPage(ctx, c, token, c.url(wabaID, "phone_numbers"), q, 100, func(n struct {
		ID string `json:"id"`
	}) {
		out = append(out, n.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("graph API phone numbers: %w", err)
	}
	return out, nil
}

// eachPage GETs a Graph API list, following its after cursor to the last
// page (at most maxPages), and hands every item to add.
func eachPage[T any](ctx context.Context, c *Client, token, u string, q url.Values, maxPages int, add func(T)) error {
	after := ""
	for range maxPages {
		if after != "" {
			q.Set("after", after)
		}
		var resp struct {
			Data   []T `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := c.do(ctx, http.MethodGet, u+"?"+q.Encode(), token, nil, &resp); err != nil {
			return err
		}
		for _, item := range resp.Data {
			add(item)
		}
		if resp.Paging.Next == "" || resp.Paging.Cursors.After == "" || resp.Paging.Cursors.After == after {
			return nil
		}
		after = resp.Paging.Cursors.After
	}
	return errors.New("too many pages")
}

// CreateTemplate implements whatsapp.Graph.
func (c *Client) CreateTemplate(ctx context.Context, token, wabaID string, t whatsapp.RemoteTemplate) (whatsapp.RemoteTemplate, error) {
	req := map[string]any{"name": t.Name, "language": t.Language, "category": strings.ToUpper(t.Category),
		"components": t.Components}
	var resp struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Category string `json:"category"`
	}
	if err := c.do(ctx, http.MethodPost, c.url(wabaID, "message_templates"), token, req, &resp); err != nil {
		return whatsapp.RemoteTemplate{}, err
	}
	t.ID, t.Status = resp.ID, strings.ToLower(resp.Status)
	if resp.Category != "" {
		t.Category = strings.ToLower(resp.Category)
	}
	return t, nil
}

// DeleteTemplate implements whatsapp.Graph.
// Meta deletes every language of a name unless hsm_id names one.
func (c *Client) DeleteTemplate(ctx context.Context, token, wabaID, name, hsmID string) error {
	q := url.Values{"name": {name}}
	if hsmID != "" {
		q.Set("hsm_id", hsmID)
	}
	return c.do(ctx, http.MethodDelete, c.url(wabaID, "message_templates")+"?"+q.Encode(), token, nil, nil)
}

// Media implements whatsapp.Graph: the media's URL from GET /{media-id},
// then its bytes from that URL, both with the token.
func (c *Client) Media(ctx context.Context, token, mediaID string) (*whatsapp.MediaFile, error) {
	var meta struct {
		URL      string          `json:"url"`
		MimeType string          `json:"mime_type"`
		SHA256   string          `json:"sha256"`
		FileSize json.RawMessage `json:"file_size"`
	}
	if err := c.do(ctx, http.MethodGet, c.url(mediaID), token, nil, &meta); err != nil {
		return nil, err
	}
	u, err := url.Parse(meta.URL)
	if err != nil || u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("graph API media: no download URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, meta.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("graph API media download: %w", err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return nil, graphError(resp, data)
	}
	size, _ := strconv.ParseInt(strings.Trim(string(meta.FileSize), `"`), 10, 64)
	return &whatsapp.MediaFile{MimeType: meta.MimeType, SHA256: meta.SHA256, Size: size, Body: resp.Body}, nil
}

// PhoneNumber implements whatsapp.Graph.
func (c *Client) PhoneNumber(ctx context.Context, token, phoneNumberID string) (*whatsapp.NumberInfo, error) {
	var resp struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		VerifiedName       string `json:"verified_name"`
		QualityRating      string `json:"quality_rating"`
		Status             string `json:"status"`
	}
	q := url.Values{"fields": {"display_phone_number,verified_name,quality_rating,status"}}
	if err := c.do(ctx, http.MethodGet, c.url(phoneNumberID)+"?"+q.Encode(), token, nil, &resp); err != nil {
		return nil, err
	}
	return &whatsapp.NumberInfo{DisplayPhone: resp.DisplayPhoneNumber, VerifiedName: resp.VerifiedName,
		Status: resp.Status, QualityRating: resp.QualityRating}, nil
}
