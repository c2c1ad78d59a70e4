package prooflog

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckpointSignatureCoversEverySignedField(t *testing.T) {
	k := testKey()
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	head := chainHead{seq: 41, hash: strings.Repeat("ab", 32)}
	e := checkpointEntry(head, at, ReasonPrune, &chainHead{seq: 7, hash: strings.Repeat("cd", 32)}, k,
		cpMeta{prev: chainHead{seq: 30, hash: strings.Repeat("ef", 32)}, file: "consent-a.jsonl", every: 10, intervalMS: 60000})
	keys := map[string]ed25519.PublicKey{k.ID(): k.priv.Public().(ed25519.PublicKey)}
	ts := formatTime(at)
	if err := e.Checkpoint.verifySignature(ts, SchemaVersion, keys); err != nil {
		t.Fatalf("fresh checkpoint does not verify: %v", err)
	}
	tests := []struct {
		name string
		edit func(c *Checkpoint) string
	}{
		{"the time", func(c *Checkpoint) string { return formatTime(at.Add(time.Millisecond)) }},
		{"the head seq", func(c *Checkpoint) string { c.HeadSeq++; return ts }},
		{"the head hash", func(c *Checkpoint) string { c.HeadHash = strings.Repeat("00", 32); return ts }},
		{"the cut seq", func(c *Checkpoint) string { c.CutSeq--; return ts }},
		{"the cut hash", func(c *Checkpoint) string { c.CutHash = strings.Repeat("00", 32); return ts }},
		{"the reason", func(c *Checkpoint) string { c.Reason = ReasonClose; return ts }},
		{"the previous checkpoint's seq", func(c *Checkpoint) string { c.PrevCPSeq--; return ts }},
		{"the previous checkpoint's hash", func(c *Checkpoint) string { c.PrevCPHash = strings.Repeat("00", 32); return ts }},
		{"the file", func(c *Checkpoint) string { c.File = "consent-b.jsonl"; return ts }},
		{"the next file", func(c *Checkpoint) string { c.NextFile = "consent-b.jsonl"; return ts }},
		{"the count policy", func(c *Checkpoint) string { c.Every++; return ts }},
		{"the interval policy", func(c *Checkpoint) string { c.IntervalMS++; return ts }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := *e.Checkpoint
			at := tc.edit(&c)
			if err := c.verifySignature(at, SchemaVersion, keys); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("changing %s: verify = %v, want ErrBadSignature", tc.name, err)
			}
		})
	}
	t.Run("another key ID", func(t *testing.T) {
		c := *e.Checkpoint
		c.KeyID = "0011223344556677"
		if err := c.verifySignature(ts, SchemaVersion, keys); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("verify = %v, want ErrUnknownKey", err)
		}
	})
}
