package prooflog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Errors Verify wraps; test with errors.Is.
var (
	// ErrBroken is wrapped by every *ChainError.
	ErrBroken = errors.New("proof log does not verify")
	// ErrUnknownKey: a checkpoint is signed by a key not among those given.
	ErrUnknownKey = errors.New("checkpoint key not among the given public keys")
	// ErrBadSignature: a checkpoint's signature does not verify.
	ErrBadSignature = errors.New("checkpoint signature is invalid")
)

// BreakKind classifies where and how a chain breaks.
type BreakKind string

// The ways a chain can break.
const (
	BreakEdited       BreakKind = "edited"        // an entry's bytes changed after it was chained
	BreakDeleted      BreakKind = "deleted"       // entries are missing
	BreakReordered    BreakKind = "reordered"     // entries are out of order
	BreakInserted     BreakKind = "inserted"      // an entry was added that the chain does not know
	BreakCorrupt      BreakKind = "corrupt"       // a line is not a well-formed entry
	BreakTorn         BreakKind = "torn"          // the last line is incomplete (crash while appending)
	BreakBadSignature BreakKind = "bad_signature" // a checkpoint signature does not verify
	BreakUnknownKey   BreakKind = "unknown_key"   // a checkpoint is signed by a key not given
	BreakUnanchored   BreakKind = "unanchored"    // the log starts after seq 1 with no prune checkpoint for that cut
	BreakKnownHead    BreakKind = "known_head"    // a head the auditor recorded earlier is not in the chain
	BreakMismatch     BreakKind = "mismatch"      // the chain breaks in a way none of the above explains
	// Version 2 findings.
	BreakMissingCheckpoint BreakKind = "missing_checkpoint" // checkpoints are missing: the policy's gap is exceeded, the checkpoint chain skips one, or entries follow a close checkpoint without an open one
	BreakMissingFile       BreakKind = "missing_file"       // a file the rotation checkpoint names is missing, or a file starts where no rotation said
	BreakWitness           BreakKind = "witness"            // a checkpoint a witness holds is not in the log, or differs
	BreakUnsigned          BreakKind = "unsigned"           // no entry of the log is covered by a signed checkpoint
	BreakDiscontinuity     BreakKind = "discontinuity"      // the gateway found lines that do not verify and recorded them (the rest verifies)
)

// ChainError reports the first place a log fails verification.
type ChainError struct {
	Kind   BreakKind `json:"kind"`
	Pos    Position  `json:"pos"`
	Detail string    `json:"detail"`
	Err    error     `json:"-"` // ErrBadSignature, ErrUnknownKey or a parse error, if any
}

// Error describes the break and its position.
func (e *ChainError) Error() string {
	return fmt.Sprintf("proof log %s at %s: %s", e.Kind, e.Pos, e.Detail)
}

// Unwrap returns ErrBroken and the underlying error.
func (e *ChainError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrBroken, e.Err}
	}
	return []error{ErrBroken}
}

// Head names one entry of the chain by seq and line hash, e.g. a
// checkpoint an auditor kept from an earlier verification.
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// VerifyOptions are the inputs besides the log.
type VerifyOptions struct {
	// Keys verify checkpoint signatures. Required as soon as the log has
	// a checkpoint (a missing key is an error, never a skip).
	Keys []PublicKey
	// KnownHeads must all be in the chain with these hashes: heads the
	// auditor recorded before. They catch a rewrite of the whole chain by
	// someone holding the signing key, and truncation of its end.
	KnownHeads []Head
	// Witnessed are checkpoint lines a witness kept (ReadWitness). Each
	// must be a checkpoint signed by one of Keys, and the log must hold
	// exactly that line at its seq (unless pruned behind a signed cut).
	Witnessed [][]byte
}

