package whatsapp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// sealPrefix marks the format of a sealed token, so a later format can
// be told apart.
const sealPrefix = "v1:"

// Sealer encrypts access tokens at rest with AES-256-GCM, under a key
// derived (HKDF-SHA256) from the instance secret key: a copy of the
// database alone does not give away the tokens.
type Sealer struct{ aead cipher.AEAD }

// NewSealer derives the token key from the instance secret.
func NewSealer(secret string) (*Sealer, error) {
	if secret == "" {
		return nil, errors.New("no secret key to encrypt tokens with")
	}
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, "parley whatsapp access token v1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive token key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts a token; the sender id is bound in as associated data,
// so a sealed token copied to another sender does not open.
func (s *Sealer) Seal(token, senderID string) string {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, []byte(token), []byte(senderID))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a sealed token of a sender.
func (s *Sealer) Open(sealed, senderID string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", errors.New("sealed token: unknown format")
	}
	b, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("sealed token: malformed")
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(senderID))
	if err != nil {
		return "", errors.New("sealed token: cannot decrypt (was PARLEY_SECRET_KEY changed?)")
	}
	return string(plain), nil
}
