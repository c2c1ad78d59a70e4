package prooflog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// SchemaVersion is the version written in every entry's "v" field. A reader
// refuses entries of a version it does not know.
//
// Version 2 chains the checkpoints (each names the previous one, the file
// it is in, the next file at rotation and the checkpoint policy) and adds
// the "discontinuity" entry. Version 3 adds the services granted one by
// one and the embed method (with its vendor) to decisions. Entries of
// versions 1 and 2, written before, still parse; Verify reports version 1
// entries as a legacy segment.
const SchemaVersion = 3

// servicesSchemaVersion is the first version whose decisions carry
// services, a vendor and the embed method.
const servicesSchemaVersion = 3

// LegacySchemaVersion is the oldest version readers still accept.
const LegacySchemaVersion = 1

// Kind says what an entry holds.
type Kind string

// The kinds of entries in the chain.
const (
	KindDecision   Kind = "decision"   // a consent decision (a Record)
	KindTexts      Kind = "texts"      // the banner texts for one texts hash
	KindCheckpoint Kind = "checkpoint" // a signed chain head
	KindRecovery   Kind = "recovery"   // torn bytes were set aside after a crash
	// KindDiscontinuity records complete lines that did not verify when
	// the log was reopened: they are kept in place, outside the chain.
	KindDiscontinuity Kind = "discontinuity"
)

// Entry is one line of the log: common chain fields plus exactly one
// payload matching Kind.
type Entry struct {
	V          int         `json:"v"`
	Seq        uint64      `json:"seq"`
	Kind       Kind        `json:"kind"`
	Time       string      `json:"time"`
	Prev       string      `json:"prev"`
	Decision   *Decision   `json:"decision,omitempty"`
	Texts      *TextsEntry `json:"texts,omitempty"`
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
	Recovery   *Recovery   `json:"recovery,omitempty"`
	// Discontinuity is set in "discontinuity" entries (version 2).
	Discontinuity *Discontinuity `json:"discontinuity,omitempty"`

	time time.Time
}

// At returns the entry's time.
func (e *Entry) At() time.Time { return e.time }

// Record returns the decision as a Record, or nil when e is not a decision.
func (e *Entry) Record() *Record {
	if e.Kind != KindDecision || e.Decision == nil {
		return nil
	}
	return recordFromEntry(e)
}

// TextsEntry is the payload of a "texts" entry: the texts and the hash
// decisions refer to them by.
type TextsEntry struct {
	Hash     string            `json:"hash"`
	Language string            `json:"language"`
	Strings  map[string]string `json:"strings"`
}

// Recovery is the payload of a "recovery" entry: bytes found after the last
// good entry when the log was opened after a crash, moved to a sidecar file.
type Recovery struct {
	File     string `json:"file"`      // the log file the bytes were in
	Offset   int64  `json:"offset"`    // where they started
	Bytes    int64  `json:"bytes"`     // how many
	SHA256   string `json:"sha256"`    // hex SHA-256 of the bytes
	SetAside string `json:"set_aside"` // the sidecar file now holding them
	Reason   string `json:"reason"`    // why they did not count as entries
}

// Discontinuity is the payload of a "discontinuity" entry: when the
// gateway reopened the log it found complete lines at the end of File that
// do not parse or do not chain. A crash cannot produce a complete bad line
// (only an incomplete last one), so they are treated as tampering: they
// stay where they are, the chain resumes from the last good entry in a new
// file that starts with this entry, and Verify reports it.
type Discontinuity struct {
	File     string `json:"file"`      // the file holding the damaged lines
	FromLine int    `json:"from_line"` // first damaged line, 1-based
	Lines    int    `json:"lines"`     // complete lines from there to the end of File
	Offset   int64  `json:"offset"`    // byte offset of FromLine
	Bytes    int64  `json:"bytes"`     // bytes from Offset to the end of File
	SHA256   string `json:"sha256"`    // hex SHA-256 of those bytes
	Reason   string `json:"reason"`    // what was wrong with the first damaged line
}

// HashLine returns the hex SHA-256 of a line's exact bytes, including its
// trailing newline: what the next entry's "prev" holds, and what
// `sed -n Np file | sha256sum` prints for line N.
func HashLine(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

// encodeEntry renders e as its canonical line, newline included.
func encodeEntry(e *Entry) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("encoding %s entry %d: %w", e.Kind, e.Seq, err)
	}
	if b.Len() > maxLineBytes {
		return nil, fmt.Errorf("%s entry %d is %d bytes, over the %d byte line limit", e.Kind, e.Seq, b.Len(), maxLineBytes)
	}
	return b.Bytes(), nil
}

