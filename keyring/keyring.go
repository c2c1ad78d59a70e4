// Package keyring keeps the gateway's long-lived secrets in Caddy's storage.
//
// A secret is created once, under the storage's lock, so that every instance
// sharing the storage (and every restart) reads the same value instead of
// forking its own. Callers hold the loaded bytes; nothing here caches them.
package keyring

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/caddyserver/certmagic"
)

// LoadOrCreate returns the value stored at key. When there is none, it calls
// create while holding the storage lock for key, stores the result and
// returns it. Another instance that raced for the same key waits on the lock
// and then loads the value the winner stored.
func LoadOrCreate(ctx context.Context, s certmagic.Storage, key string, create func() ([]byte, error)) ([]byte, error) {
	if v, err := s.Load(ctx, key); err == nil {
		return v, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("loading %s from storage: %w", key, err)
	}
	lock := "consentgate-" + key
	if err := s.Lock(ctx, lock); err != nil {
		return nil, fmt.Errorf("locking storage for %s: %w", key, err)
	}
	defer func() { _ = s.Unlock(context.WithoutCancel(ctx), lock) }()

	// Whoever held the lock before us may have created it meanwhile.
	if v, err := s.Load(ctx, key); err == nil {
		return v, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("loading %s from storage: %w", key, err)
	}
	v, err := create()
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", key, err)
	}
	if err := s.Store(ctx, key, v); err != nil {
		return nil, fmt.Errorf("storing %s: %w", key, err)
	}
	return v, nil
}
