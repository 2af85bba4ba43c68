// Package seal encrypts the secrets Parley keeps for its users (an
// assistant's widget identity secret) with a key derived from the
// instance's secret key, so a copy of the database alone does not give
// them away. It is AES-256-GCM with a random nonce, and each sealed value
// is bound to what it belongs to (the additional data), so a value copied
// onto another row does not open.
package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// prefix starts every sealed value; a later format gets another.
const prefix = "v1:"

// ErrOpen is returned for a value that is not one this box sealed with
// the same key and additional data.
var ErrOpen = errors.New("seal: the value cannot be opened with this key")

// Box seals and opens values. The key is read once, when it is first
// needed, from Key; a failed read is tried again next time.
type Box struct {
	// Key returns the instance's secret key (PARLEY_SECRET_KEY, or the
	// one generated into the database).
	Key func(ctx context.Context) ([]byte, error)

	mu   sync.Mutex
	aead cipher.AEAD
}

// New returns a box whose key is derived from secret at once.
func New(secret []byte) *Box {
	return &Box{Key: func(context.Context) ([]byte, error) { return secret, nil }}
}

// Derive returns a key for one purpose from the instance secret, so that
// no two uses of the secret (cursors, sessions, encryption) share a key.
func Derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("parley " + purpose))
	return m.Sum(nil)
}

func (b *Box) cipher(ctx context.Context) (cipher.AEAD, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.aead != nil {
		return b.aead, nil
	}
	if b.Key == nil {
		return nil, errors.New("seal: no key")
	}
	secret, err := b.Key(ctx)
	if err != nil {
		return nil, fmt.Errorf("seal: read the secret key: %w", err)
	}
	if len(secret) == 0 {
		return nil, errors.New("seal: the secret key is empty")
	}
	block, err := aes.NewCipher(Derive(secret, "seal v1"))
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	b.aead = aead
	return aead, nil
}

// Seal encrypts plain, bound to aad (what the value belongs to, e.g. the
// id of its row), and returns it as text.
func (b *Box) Seal(ctx context.Context, plain, aad string) (string, error) {
	aead, err := b.cipher(ctx)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: nonce: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(plain), []byte(aad))
	return prefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal made with the same aad; anything else
// (altered, another key, another row) is ErrOpen.
func (b *Box) Open(ctx context.Context, sealed, aad string) (string, error) {
	aead, err := b.cipher(ctx)
	if err != nil {
		return "", err
	}
	body, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", ErrOpen
	}
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", ErrOpen
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], []byte(aad))
	if err != nil {
		return "", ErrOpen
	}
	return string(plain), nil
}
