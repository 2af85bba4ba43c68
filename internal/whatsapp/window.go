package whatsapp

import "time"

// WindowLength is WhatsApp's customer service window: free-form messages
// may be sent for 24 hours after the customer's latest message; after it
// only templates.
const WindowLength = 24 * time.Hour

// Window is the state of a conversation's customer service window.
type Window struct {
	IsOpen                bool
	ExpiresAt             *time.Time
	MinutesRemaining      int
	LastCustomerMessageAt *time.Time
	CanSendFreeform       bool
	RequiresTemplate      bool
}

// WindowAt is the window at now, given the timestamp of the customer's
// latest inbound message (nil: they never wrote, so it is closed).
// Minutes remaining round down: a window with 30 s left shows 0 and is
// still open.
func WindowAt(lastCustomer *time.Time, now time.Time) Window {
	if lastCustomer == nil {
		return Window{RequiresTemplate: true}
	}
	last := lastCustomer.UTC()
	exp := last.Add(WindowLength)
	w := Window{LastCustomerMessageAt: &last, ExpiresAt: &exp}
	if now.Before(exp) {
		w.IsOpen, w.CanSendFreeform = true, true
		w.MinutesRemaining = int(exp.Sub(now) / time.Minute)
	} else {
		w.RequiresTemplate = true
	}
	return w
}
