package prooflog

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/consentgate/consentgate/keyring"
)

// AlgEd25519 is the only signature algorithm checkpoints use.
const AlgEd25519 = "ed25519"

// DefaultKeyStorageKey is where Keyring keeps the signing keys in Caddy's
// storage when Keyring.Key is empty.
const DefaultKeyStorageKey = "consentgate/prooflog/signing-keys.json"

// PublicKey is a checkpoint verification key as auditors receive it:
// {"key_id":"…","alg":"ed25519","public_key":"<standard base64>"}.
type PublicKey struct {
	KeyID     string `json:"key_id"`
	Algorithm string `json:"alg"`
	PublicKey string `json:"public_key"`
}

// keyID derives a key's ID: the first 8 bytes of SHA-256 of the public
// key, in hex.
func keyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// ed25519Key decodes p and checks that its ID is the one derived from it.
func (p PublicKey) ed25519Key() (ed25519.PublicKey, error) {
	if p.Algorithm != AlgEd25519 {
		return nil, fmt.Errorf("public key %s: algorithm %q, want %q", p.KeyID, p.Algorithm, AlgEd25519)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(p.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", p.KeyID, err)
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key %s: %d bytes, want %d", p.KeyID, len(raw), ed25519.PublicKeySize)
	}
	pub := ed25519.PublicKey(raw)
	if id := keyID(pub); id != p.KeyID {
		return nil, fmt.Errorf("public key claims ID %s but its bytes give ID %s", p.KeyID, id)
	}
	return pub, nil
}

// publicKeySet is the exported document: {"keys":[…]}.
type publicKeySet struct {
	Keys []PublicKey `json:"keys"`
}

// MarshalPublicKeys renders keys as the JSON document auditors receive:
// {"keys":[{"key_id":…,"alg":"ed25519","public_key":…},…]}.
func MarshalPublicKeys(keys []PublicKey) ([]byte, error) {
	if keys == nil {
		keys = []PublicKey{}
	}
	b, err := json.MarshalIndent(publicKeySet{Keys: keys}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding public keys: %w", err)
	}
	return append(b, '\n'), nil
}

// ParsePublicKeys reads a document made by MarshalPublicKeys, or a single
// key object, and checks every key.
func ParsePublicKeys(data []byte) ([]PublicKey, error) {
	var set publicKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("parsing public keys: %w", err)
	}
	if set.Keys == nil {
		var one PublicKey
		if err := json.Unmarshal(data, &one); err != nil || one.KeyID == "" {
			return nil, errors.New(`parsing public keys: want {"keys":[…]} or one {"key_id":…} object`)
		}
		set.Keys = []PublicKey{one}
	}
	for _, k := range set.Keys {
		if _, err := k.ed25519Key(); err != nil {
			return nil, fmt.Errorf("parsing public keys: %w", err)
		}
	}
	return set.Keys, nil
}

// SigningKey is an Ed25519 private key with its key ID. A SigningKey is
// also a KeySource that always returns itself.
type SigningKey struct {
	id   string
	priv ed25519.PrivateKey
}

// NewSigningKey wraps priv.
func NewSigningKey(priv ed25519.PrivateKey) *SigningKey {
	return &SigningKey{id: keyID(priv.Public().(ed25519.PublicKey)), priv: priv}
}

// GenerateSigningKey makes a fresh random key.
func GenerateSigningKey() (*SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating ed25519 key: %w", err)
	}
	return NewSigningKey(priv), nil
}

// ID returns the key ID.
func (k *SigningKey) ID() string { return k.id }

// Public returns the verification key.
func (k *SigningKey) Public() PublicKey {
	return PublicKey{
		KeyID:     k.id,
		Algorithm: AlgEd25519,
		PublicKey: base64.StdEncoding.EncodeToString(k.priv.Public().(ed25519.PublicKey)),
	}
}

// SigningKey returns k itself.
func (k *SigningKey) SigningKey(context.Context) (*SigningKey, error) { return k, nil }

// KeySource hands the sinks the key to sign the next checkpoint with. It is
// asked at every checkpoint, so a rotated key takes effect at the next one.
type KeySource interface {
	SigningKey(ctx context.Context) (*SigningKey, error)
}

// Keyring keeps the signing keys in Caddy's storage, created once under the
// storage lock (see package keyring) so every instance sharing the storage
// signs with the same key. Rotate adds a key; older public keys stay in the
// set so checkpoints they signed still verify.
type Keyring struct {
	// Storage is Caddy's storage (ctx.Storage()).
	Storage certmagic.Storage
	// Key is the storage key; DefaultKeyStorageKey when empty.
	Key string
}

// storedKey is one key in the stored key set.
type storedKey struct {
	KeyID     string `json:"key_id"`
	Algorithm string `json:"alg"`
	PublicKey string `json:"public_key"`
	Seed      string `json:"seed"`
	Created   string `json:"created"`
}

// storedKeySet is the document kept in storage.
type storedKeySet struct {
	Version int         `json:"version"`
	Current string      `json:"current"`
	Keys    []storedKey `json:"keys"`
}

func (kr *Keyring) key() string {
	if kr.Key == "" {
		return DefaultKeyStorageKey
	}
	return kr.Key
}