// VerifyReport summarizes a log that verified.
type VerifyReport struct {
	Entries     uint64 `json:"entries"`
	Decisions   uint64 `json:"decisions"`
	Texts       uint64 `json:"texts"`
	Checkpoints uint64 `json:"checkpoints"`
	FirstSeq    uint64 `json:"first_seq"`
	// Head is the last entry.
	Head Head `json:"head"`
	// Anchor is the prune cut the log starts after, if it does not start
	// at seq 1.
	Anchor *Head `json:"anchor,omitempty"`
	// LastCheckpoint is the last signed checkpoint entry: record it and
	// pass it as a KnownHead next time.
	LastCheckpoint *Head `json:"last_checkpoint,omitempty"`
	// UnsignedTail counts entries after the last checkpoint, which no
	// signature covers yet.
	UnsignedTail uint64 `json:"unsigned_tail"`
	// KeysUsed lists the key IDs of the checkpoints.
	KeysUsed []string `json:"keys_used"`
	// Recoveries lists torn bytes set aside after crashes.
	Recoveries []Recovery `json:"recoveries,omitempty"`
	// MissingTexts lists texts hashes decisions refer to whose texts
	// entry is not in the log.
	MissingTexts []string `json:"missing_texts,omitempty"`
	// Warnings are findings that do not break the chain.
	Warnings []string `json:"warnings,omitempty"`
	// Legacy is the part of the log written in schema version 1, before
	// checkpoints were chained: its checkpoints are verified, but missing
	// checkpoints, files and a truncated end cannot be detected there.
	Legacy *Segment `json:"legacy,omitempty"`
	// Discontinuities are damaged lines the gateway found when it reopened
	// the log, kept in place and recorded; Verify fails with
	// BreakDiscontinuity when there are any (the report is returned too).
	Discontinuities []DiscontinuityFinding `json:"discontinuities,omitempty"`
	// Witnessed counts the distinct checkpoints the witness holds that
	// were found in the log; LastWitnessed is the newest of them, and
	// UnwitnessedTail counts the entries after it.
	Witnessed       int    `json:"witnessed,omitempty"`
	LastWitnessed   *Head  `json:"last_witnessed,omitempty"`
	UnwitnessedTail uint64 `json:"unwitnessed_tail,omitempty"`
	// Policy is the checkpoint policy the last checkpoint announced.
	Policy *Policy `json:"policy,omitempty"`
}

// Segment is a run of entries by seq.
type Segment struct {
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	Entries  uint64 `json:"entries"`
}

// Policy is a checkpoint policy as a version 2 checkpoint announces it.
type Policy struct {
	Every      int   `json:"every,omitempty"`
	IntervalMS int64 `json:"interval_ms,omitempty"`
}

// DiscontinuityFinding is a recorded discontinuity whose lines were found
// as it describes them.
type DiscontinuityFinding struct {
	Discontinuity
	// At is the discontinuity entry.
	At Position `json:"at"`
}

// seen is what verification keeps of a recent entry.
type seen struct {
	seq, prevSeq uint64
	hash, prev   string
	pos          Position
	ok           bool // parsed
}

const lookaround = 64

// cpSeen is what verification keeps of the last checkpoint.
type cpSeen struct {
	seq      uint64
	hash     string
	v        int
	reason   string
	file     string
	every    int
	interval int64
	pos      Position
}

// region is a run of lines from a break to the end of its file, which a
// discontinuity entry at the start of the next file may account for.
type region struct {
	file     string
	fromLine int
	lines    int
	bytes    int64
	sum      hash.Hash
}

