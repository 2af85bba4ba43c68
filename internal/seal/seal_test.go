package seal

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestSealOpens(t *testing.T) {
	ctx := context.Background()
	b := New([]byte("instance secret"))
	s, err := b.Seal(ctx, "my identity secret", "asst_1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s, "identity") {
		t.Fatalf("sealed value shows the plain text: %s", s)
	}
	if got, err := b.Open(ctx, s, "asst_1"); err != nil || got != "my identity secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, _ := b.Seal(ctx, "my identity secret", "asst_1")
	if again == s {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	flipped := []byte(s)
	flipped[len(flipped)-2] ^= 1
	for name, tc := range map[string]struct {
		box      *Box
		val, aad string
	}{
		"other row":  {b, s, "asst_2"},
		"other key":  {New([]byte("another secret")), s, "asst_1"},
		"altered":    {b, string(flipped), "asst_1"},
		"not sealed": {b, "plain", "asst_1"},
		"bad base64": {b, "v1:***", "asst_1"},
		"too short":  {b, "v1:AAAA", "asst_1"},
	} {
		if _, err := tc.box.Open(ctx, tc.val, tc.aad); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

// A key that cannot be read now is read again on the next call.
func TestSealRetriesTheKey(t *testing.T) {
	calls := 0
	b := &Box{Key: func(context.Context) ([]byte, error) {
		calls++
		if calls == 1 {
			return nil, errors.New("database down")
		}
		return []byte("k"), nil
	}}
	if _, err := b.Seal(context.Background(), "x", "a"); err == nil {
		t.Fatal("sealed without a key")
	}
	if _, err := b.Seal(context.Background(), "x", "a"); err != nil {
		t.Fatal(err)
	}
}
