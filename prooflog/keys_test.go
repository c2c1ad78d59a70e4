package prooflog

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/certmagic"
)

func TestKeyringCreatesOneKeyForAllInstances(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	ids := make([]string, 3)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kr := &Keyring{Storage: &certmagic.FileStorage{Path: dir}}
			k, err := kr.SigningKey(ctx)
			if err != nil {
				t.Errorf("instance %d: %v", i, err)
				return
			}
			ids[i] = k.ID()
		}()
	}
	wg.Wait()
	for i := range ids {
		if ids[i] == "" || ids[i] != ids[0] {
			t.Fatalf("instances got key IDs %v: the key forked", ids)
		}
	}
}

func TestKeyRotationKeepsOldPublicKeys(t *testing.T) {
	ctx := context.Background()
	kr := &Keyring{Storage: &certmagic.FileStorage{Path: t.TempDir()}}
	old, err := kr.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kr.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := kr.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cur.ID() != pub.KeyID || cur.ID() == old.ID() {
		t.Fatalf("after Rotate signing with %s, want the new key %s (old %s)", cur.ID(), pub.KeyID, old.ID())
	}
	keys, err := kr.PublicKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] != old.Public() || keys[1] != pub {
		t.Fatalf("PublicKeys = %+v, want the old then the new key", keys)
	}
}

func TestPublicKeysDocumentRoundTrips(t *testing.T) {
	k1, _ := GenerateSigningKey()
	k2, _ := GenerateSigningKey()
	doc, err := MarshalPublicKeys([]PublicKey{k1.Public(), k2.Public()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), `"alg": "ed25519"`) {
		t.Fatalf("document lacks the algorithm: %s", doc)
	}
	got, err := ParsePublicKeys(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != k1.Public() || got[1] != k2.Public() {
		t.Fatalf("round trip gave %+v", got)
	}
	one, err := ParsePublicKeys([]byte(`{"key_id":"` + k1.ID() + `","alg":"ed25519","public_key":"` + k1.Public().PublicKey + `"}`))
	if err != nil || len(one) != 1 {
		t.Fatalf("a single key object: %v, %v", one, err)
	}
}

func TestParsePublicKeysRejects(t *testing.T) {
	k, _ := GenerateSigningKey()
	other, _ := GenerateSigningKey()
	p := k.Public()
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"a key whose ID is not its own", `{"keys":[{"key_id":"` + other.ID() + `","alg":"ed25519","public_key":"` + p.PublicKey + `"}]}`, "claims ID"},
		{"another algorithm", `{"keys":[{"key_id":"` + p.KeyID + `","alg":"rsa","public_key":"` + p.PublicKey + `"}]}`, "algorithm"},
		{"a short key", `{"keys":[{"key_id":"x","alg":"ed25519","public_key":"AAAA"}]}`, "bytes"},
		{"not JSON", `nope`, "parsing public keys"},
		{"an empty object", `{}`, "want"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePublicKeys([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParsePublicKeys = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestPublicKeysCreatesNothing(t *testing.T) {
	s := &certmagic.FileStorage{Path: t.TempDir()}
	_, err := PublicKeys(context.Background(), s, "")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("PublicKeys on empty storage = %v, want fs.ErrNotExist", err)
	}
	if s.Exists(context.Background(), DefaultKeyStorageKey) {
		t.Fatal("PublicKeys created a key")
	}
}
