package conversation

// Apply changes c as u says: the rules of an update, which every store
// persists and none computes. Fields u leaves nil stay. Variables merge
// by name: a variable with a nil Value removes that name, any other
// replaces it whole (its Type and Source with it), and names u does not
// mention are kept. UpdatedAt only moves forward, so a late writer cannot
// make a conversation look older. Apply reports whether a field the
// customer search document is built from changed, so the store knows to
// rewrite that document.
func (c *Conversation) Apply(u Update) (reindex bool) {
	if u.AIEnabled != nil {
		c.AIEnabled = *u.AIEnabled
	}
	if u.Customer != nil {
		c.Customer, reindex = *u.Customer, true
	}
	if u.ExternalIdentifier != nil {
		c.ExternalIdentifier, reindex = *u.ExternalIdentifier, true
	}
	if u.Status != nil {
		c.Status = *u.Status
	}
	if u.EndedAt != nil {
		at := u.EndedAt.UTC()
		c.EndedAt = &at
	}
	if u.Variables != nil {
		c.Variables = MergeVariables(c.Variables, u.Variables)
	}
	if u.UpdatedAt.After(c.UpdatedAt) {
		c.UpdatedAt = u.UpdatedAt.UTC()
	}
	return reindex
}

// MergeVariables returns the variables of have changed by set: a nil
// Value removes the name, any other value replaces it. have is not
// modified; the result is never nil, so it stores as an empty object.
func MergeVariables(have, set map[string]Variable) map[string]Variable {
	out := make(map[string]Variable, len(have)+len(set))
	for name, v := range have {
		out[name] = v
	}
	for name, v := range set {
		if v.Value == nil {
			delete(out, name)
		} else {
			out[name] = v
		}
	}
	return out
}

// Message delivery statuses of outbound channel messages, in the order a
// message moves through them. Failed is terminal.
const (
	MessagePending   = "pending"
	MessageSent      = "sent"
	MessageDelivered = "delivered"
	MessageRead      = "read"
	MessageFailed    = "failed"
)

// statusRank orders the forward statuses; failed is handled apart.
var statusRank = map[string]int{MessagePending: 1, MessageSent: 2, MessageDelivered: 3, MessageRead: 4}

// NextStatus returns the status a message with status current takes when
// reported is reported for it (a channel's receipt), and whether that is a
// change. Statuses only move forward — pending, sent, delivered, read —
// and may skip steps, because receipts arrive late and out of order (a
// "delivered" after a "read" must not make a read message unread). Failed
// ends a message that was not yet read; nothing leaves failed. An unknown
// reported status changes nothing. An empty current status counts as
// pending.
func NextStatus(current, reported string) (string, bool) {
	if current == "" {
		current = MessagePending
	}
	if current == MessageFailed {
		return current, false
	}
	if reported == MessageFailed {
		if current == MessageRead {
			return current, false
		}
		return MessageFailed, true
	}
	have, ok := statusRank[current]
	want, known := statusRank[reported]
	if !ok || !known || want <= have {
		return current, false
	}
	return reported, true
}

// CountChange returns the change to a workspace's conversation counts
// when the conversations in created are stored and those counted in
// deleted (as DeleteConversations reports them) are gone: each counts
// once in its type and in the total. Stores add it to their maintained
// counters (AddCounts) in the transaction of the change, so the counters
// and the rows agree.
func CountChange(created []*Conversation, deleted Counts) Counts {
	d := NewCounts()
	for _, c := range created {
		d.Add(c.Type, 1)
	}
	for typ, n := range deleted.ByType {
		d.Add(typ, -n)
	}
	return d
}
