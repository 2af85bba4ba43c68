package events

import "testing"

// TestPosID: an id names its position, with and without a transaction;
// ids that Pos.ID cannot make are refused; positions order by
// transaction, then sequence number.
func TestPosID(t *testing.T) {
	for _, p := range []Pos{{Seq: 1}, {Seq: 1 << 40}, {Tx: 7, Seq: 3}, {Tx: 1 << 62, Seq: 1 << 62}} {
		got, ok := ParseID(p.ID())
		if !ok || got != p {
			t.Errorf("ParseID(%q) = %v, %v; want %v", p.ID(), got, ok, p)
		}
	}
	if id := (Pos{Tx: 7, Seq: 3}).ID(); id != "evt_00000000000000070000000000000003" {
		t.Errorf("id %q", id)
	}
	for _, id := range []string{"", "evt_", "evt_1", "evt_000000000000000A", "evt_00000000000000000000000000000003",
		"evt_000000000000000700000000000000", "evt_ffffffffffffffff", "msg_0000000000000001", "evt_000000000000000x"} {
		if p, ok := ParseID(id); ok {
			t.Errorf("ParseID(%q) = %v, accepted", id, p)
		}
	}
	order := []Pos{{Seq: 5}, {Seq: 900}, {Tx: 2, Seq: 1}, {Tx: 2, Seq: 4}, {Tx: 3, Seq: 2}}
	for i := range order {
		for j := range order {
			if order[i].Less(order[j]) != (i < j) {
				t.Errorf("%v.Less(%v) = %v", order[i], order[j], order[i].Less(order[j]))
			}
		}
	}
}