func newStoredKey() (storedKey, error) {
	k, err := GenerateSigningKey()
	if err != nil {
		return storedKey{}, err
	}
	pub := k.Public()
	return storedKey{
		KeyID:     pub.KeyID,
		Algorithm: AlgEd25519,
		PublicKey: pub.PublicKey,
		Seed:      base64.StdEncoding.EncodeToString(k.priv.Seed()),
		Created:   formatTime(time.Now()),
	}, nil
}

func newKeySetJSON() ([]byte, error) {
	k, err := newStoredKey()
	if err != nil {
		return nil, err
	}
	return json.Marshal(storedKeySet{Version: 1, Current: k.KeyID, Keys: []storedKey{k}})
}

func (kr *Keyring) load(ctx context.Context) (*storedKeySet, error) {
	if kr.Storage == nil {
		return nil, errors.New("keyring: no storage configured")
	}
	raw, err := keyring.LoadOrCreate(ctx, kr.Storage, kr.key(), newKeySetJSON)
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint signing keys: %w", err)
	}
	return parseKeySet(raw, kr.key())
}

func parseKeySet(raw []byte, where string) (*storedKeySet, error) {
	var set storedKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("parsing signing keys at %s: %w", where, err)
	}
	if set.Version != 1 || len(set.Keys) == 0 {
		return nil, fmt.Errorf("signing keys at %s: unsupported version %d or no keys", where, set.Version)
	}
	return &set, nil
}

func (s *storedKey) signingKey() (*SigningKey, error) {
	if s.Algorithm != AlgEd25519 {
		return nil, fmt.Errorf("signing key %s: algorithm %q", s.KeyID, s.Algorithm)
	}
	seed, err := base64.StdEncoding.DecodeString(s.Seed)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("signing key %s: bad seed", s.KeyID)
	}
	k := NewSigningKey(ed25519.NewKeyFromSeed(seed))
	if k.id != s.KeyID {
		return nil, fmt.Errorf("signing key %s: seed gives key ID %s", s.KeyID, k.id)
	}
	return k, nil
}

// SigningKey returns the current signing key, creating the key set in
// storage on first use.
func (kr *Keyring) SigningKey(ctx context.Context) (*SigningKey, error) {
	set, err := kr.load(ctx)
	if err != nil {
		return nil, err
	}
	for i := range set.Keys {
		if set.Keys[i].KeyID == set.Current {
			return set.Keys[i].signingKey()
		}
	}
	return nil, fmt.Errorf("signing keys at %s: current key %s is not in the set", kr.key(), set.Current)
}

// PublicKeys returns every verification key, oldest first. It creates
// nothing: with no key set in storage it returns an error wrapping
// fs.ErrNotExist.
func (kr *Keyring) PublicKeys(ctx context.Context) ([]PublicKey, error) {
	if kr.Storage == nil {
		return nil, errors.New("keyring: no storage configured")
	}
	raw, err := kr.Storage.Load(ctx, kr.key())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no checkpoint signing keys at %s in this storage (nothing signed yet, or another storage): %w", kr.key(), err)
	} else if err != nil {
		return nil, fmt.Errorf("loading %s: %w", kr.key(), err)
	}
	set, err := parseKeySet(raw, kr.key())
	if err != nil {
		return nil, err
	}
	out := make([]PublicKey, 0, len(set.Keys))
	for _, k := range set.Keys {
		out = append(out, PublicKey{KeyID: k.KeyID, Algorithm: k.Algorithm, PublicKey: k.PublicKey})
	}
	return out, nil
}

// Rotate makes a new signing key current; checkpoints from the next one on
// are signed with it. The old keys stay in the set for verification. It
// holds the same storage lock keyring.LoadOrCreate uses.
func (kr *Keyring) Rotate(ctx context.Context) (PublicKey, error) {
	if _, err := kr.load(ctx); err != nil {
		return PublicKey{}, err
	}
	lock := "consentgate-" + kr.key()
	if err := kr.Storage.Lock(ctx, lock); err != nil {
		return PublicKey{}, fmt.Errorf("locking storage for %s: %w", kr.key(), err)
	}
	defer func() { _ = kr.Storage.Unlock(context.WithoutCancel(ctx), lock) }()
	raw, err := kr.Storage.Load(ctx, kr.key())
	if errors.Is(err, fs.ErrNotExist) {
		return PublicKey{}, fmt.Errorf("signing keys at %s vanished during rotation", kr.key())
	} else if err != nil {
		return PublicKey{}, fmt.Errorf("loading %s: %w", kr.key(), err)
	}
	set, err := parseKeySet(raw, kr.key())
	if err != nil {
		return PublicKey{}, err
	}
	k, err := newStoredKey()
	if err != nil {
		return PublicKey{}, err
	}
	set.Keys = append(slices.Clone(set.Keys), k)
	set.Current = k.KeyID
	out, err := json.Marshal(set)
	if err != nil {
		return PublicKey{}, fmt.Errorf("encoding signing keys: %w", err)
	}
	if err := kr.Storage.Store(ctx, kr.key(), out); err != nil {
		return PublicKey{}, fmt.Errorf("storing %s: %w", kr.key(), err)
	}
	return PublicKey{KeyID: k.KeyID, Algorithm: k.Algorithm, PublicKey: k.PublicKey}, nil
}

// PublicKeys exports the checkpoint verification keys kept in Caddy's
// storage at key (DefaultKeyStorageKey when empty), for auditors.
func PublicKeys(ctx context.Context, storage certmagic.Storage, key string) ([]PublicKey, error) {
	return (&Keyring{Storage: storage, Key: key}).PublicKeys(ctx)
}
