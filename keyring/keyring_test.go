package keyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"

	"github.com/caddyserver/certmagic"
)

func newSecret() ([]byte, error) {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	return b, err
}

func TestLoadOrCreateIsCreatedOnceAcrossInstances(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	// Two storages on the same folder stand for two gateway instances.
	var got [8][]byte
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &certmagic.FileStorage{Path: dir}
			v, err := LoadOrCreate(ctx, s, "consentgate/secret", newSecret)
			if err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	for i := range got {
		if len(got[i]) != 32 || !bytes.Equal(got[i], got[0]) {
			t.Fatalf("instance %d read %x, instance 0 read %x: the secret forked", i, got[i], got[0])
		}
	}
	again, err := LoadOrCreate(ctx, &certmagic.FileStorage{Path: dir}, "consentgate/secret", func() ([]byte, error) {
		t.Fatal("create called although the secret exists")
		return nil, nil
	})
	if err != nil || !bytes.Equal(again, got[0]) {
		t.Fatalf("restart read %x, %v; want %x", again, err, got[0])
	}
}

func TestLoadOrCreateReportsCreateFailure(t *testing.T) {
	s := &certmagic.FileStorage{Path: t.TempDir()}
	boom := errors.New("no entropy")
	_, err := LoadOrCreate(context.Background(), s, "k", func() ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	if s.Exists(context.Background(), "k") {
		t.Fatal("a failed create left a value behind")
	}
}