// Verify walks the whole chain: every line parses, every seq follows the
// last, every prev is the hash of the line before, every checkpoint's
// signature verifies with opts.Keys, and a log that starts after seq 1 is
// vouched for by a signed prune checkpoint. For version 2 checkpoints it
// also checks the checkpoint chain (each names the one before), the
// density the previous checkpoint announced, that entries after a close
// checkpoint start with an open one, and that files follow each other as
// rotation checkpoints name them. Witnessed checkpoints and known heads
// must be in the log.
//
// The first break is returned as a *ChainError (wrapping ErrBroken) with
// its position and, where the surrounding entries tell, whether entries
// were edited, deleted, reordered or inserted. When the only findings are
// discontinuities the gateway recorded, the report is returned together
// with a *ChainError of kind BreakDiscontinuity.
func Verify(ctx context.Context, src Source, opts VerifyOptions) (*VerifyReport, error) {
	keys := make(map[string]ed25519.PublicKey, len(opts.Keys))
	for _, k := range opts.Keys {
		pub, err := k.ed25519Key()
		if err != nil {
			return nil, fmt.Errorf("verification key: %w", err)
		}
		keys[k.KeyID] = pub
	}
	known := make(map[uint64]string, len(opts.KnownHeads))
	for _, h := range opts.KnownHeads {
		known[h.Seq] = h.Hash
	}
	witnessed, err := witnessedHeads(opts.Witnessed, keys)
	if err != nil {
		return nil, err
	}
	v := &verifier{keys: keys, known: known, witnessed: witnessed, rep: &VerifyReport{}, cuts: map[Head]bool{},
		textsSeen: map[string]bool{}, textsUsed: map[string]bool{}, knownFound: map[uint64]bool{}, witnessFound: map[uint64]bool{},
		head: seen{hash: zeroHash}}
	if ds, ok := src.(*DirSource); ok {
		v.files = ds.files
	}
	errStop := errors.New("stop")
	err = src.Scan(ctx, func(raw RawEntry) error {
		if v.reg != nil && v.files != nil {
			if raw.Pos.File == v.reg.file {
				v.reg.add(raw.Line)
				if len(v.after) < lookaround {
					v.after = append(v.after, v.look(raw))
				}
				return nil
			}
			if !v.closeRegion(raw) {
				return errStop
			}
		} else if v.brk != nil {
			v.after = append(v.after, v.look(raw))
			if len(v.after) >= lookaround {
				return errStop
			}
			return nil
		} else if err := v.entry(raw); err != nil {
			return err
		}
		if v.brk != nil && v.brk.Kind != "" && v.reg == nil {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if v.reg != nil && v.brk == nil {
		v.brk, v.reg = v.regionBrk, nil
	}
	if v.brk != nil {
		return nil, v.classify()
	}
	return v.finish(src)
}

// witnessedHeads checks every witnessed line is a checkpoint signed by
// one of keys and returns them by seq.
func witnessedHeads(lines [][]byte, keys map[string]ed25519.PublicKey) (map[uint64]string, error) {
	out := make(map[uint64]string, len(lines))
	for i, line := range lines {
		bad := func(detail string, err error) error {
			return &ChainError{Kind: BreakWitness, Pos: Position{Line: i + 1}, Detail: "witness line " + strconv.Itoa(i+1) + ": " + detail, Err: err}
		}
		e, err := ParseEntry(line)
		if err != nil {
			return nil, bad(err.Error(), err)
		}
		if e.Kind != KindCheckpoint {
			return nil, bad("holds a "+string(e.Kind)+" entry, not a checkpoint", nil)
		}
		if err := e.Checkpoint.verifySignature(e.Time, e.V, keys); err != nil {
			return nil, bad(err.Error(), err)
		}
		h := HashLine(line)
		if prev, ok := out[e.Seq]; ok && prev != h {
			return nil, bad(fmt.Sprintf("the witness holds two different signed checkpoints at seq %d (%s and %s): the log was rewritten by someone holding the signing key", e.Seq, prev, h), nil)
		}
		out[e.Seq] = h
	}
	return out, nil
}

type verifier struct {
	keys      map[string]ed25519.PublicKey
	known     map[uint64]string
	witnessed map[uint64]string
	files     []string // DirSource files; nil for other sources
	rep       *VerifyReport

	started      bool
	head         seen
	recent       []seen
	anchor       *Head
	anchorPos    Position
	cuts         map[Head]bool
	lastCP       *cpSeen
	lastReason   string
	stretch      int    // decisions and texts since the last checkpoint
	afterClose   bool   // a close checkpoint and no open one since
	expectFile   string // the next file a rotation checkpoint named
	textsSeen    map[string]bool
	textsUsed    map[string]bool
	knownFound   map[uint64]bool
	witnessFound map[uint64]bool

	// brk is set at the first break; with an empty Kind the break still
	// needs classifying from the entries around it.
	brk   *ChainError
	at    seen
	after []seen
	// reg collects the lines from a break to the end of its file (file
	// logs), with the break it is, unless a discontinuity accounts for it.
	reg       *region
	regionBrk *ChainError
}

func (r *region) add(line []byte) {
	r.lines++
	r.bytes += int64(len(line))
	r.sum.Write(line)
}

func (v *verifier) look(raw RawEntry) seen {
	s := seen{pos: raw.Pos, hash: HashLine(raw.Line)}
	if e, err := ParseEntry(raw.Line); err == nil {
		s.seq, s.prev, s.ok = e.Seq, e.Prev, true
	}
	return s
}

// breakAt notes a line that does not parse or chain. In a file log the
// lines to the end of its file are collected: a discontinuity entry at the
// start of the next file may account for them.
func (v *verifier) breakAt(raw RawEntry, ce *ChainError, cur seen) {
	v.at = cur
	if v.files == nil {
		v.brk = ce
		return
	}
	v.reg = &region{file: raw.Pos.File, fromLine: raw.Pos.Line, sum: sha256.New()}
	v.reg.add(raw.Line)
	v.regionBrk = ce
}

// closeRegion is called with the first line after a region: it goes on
// when that line is a discontinuity entry that resumes the chain and
// describes the region exactly.
func (v *verifier) closeRegion(raw RawEntry) bool {
	reg := v.reg
	e, err := ParseEntry(raw.Line)
	if err != nil || e.Kind != KindDiscontinuity || raw.Pos.Line != 1 || e.Seq != v.head.seq+1 || e.Prev != v.head.hash {
		v.brk = v.regionBrk
		v.after = append(v.after, v.look(raw))
		return false
	}
	d := e.Discontinuity
	sum := hex.EncodeToString(reg.sum.Sum(nil))
	if d.File != reg.file || d.FromLine != reg.fromLine || d.Lines != reg.lines || d.Bytes != reg.bytes || d.SHA256 != sum {
		v.brk = &ChainError{Kind: BreakEdited, Pos: Position{File: reg.file, Line: reg.fromLine},
			Detail: fmt.Sprintf("the discontinuity at %s describes %s lines %d+%d (%d bytes, sha256 %s), but the file now has %s lines %d+%d (%d bytes, sha256 %s): the damaged lines changed after the gateway recorded them",
				raw.Pos, d.File, d.FromLine, d.Lines, d.Bytes, d.SHA256, reg.file, reg.fromLine, reg.lines, reg.bytes, sum)}
		return false
	}
	v.reg, v.regionBrk, v.after = nil, nil, nil
	if v.expectFile == reg.file {
		// The damaged file is the one the last rotation named.
		v.expectFile = ""
	}
	pos := raw.Pos
	pos.Seq = e.Seq
	v.rep.Discontinuities = append(v.rep.Discontinuities, DiscontinuityFinding{Discontinuity: *d, At: pos})
	if !v.started {
		v.started = true
		v.rep.FirstSeq = e.Seq
	}
	if err := v.accept(e, raw, pos, true); err != nil {
		return false
	}
	return v.brk == nil
}

func (v *verifier) entry(raw RawEntry) error {
	e, err := ParseEntry(raw.Line)
	if err != nil {
		kind := BreakCorrupt
		if !bytes.HasSuffix(raw.Line, []byte{'\n'}) {
			kind = BreakTorn
		}
		v.breakAt(raw, &ChainError{Kind: kind, Pos: raw.Pos, Detail: err.Error(), Err: err}, seen{pos: raw.Pos})
		return nil
	}
	pos := raw.Pos
	if pos.Seq != 0 && pos.Seq != e.Seq {
		v.brk = &ChainError{Kind: BreakEdited, Pos: pos,
			Detail: fmt.Sprintf("the row's seq column is %d but its line says seq %d", pos.Seq, e.Seq)}
		return nil
	}
	pos.Seq = e.Seq
	cur := seen{seq: e.Seq, prev: e.Prev, hash: HashLine(raw.Line), pos: pos, ok: true}
	if !v.started {
		v.started = true
		v.rep.FirstSeq = e.Seq
		if e.Seq != 1 || e.Prev != zeroHash {
			v.anchor = &Head{Seq: e.Seq - 1, Hash: e.Prev}
			v.anchorPos = pos
		}
	} else if e.Seq != v.head.seq+1 || e.Prev != v.head.hash {
		v.breakAt(raw, &ChainError{Pos: pos}, cur)
		return nil
	}
	return v.accept(e, raw, pos, false)
}

// fail records a finding that needs no classifying.
func (v *verifier) fail(kind BreakKind, pos Position, detail string, err error) error {
	v.brk = &ChainError{Kind: kind, Pos: pos, Detail: detail, Err: err}
	return nil
}

// accept checks an entry that parses and chains, and makes it the head.
// afterRegion is set for a discontinuity entry that starts a file after
// damaged lines.
func (v *verifier) accept(e *Entry, raw RawEntry, pos Position, afterRegion bool) error {
	cur := seen{seq: e.Seq, prev: e.Prev, hash: HashLine(raw.Line), pos: pos, ok: true}
	v2era := v.lastCP != nil && v.lastCP.v >= 2
	if v.files != nil {
		switch {
		case v.expectFile != "":
			if pos.File != v.expectFile || pos.Line != 1 {
				return v.fail(BreakMissingFile, pos, fmt.Sprintf("the rotation checkpoint at %s names %s as the next file, but the chain continues at %s: a file is missing or was put in between", v.lastCP.pos, v.expectFile, pos), nil)
			}
			v.expectFile = ""
		case v2era && !afterRegion && v.head.pos.File != "" && pos.File != v.head.pos.File:
			return v.fail(BreakMissingFile, pos, fmt.Sprintf("%s starts, but %s does not end with a rotation checkpoint naming it", pos.File, v.head.pos.File), nil)
		}
	}
	if want, ok := v.known[e.Seq]; ok {
		if want != cur.hash {
			return v.fail(BreakKnownHead, pos, fmt.Sprintf("a head recorded earlier has hash %s here, the log has %s: the chain was rewritten", want, cur.hash), nil)
		}
		v.knownFound[e.Seq] = true
	}
	if want, ok := v.witnessed[e.Seq]; ok {
		if want != cur.hash {
			return v.fail(BreakWitness, pos, fmt.Sprintf("the witness holds a signed checkpoint with hash %s here, the log has %s: the log was rewritten", want, cur.hash), nil)
		}
		v.witnessFound[e.Seq] = true
		v.rep.Witnessed++
		v.rep.LastWitnessed = &Head{Seq: e.Seq, Hash: cur.hash}
	}
	if e.V < 2 {
		if v.rep.Legacy == nil {
			v.rep.Legacy = &Segment{FirstSeq: e.Seq}
		}
		v.rep.Legacy.LastSeq = e.Seq
		v.rep.Legacy.Entries++
	}
	if v.afterClose && e.Kind != KindRecovery && e.Kind != KindDiscontinuity && (e.Kind != KindCheckpoint || e.Checkpoint.Reason != ReasonOpen) {
		return v.fail(BreakMissingCheckpoint, pos, fmt.Sprintf("a %s entry follows the close checkpoint at %s: the gateway writes an open checkpoint first whenever it opens the log, so this entry was appended by something else", e.Kind, v.lastCP.pos), nil)
	}
	v.rep.Entries++
	switch e.Kind {
	case KindDecision:
		v.rep.Decisions++
		v.textsUsed[e.Decision.TextsHash] = true
		v.stretch++
	case KindTexts:
		v.rep.Texts++
		v.textsSeen[e.Texts.Hash] = true
		v.stretch++
	case KindRecovery:
		v.rep.Recoveries = append(v.rep.Recoveries, *e.Recovery)
	case KindCheckpoint:
		if err := v.checkpoint(e, pos, cur); err != nil || v.brk != nil {
			return err
		}
	}
	if v2era && e.Kind != KindCheckpoint && v.lastCP.every > 0 && v.stretch > v.lastCP.every {
		return v.fail(BreakMissingCheckpoint, pos, fmt.Sprintf("%d decisions and texts follow the checkpoint at %s, which announced one at least every %d: checkpoints were removed", v.stretch, v.lastCP.pos, v.lastCP.every), nil)
	}
	v.lastReason = ""
	if e.Kind == KindCheckpoint {
		v.lastReason = e.Checkpoint.Reason
	}
	v.head = cur
	v.recent = append(v.recent, cur)
	if len(v.recent) > lookaround {
		v.recent = v.recent[1:]
	}
	return nil
}

// checkpoint verifies a checkpoint entry: its signature and, for version
// 2, its place in the checkpoint chain and its file.
func (v *verifier) checkpoint(e *Entry, pos Position, cur seen) error {
	c := e.Checkpoint
	if len(v.keys) == 0 {
		return v.fail(BreakUnknownKey, pos, fmt.Sprintf("checkpoint signed by key %s, but no public keys were given: export them with PublicKeys", c.KeyID), ErrUnknownKey)
	}
	if err := c.verifySignature(e.Time, e.V, v.keys); err != nil {
		kind := BreakBadSignature
		detail := err.Error()
		if errors.Is(err, ErrUnknownKey) {
			kind = BreakUnknownKey
			detail = fmt.Sprintf("checkpoint signed by key %s, which is not among the given keys %v", c.KeyID, slices.Sorted(maps.Keys(v.keys)))
		}
		return v.fail(kind, pos, detail, err)
	}
	if e.V >= 2 {
		switch {
		case v.lastCP != nil && (c.PrevCPSeq != v.lastCP.seq || c.PrevCPHash != v.lastCP.hash):
			return v.fail(BreakMissingCheckpoint, pos, fmt.Sprintf("this checkpoint follows the checkpoint at seq %d, but the last checkpoint in the log is at %s: checkpoints were removed or replaced", c.PrevCPSeq, v.lastCP.pos), nil)
		case v.lastCP == nil && c.PrevCPSeq != 0 && (v.anchor == nil || c.PrevCPSeq > v.anchor.Seq):
			return v.fail(BreakMissingCheckpoint, pos, fmt.Sprintf("this checkpoint follows the checkpoint at seq %d, which is not in the log", c.PrevCPSeq), nil)
		}
		wantFile := ""
		if v.files != nil {
			wantFile = pos.File
		}
		if c.File != wantFile {
			return v.fail(BreakMissingFile, pos, fmt.Sprintf("this checkpoint was signed in file %q but is in %q: files were renamed or replaced", c.File, wantFile), nil)
		}
		v.expectFile = c.NextFile
		v.rep.Policy = &Policy{Every: c.Every, IntervalMS: c.IntervalMS}
	}
	v.rep.Checkpoints++
	v.lastCP = &cpSeen{seq: e.Seq, hash: cur.hash, v: e.V, reason: c.Reason, file: c.File, every: c.Every, interval: c.IntervalMS, pos: pos}
	v.stretch = 0
	switch {
	case c.Reason == ReasonClose && c.File != "":
		v.afterClose = true
	case c.Reason == ReasonOpen:
		v.afterClose = false
	}
	v.rep.LastCheckpoint = &Head{Seq: e.Seq, Hash: cur.hash}
	if !slices.Contains(v.rep.KeysUsed, c.KeyID) {
		v.rep.KeysUsed = append(v.rep.KeysUsed, c.KeyID)
	}
	if c.Reason == ReasonPrune {
		v.cuts[Head{Seq: c.CutSeq, Hash: c.CutHash}] = true
	}
	return nil
}

// classify names a break from the entries before and after it.
func (v *verifier) classify() error {
	b := v.brk
	if b.Kind != "" {
		return b
	}
	cur, prev := v.at, v.head
	exp := prev.seq + 1
	var next *seen
	if len(v.after) > 0 && v.after[0].ok {
		next = &v.after[0]
	}
	findHash := func(list []seen, h string) int {
		for i, s := range list {
			if s.hash == h {
				return i
			}
		}
		return -1
	}
	b.Kind = BreakMismatch
	switch {
	case findHash(v.recent, cur.hash) >= 0:
		b.Kind = BreakInserted
		b.Detail = fmt.Sprintf("a copy of the entry at %s was inserted", v.recent[findHash(v.recent, cur.hash)].pos)
	case findHash(v.after, cur.prev) >= 0:
		b.Kind = BreakReordered
		b.Detail = fmt.Sprintf("this entry (seq %d) belongs after the entry at %s; seq %d was expected", cur.seq, v.after[findHash(v.after, cur.prev)].pos, exp)
	case len(v.recent) >= 2 && cur.prev == v.recent[len(v.recent)-2].hash && cur.seq == prev.seq:
		b.Kind = BreakInserted
		b.Pos = prev.pos
		b.Detail = fmt.Sprintf("this entry was inserted: the next entry (%s) follows the one before it directly", cur.pos)
	case next != nil && next.prev == prev.hash && next.seq == exp:
		b.Kind = BreakInserted
		b.Detail = fmt.Sprintf("this entry was inserted: the next entry (%s) follows %s directly", next.pos, prev.pos)
	case cur.seq > exp && slices.ContainsFunc(v.after, func(s seen) bool { return s.ok && s.seq >= exp && s.seq < cur.seq }):
		b.Kind = BreakReordered
		b.Detail = fmt.Sprintf("seq %d comes before seq %d, which appears later", cur.seq, exp)
	case cur.seq < exp && findHash(v.recent, cur.prev) >= 0:
		b.Kind = BreakReordered
		b.Detail = fmt.Sprintf("seq %d appears again after seq %d: entries are out of order", cur.seq, prev.seq)
	case cur.seq > exp:
		b.Kind = BreakDeleted
		b.Detail = fmt.Sprintf("%d entries (seq %d to %d) are missing before this one", cur.seq-exp, exp, cur.seq-1)
		if cur.prev == prev.hash {
			b.Kind = BreakEdited
			b.Detail = fmt.Sprintf("this entry follows seq %d but says seq %d: its seq was edited", prev.seq, cur.seq)
		}
	case cur.seq == exp && cur.prev != prev.hash:
		b.Kind = BreakEdited
		b.Pos = prev.pos
		b.Detail = fmt.Sprintf("this entry's bytes changed: its hash is %s but the next entry (%s) records %s", prev.hash, cur.pos, cur.prev)
	default:
		b.Detail = fmt.Sprintf("entry seq %d with prev %s does not follow seq %d with hash %s", cur.seq, cur.prev, prev.seq, prev.hash)
	}
	return b
}

func (v *verifier) finish(src Source) (*VerifyReport, error) {
	rep := v.rep
	if v.anchor != nil {
		if !v.cuts[*v.anchor] {
			return nil, &ChainError{Kind: BreakUnanchored, Pos: v.anchorPos,
				Detail: fmt.Sprintf("the log starts at seq %d but no signed prune checkpoint names the cut (seq %d, hash %s): entries before it were removed without one", v.anchor.Seq+1, v.anchor.Seq, v.anchor.Hash)}
		}
		rep.Anchor = v.anchor
	}
	if err := v.checkHeads(v.known, v.knownFound, BreakKnownHead, "a head recorded earlier"); err != nil {
		return nil, err
	}
	if err := v.checkHeads(v.witnessed, v.witnessFound, BreakWitness, "a checkpoint the witness holds"); err != nil {
		return nil, err
	}
	if v.expectFile != "" {
		if !slices.Contains(v.files, v.expectFile) {
			return nil, &ChainError{Kind: BreakMissingFile, Pos: v.lastCP.pos,
				Detail: fmt.Sprintf("the log ends with a rotation checkpoint naming %s as the next file, which is missing: the newest file was deleted", v.expectFile)}
		}
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the newest file %s is empty: the gateway stopped right after rotating", v.expectFile))
	}
	if rep.Entries > 0 && rep.Checkpoints == 0 {
		return nil, &ChainError{Kind: BreakUnsigned, Pos: v.head.pos,
			Detail: fmt.Sprintf("none of the %d entries is covered by a signed checkpoint: the gateway signs the log whenever it opens it, so this log was not written by it or lost every checkpoint", rep.Entries)}
	}
	rep.Head = Head{Seq: v.head.seq, Hash: v.head.hash}
	if v.started {
		rep.UnsignedTail = v.head.seq - max(v.lastCPSeq(), rep.FirstSeq-1)
	}
	if rep.LastWitnessed != nil {
		rep.UnwitnessedTail = v.head.seq - rep.LastWitnessed.Seq
	}
	for h := range v.textsUsed {
		if !v.textsSeen[h] {
			rep.MissingTexts = append(rep.MissingTexts, h)
		}
	}
	slices.Sort(rep.MissingTexts)
	if v.lastReason == ReasonRotation && v.lastCP != nil && v.lastCP.v < 2 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the log ends with a (version 1) rotation checkpoint at %s: the file after it is missing, or the writer stopped right after rotating", v.head.pos))
	}
	if ds, ok := src.(*DirSource); ok {
		rep.Warnings = append(rep.Warnings, ds.checkSidecars(rep.Recoveries)...)
	}
	if n := len(rep.Discontinuities); n > 0 {
		d := rep.Discontinuities[0]
		return rep, &ChainError{Kind: BreakDiscontinuity, Pos: Position{File: d.File, Line: d.FromLine},
			Detail: fmt.Sprintf("%d discontinuities: the gateway found %d lines from here that do not verify (%s) and recorded them at %s; they are kept outside the chain, the rest of the log verifies", n, d.Lines, d.Reason, d.At)}
	}
	return rep, nil
}

func (v *verifier) lastCPSeq() uint64 {
	if v.lastCP == nil {
		return 0
	}
	return v.lastCP.seq
}

// checkHeads checks that every wanted head was found, or was pruned
// behind a signed cut.
func (v *verifier) checkHeads(want map[uint64]string, found map[uint64]bool, kind BreakKind, what string) error {
	for _, seq := range slices.Sorted(maps.Keys(want)) {
		h := want[seq]
		switch {
		case found[seq]:
		case v.anchor != nil && seq == v.anchor.Seq && h != v.anchor.Hash:
			return &ChainError{Kind: kind, Pos: v.anchorPos,
				Detail: fmt.Sprintf("%s has hash %s at seq %d, the log's cut says %s: the chain was rewritten", what, h, seq, v.anchor.Hash)}
		case v.anchor != nil && seq <= v.anchor.Seq:
			// Pruned behind a signed cut.
		default:
			if kind == BreakKnownHead {
				kind = BreakDeleted
			}
			return &ChainError{Kind: kind, Pos: Position{Seq: seq},
				Detail: fmt.Sprintf("%s (seq %d) is not in the log, which ends at seq %d: entries were removed from the end or the log was rewritten", what, seq, v.head.seq)}
		}
	}
	return nil
}

// checkSidecars checks that the bytes recovery entries set aside are still
// there, unchanged.
func (d *DirSource) checkSidecars(recs []Recovery) []string {
	var out []string
	for _, r := range recs {
		data, err := os.ReadFile(filepath.Join(d.dir, filepath.Base(r.SetAside)))
		if err != nil {
			out = append(out, fmt.Sprintf("set-aside file %s: %v", r.SetAside, err))
			continue
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != r.SHA256 || int64(len(data)) != r.Bytes {
			out = append(out, fmt.Sprintf("set-aside file %s does not match its recovery entry", r.SetAside))
		}
	}
	return out
}