// ParseEntry parses one log line, which must end in a newline, and checks
// it is a well-formed entry of a known version in canonical form (exactly
// the bytes the writer would produce). It checks nothing against other
// entries: that is Verify's job.
func ParseEntry(line []byte) (*Entry, error) {
	if len(line) > maxLineBytes {
		return nil, fmt.Errorf("line is %d bytes, over the %d byte limit", len(line), maxLineBytes)
	}
	if len(line) == 0 || line[len(line)-1] != '\n' {
		return nil, errors.New("line does not end in a newline (torn write?)")
	}
	if bytes.IndexByte(line, '\n') != len(line)-1 {
		return nil, errors.New("line holds more than one line")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var e Entry
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("not a JSON entry: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	if e.V < LegacySchemaVersion || e.V > SchemaVersion {
		return nil, fmt.Errorf("schema version %d, this reader knows %d to %d", e.V, LegacySchemaVersion, SchemaVersion)
	}
	if e.Seq == 0 {
		return nil, errors.New("seq is 0 (sequence numbers start at 1)")
	}
	t, err := parseTime(e.Time)
	if err != nil {
		return nil, err
	}
	e.time = t
	if !isHexHash(e.Prev) {
		return nil, fmt.Errorf("prev %q is not 64 lowercase hex digits", e.Prev)
	}
	if err := e.checkPayload(); err != nil {
		return nil, err
	}
	canon, err := encodeEntry(&e)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, line) {
		return nil, errors.New("line is not in canonical form (edited by hand?)")
	}
	return &e, nil
}

func (e *Entry) checkPayload() error {
	n := 0
	for _, present := range []bool{e.Decision != nil, e.Texts != nil, e.Checkpoint != nil, e.Recovery != nil, e.Discontinuity != nil} {
		if present {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%s entry has %d payloads, want 1", e.Kind, n)
	}
	switch e.Kind {
	case KindDecision:
		if e.Decision == nil {
			return errors.New("decision entry without a decision payload")
		}
		if d := e.Decision; e.V < servicesSchemaVersion && (d.Services != nil || d.Vendor != "" || d.Method == MethodEmbed) {
			return fmt.Errorf("version %d decision with services, a vendor or method embed (version %d fields)", e.V, servicesSchemaVersion)
		}
		return e.Decision.validate(nil)
	case KindTexts:
		if e.Texts == nil {
			return errors.New("texts entry without a texts payload")
		}
		t := Texts{Language: e.Texts.Language, Strings: e.Texts.Strings}
		if err := t.validate(); err != nil {
			return err
		}
		if got := t.Hash(); got != e.Texts.Hash {
			return fmt.Errorf("texts entry claims hash %s but its texts hash to %s", e.Texts.Hash, got)
		}
	case KindCheckpoint:
		if e.Checkpoint == nil {
			return errors.New("checkpoint entry without a checkpoint payload")
		}
		return e.Checkpoint.wellFormed(e)
	case KindRecovery:
		if e.Recovery == nil {
			return errors.New("recovery entry without a recovery payload")
		}
		if e.Recovery.Bytes < 0 || e.Recovery.Offset < 0 {
			return errors.New("recovery entry with a negative size or offset")
		}
	case KindDiscontinuity:
		d := e.Discontinuity
		if d == nil || e.V < 2 {
			return errors.New("discontinuity entry without a discontinuity payload (or in a version 1 entry)")
		}
		if d.File == "" || d.FromLine < 1 || d.Lines < 1 || d.Offset < 0 || d.Bytes < 1 || !isHexHash(d.SHA256) {
			return errors.New("discontinuity entry with an empty file, range or hash")
		}
	default:
		return fmt.Errorf("unknown entry kind %q", e.Kind)
	}
	return nil
}

// chainHead is the end of the chain as a writer sees it.
type chainHead struct {
	seq  uint64 // seq of the last entry, 0 for an empty chain
	hash string // HashLine of the last entry, zeroHash for an empty chain
	time time.Time
}

func emptyHead() chainHead { return chainHead{hash: zeroHash} }

// next builds the entry after h with the given payload, encodes it and
// advances h. Payload fields of e other than the one set are ignored.
func (h *chainHead) next(e *Entry, at time.Time) ([]byte, error) {
	e.V = SchemaVersion
	e.Seq = h.seq + 1
	e.Time = formatTime(at)
	e.time, _ = parseTime(e.Time)
	e.Prev = h.hash
	line, err := encodeEntry(e)
	if err != nil {
		return nil, err
	}
	h.seq = e.Seq
	h.hash = HashLine(line)
	h.time = e.time
	return line, nil
}

// decisionEntry returns the entry for r (without chain fields).
func decisionEntry(r *Record) *Entry {
	return &Entry{Kind: KindDecision, Decision: r.decision()}
}

func textsEntry(t *Texts, hash string) *Entry {
	strs := t.Strings
	if strs == nil {
		strs = map[string]string{}
	}
	return &Entry{Kind: KindTexts, Texts: &TextsEntry{Hash: hash, Language: t.Language, Strings: strs}}
}
