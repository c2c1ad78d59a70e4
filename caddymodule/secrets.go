package caddymodule

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/consentgate/consentgate/consent"
	"github.com/consentgate/consentgate/keyring"
)

// secretStorageKey is where a generated root secret is kept in Caddy's
// storage.
const secretStorageKey = "consentgate/secret"

// secretSource derives the consent keys from the configured secret, or
// from one generated once into Caddy's storage. It loads lazily, on the
// first request that needs a key, so `caddy validate` creates nothing;
// a failure is retried on the next request.
type secretSource struct {
	storage  certmagic.Storage
	static   []byte
	previous [][]byte
	template consent.Codec

	mu    sync.Mutex
	codec atomic.Pointer[consent.Codec]
}

func (s *secretSource) get(ctx context.Context) (*consent.Codec, error) {
	if c := s.codec.Load(); c != nil {
		return c, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.codec.Load(); c != nil {
		return c, nil
	}
	secret := s.static
	if secret == nil {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var err error
		secret, err = keyring.LoadOrCreate(ctx, s.storage, secretStorageKey, func() ([]byte, error) {
			b := make([]byte, 32)
			_, err := rand.Read(b)
			return b, err
		})
		if err != nil {
			return nil, fmt.Errorf("consent secret: %w", err)
		}
	}
	keys, err := consent.DeriveKeys(secret, s.previous...)
	if err != nil {
		return nil, fmt.Errorf("consent secret: %w", err)
	}
	c := s.template
	c.Keys = keys
	s.codec.Store(&c)
	return &c, nil
}
