package ids

import (
	"testing"
	"time"
)

func TestNewAtCarriesItsTime(t *testing.T) {
	at := time.Date(2030, 6, 1, 12, 0, 0, 123e6, time.UTC)
	a, b := NewAt(Message, at), NewAt(Message, at)
	if !HasPrefix(a, Message) || a >= b {
		t.Fatalf("ids %s, %s: want msg_ ids, increasing within one millisecond", a, b)
	}
	got, err := Time(a)
	if err != nil || !got.Equal(at) {
		t.Fatalf("Time(%s) = %v, %v; want %v", a, got, err, at)
	}
	for _, bad := range []string{"", "msg", "msg_x", "msg_" + a[4:] + "0"} {
		if _, err := Time(bad); err == nil {
			t.Errorf("Time(%q) accepted a malformed id", bad)
		}
	}
}
