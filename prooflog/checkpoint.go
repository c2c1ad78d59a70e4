package prooflog

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Reasons a checkpoint is written.
const (
	ReasonCount    = "count"    // CheckpointEvery records since the last one
	ReasonInterval = "interval" // CheckpointInterval passed with new entries
	ReasonRotation = "rotation" // last entry of a file before the next file
	ReasonClose    = "close"    // clean shutdown
	ReasonPrune    = "prune"    // retention removed entries up to CutSeq
)

// Checkpoint is the payload of a "checkpoint" entry: an Ed25519 signature
// over the chain head (the entry just before the checkpoint), in the manner
// of Certificate Transparency's signed tree heads. A prune checkpoint also
// signs the cut: the seq and line hash of the last entry removed, where a
// verifier of the remaining log starts.
type Checkpoint struct {
	Reason   string `json:"reason"`
	HeadSeq  uint64 `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	CutSeq   uint64 `json:"cut_seq,omitempty"`
	CutHash  string `json:"cut_hash,omitempty"`
	KeyID    string `json:"key_id"`
	Alg      string `json:"alg"`
	Sig      string `json:"sig"`
}

// signedMessage is what the signature covers, one "name=value" per line:
//
//	consentgate-checkpoint-v1
//	time=<entry time>
//	reason=<reason>
//	head_seq=<decimal>
//	head_hash=<hex>
//	cut_seq=<decimal, 0 when none>
//	cut_hash=<hex, empty when none>
//	key_id=<key id>
func (c *Checkpoint) signedMessage(at string) []byte {
	var b strings.Builder
	b.WriteString("consentgate-checkpoint-v1\n")
	b.WriteString("time=" + at + "\n")
	b.WriteString("reason=" + c.Reason + "\n")
	b.WriteString("head_seq=" + strconv.FormatUint(c.HeadSeq, 10) + "\n")
	b.WriteString("head_hash=" + c.HeadHash + "\n")
	b.WriteString("cut_seq=" + strconv.FormatUint(c.CutSeq, 10) + "\n")
	b.WriteString("cut_hash=" + c.CutHash + "\n")
	b.WriteString("key_id=" + c.KeyID + "\n")
	return []byte(b.String())
}

// wellFormed checks the checkpoint against its own entry: it must sign the
// entry just before it.
func (c *Checkpoint) wellFormed(e *Entry) error {
	if c.HeadSeq != e.Seq-1 || c.HeadHash != e.Prev {
		return fmt.Errorf("checkpoint at seq %d signs head %d/%s, not the entry before it", e.Seq, c.HeadSeq, c.HeadHash)
	}
	if c.Alg != AlgEd25519 {
		return fmt.Errorf("checkpoint algorithm %q, want %q", c.Alg, AlgEd25519)
	}
	switch c.Reason {
	case ReasonCount, ReasonInterval, ReasonRotation, ReasonClose:
		if c.CutSeq != 0 || c.CutHash != "" {
			return fmt.Errorf("%s checkpoint carries a cut", c.Reason)
		}
	case ReasonPrune:
		if c.CutSeq == 0 || !isHexHash(c.CutHash) || c.CutSeq > c.HeadSeq {
			return errors.New("prune checkpoint without a valid cut")
		}
	default:
		return fmt.Errorf("unknown checkpoint reason %q", c.Reason)
	}
	if c.KeyID == "" {
		return errors.New("checkpoint without a key ID")
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(c.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize || base64.StdEncoding.EncodeToString(sig) != c.Sig {
		return errors.New("checkpoint signature is not canonical base64 of 64 bytes")
	}
	return nil
}

// checkpointEntry builds and signs the checkpoint that follows head. The
// caller passes it to head.next with the same time.
func checkpointEntry(head chainHead, at time.Time, reason string, cut *chainHead, key *SigningKey) *Entry {
	c := &Checkpoint{
		Reason:   reason,
		HeadSeq:  head.seq,
		HeadHash: head.hash,
		KeyID:    key.id,
		Alg:      AlgEd25519,
	}
	if cut != nil {
		c.CutSeq, c.CutHash = cut.seq, cut.hash
	}
	c.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(key.priv, c.signedMessage(formatTime(at))))
	return &Entry{Kind: KindCheckpoint, Checkpoint: c}
}

// verifySignature checks c (in an entry with time at) against keys, which
// are indexed by key ID.
func (c *Checkpoint) verifySignature(at string, keys map[string]ed25519.PublicKey) error {
	pub, ok := keys[c.KeyID]
	if !ok {
		return fmt.Errorf("%w: checkpoint signed by key %s", ErrUnknownKey, c.KeyID)
	}
	sig, err := base64.StdEncoding.DecodeString(c.Sig)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if !ed25519.Verify(pub, c.signedMessage(at), sig) {
		return fmt.Errorf("%w: checkpoint signature does not verify with key %s", ErrBadSignature, c.KeyID)
	}
	return nil
}
