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
	// Version 2 reasons.
	ReasonOpen   = "open"   // the writer opened the log (after a clean close or a crash)
	ReasonPolicy = "policy" // the checkpoint policy changed (config reload)
)

// cpMeta is what a version 2 checkpoint signs besides the head and cut.
type cpMeta struct {
	prev       chainHead // the previous checkpoint (seq 0 when none)
	file       string    // the file the checkpoint is written in ("" for PostgreSQL)
	nextFile   string    // rotation: the file the chain continues in
	every      int       // checkpoint policy: at most this many decisions and texts between checkpoints (0: none)
	intervalMS int64     // checkpoint policy: time-based checkpoints, in milliseconds (0: none)
}

// Checkpoint is the payload of a "checkpoint" entry: an Ed25519 signature
// over the chain head (the entry just before the checkpoint), in the manner
// of Certificate Transparency's signed tree heads. A prune checkpoint also
// signs the cut: the seq and line hash of the last entry removed, where a
// verifier of the remaining log starts.
type Checkpoint struct {
	Reason   string `json:"reason"`
	HeadSeq  uint64 `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	// Version 2: the previous checkpoint (absent for the first), the file
	// the checkpoint is in (file log), the next file (rotation) and the
	// policy in force until the next checkpoint.
	PrevCPSeq  uint64 `json:"prev_cp_seq,omitempty"`
	PrevCPHash string `json:"prev_cp_hash,omitempty"`
	File       string `json:"file,omitempty"`
	NextFile   string `json:"next_file,omitempty"`
	Every      int    `json:"every,omitempty"`
	IntervalMS int64  `json:"interval_ms,omitempty"`
	CutSeq     uint64 `json:"cut_seq,omitempty"`
	CutHash    string `json:"cut_hash,omitempty"`
	KeyID      string `json:"key_id"`
	Alg        string `json:"alg"`
	Sig        string `json:"sig"`
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
//
// Version 2 signs "consentgate-checkpoint-v2" and, after head_hash,
// prev_cp_seq, prev_cp_hash, file, next_file, every and interval_ms.
func (c *Checkpoint) signedMessage(at string, v int) []byte {
	var b strings.Builder
	if v >= 2 {
		b.WriteString("consentgate-checkpoint-v2\n")
	} else {
		b.WriteString("consentgate-checkpoint-v1\n")
	}
	b.WriteString("time=" + at + "\n")
	b.WriteString("reason=" + c.Reason + "\n")
	b.WriteString("head_seq=" + strconv.FormatUint(c.HeadSeq, 10) + "\n")
	b.WriteString("head_hash=" + c.HeadHash + "\n")
	if v >= 2 {
		b.WriteString("prev_cp_seq=" + strconv.FormatUint(c.PrevCPSeq, 10) + "\n")
		b.WriteString("prev_cp_hash=" + c.PrevCPHash + "\n")
		b.WriteString("file=" + c.File + "\n")
		b.WriteString("next_file=" + c.NextFile + "\n")
		b.WriteString("every=" + strconv.Itoa(c.Every) + "\n")
		b.WriteString("interval_ms=" + strconv.FormatInt(c.IntervalMS, 10) + "\n")
	}
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
	if e.V < 2 {
		if c.PrevCPSeq != 0 || c.PrevCPHash != "" || c.File != "" || c.NextFile != "" || c.Every != 0 || c.IntervalMS != 0 {
			return errors.New("version 1 checkpoint with version 2 fields")
		}
		if c.Reason == ReasonOpen || c.Reason == ReasonPolicy {
			return fmt.Errorf("version 1 checkpoint with the version 2 reason %q", c.Reason)
		}
	} else {
		if (c.PrevCPSeq == 0) != (c.PrevCPHash == "") || (c.PrevCPHash != "" && !isHexHash(c.PrevCPHash)) || c.PrevCPSeq >= e.Seq {
			return errors.New("checkpoint names an invalid previous checkpoint")
		}
		if c.Every < 0 || c.IntervalMS < 0 {
			return errors.New("checkpoint with a negative policy")
		}
		if (c.Reason == ReasonRotation) != (c.NextFile != "") {
			return errors.New("next_file belongs in rotation checkpoints, and only there")
		}
	}
	switch c.Reason {
	case ReasonCount, ReasonInterval, ReasonRotation, ReasonClose, ReasonOpen, ReasonPolicy:
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

// checkpointEntry builds and signs the (version 2) checkpoint that follows
// head. The caller passes it to head.next with the same time.
func checkpointEntry(head chainHead, at time.Time, reason string, cut *chainHead, key *SigningKey, m cpMeta) *Entry {
	c := &Checkpoint{
		Reason:     reason,
		HeadSeq:    head.seq,
		HeadHash:   head.hash,
		PrevCPSeq:  m.prev.seq,
		File:       m.file,
		NextFile:   m.nextFile,
		Every:      max(m.every, 0),
		IntervalMS: max(m.intervalMS, 0),
		KeyID:      key.id,
		Alg:        AlgEd25519,
	}
	if m.prev.seq != 0 {
		c.PrevCPHash = m.prev.hash
	}
	if cut != nil {
		c.CutSeq, c.CutHash = cut.seq, cut.hash
	}
	c.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(key.priv, c.signedMessage(formatTime(at), SchemaVersion)))
	return &Entry{Kind: KindCheckpoint, Checkpoint: c}
}

// policyOf returns the checkpoint policy a writer with these settings
// announces: every and interval in milliseconds, 0 when disabled.
func policyOf(every int, interval time.Duration) (int, int64) {
	return max(every, 0), max(interval.Milliseconds(), 0)
}

// verifySignature checks c (in an entry of version v with time at) against
// keys, which are indexed by key ID.
func (c *Checkpoint) verifySignature(at string, v int, keys map[string]ed25519.PublicKey) error {
	pub, ok := keys[c.KeyID]
	if !ok {
		return fmt.Errorf("%w: checkpoint signed by key %s", ErrUnknownKey, c.KeyID)
	}
	sig, err := base64.StdEncoding.DecodeString(c.Sig)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if !ed25519.Verify(pub, c.signedMessage(at, v), sig) {
		return fmt.Errorf("%w: checkpoint signature does not verify with key %s", ErrBadSignature, c.KeyID)
	}
	return nil
}
