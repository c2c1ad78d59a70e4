package prooflog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
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
)

// ChainError reports the first place a log fails verification.
type ChainError struct {
	Kind   BreakKind
	Pos    Position
	Detail string
	Err    error // ErrBadSignature, ErrUnknownKey or a parse error, if any
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
}

// seen is what verification keeps of a recent entry.
type seen struct {
	seq, prevSeq uint64
	hash, prev   string
	pos          Position
	ok           bool // parsed
}

const lookaround = 64

// Verify walks the whole chain: every line parses, every seq follows the
// last, every prev is the hash of the line before, every checkpoint's
// signature verifies with opts.Keys, and a log that starts after seq 1 is
// vouched for by a signed prune checkpoint. The first break is returned
// as a *ChainError (wrapping ErrBroken) with its position and, where the
// surrounding entries tell, whether entries were edited, deleted,
// reordered or inserted.
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
	v := &verifier{keys: keys, known: known, rep: &VerifyReport{}, cuts: map[Head]bool{},
		textsSeen: map[string]bool{}, textsUsed: map[string]bool{}, knownFound: map[uint64]bool{}}
	errStop := errors.New("stop")
	err := src.Scan(ctx, func(raw RawEntry) error {
		if v.brk != nil {
			v.after = append(v.after, v.look(raw))
			if len(v.after) >= lookaround {
				return errStop
			}
			return nil
		}
		if err := v.entry(raw); err != nil {
			return err
		}
		if v.brk != nil && v.brk.Kind != "" {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if v.brk != nil {
		return nil, v.classify()
	}
	return v.finish(src)
}

type verifier struct {
	keys  map[string]ed25519.PublicKey
	known map[uint64]string
	rep   *VerifyReport

	started    bool
	head       seen
	recent     []seen
	anchor     *Head
	anchorPos  Position
	cuts       map[Head]bool
	lastCPSeq  uint64
	lastReason string
	textsSeen  map[string]bool
	textsUsed  map[string]bool
	knownFound map[uint64]bool

	// brk is set at the first break; with an empty Kind the break still
	// needs classifying from the entries around it.
	brk   *ChainError
	at    seen
	after []seen
}

func (v *verifier) look(raw RawEntry) seen {
	s := seen{pos: raw.Pos, hash: HashLine(raw.Line)}
	if e, err := ParseEntry(raw.Line); err == nil {
		s.seq, s.prev, s.ok = e.Seq, e.Prev, true
	}
	return s
}

func (v *verifier) entry(raw RawEntry) error {
	e, err := ParseEntry(raw.Line)
	if err != nil {
		kind := BreakCorrupt
		if !bytes.HasSuffix(raw.Line, []byte{'\n'}) {
			kind = BreakTorn
		}
		v.brk = &ChainError{Kind: kind, Pos: raw.Pos, Detail: err.Error(), Err: err}
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
		v.brk = &ChainError{Pos: pos}
		v.at = cur
		return nil
	}
	if want, ok := v.known[e.Seq]; ok {
		if want != cur.hash {
			v.brk = &ChainError{Kind: BreakKnownHead, Pos: pos,
				Detail: fmt.Sprintf("a head recorded earlier has hash %s here, the log has %s: the chain was rewritten", want, cur.hash)}
			return nil
		}
		v.knownFound[e.Seq] = true
	}
	v.rep.Entries++
	switch e.Kind {
	case KindDecision:
		v.rep.Decisions++
		v.textsUsed[e.Decision.TextsHash] = true
	case KindTexts:
		v.rep.Texts++
		v.textsSeen[e.Texts.Hash] = true
	case KindRecovery:
		v.rep.Recoveries = append(v.rep.Recoveries, *e.Recovery)
	case KindCheckpoint:
		c := e.Checkpoint
		if len(v.keys) == 0 {
			v.brk = &ChainError{Kind: BreakUnknownKey, Pos: pos, Err: ErrUnknownKey,
				Detail: fmt.Sprintf("checkpoint signed by key %s, but no public keys were given: export them with PublicKeys", c.KeyID)}
			return nil
		}
		if err := c.verifySignature(e.Time, v.keys); err != nil {
			kind := BreakBadSignature
			detail := err.Error()
			if errors.Is(err, ErrUnknownKey) {
				kind = BreakUnknownKey
				detail = fmt.Sprintf("checkpoint signed by key %s, which is not among the given keys %v", c.KeyID, slices.Sorted(maps.Keys(v.keys)))
			}
			v.brk = &ChainError{Kind: kind, Pos: pos, Detail: detail, Err: err}
			return nil
		}
		v.rep.Checkpoints++
		v.lastCPSeq = e.Seq
		v.rep.LastCheckpoint = &Head{Seq: e.Seq, Hash: cur.hash}
		if !slices.Contains(v.rep.KeysUsed, c.KeyID) {
			v.rep.KeysUsed = append(v.rep.KeysUsed, c.KeyID)
		}
		if c.Reason == ReasonPrune {
			v.cuts[Head{Seq: c.CutSeq, Hash: c.CutHash}] = true
		}
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
	for _, seq := range slices.Sorted(maps.Keys(v.known)) {
		h := v.known[seq]
		switch {
		case v.knownFound[seq]:
		case v.anchor != nil && seq == v.anchor.Seq && h != v.anchor.Hash:
			return nil, &ChainError{Kind: BreakKnownHead, Pos: v.anchorPos,
				Detail: fmt.Sprintf("a head recorded earlier has hash %s at seq %d, the log's cut says %s: the chain was rewritten", h, seq, v.anchor.Hash)}
		case v.anchor != nil && seq <= v.anchor.Seq:
			// Pruned behind a signed cut.
		default:
			return nil, &ChainError{Kind: BreakDeleted, Pos: Position{Seq: seq},
				Detail: fmt.Sprintf("a head recorded earlier (seq %d) is past the end of the log (seq %d): entries were removed from the end", seq, v.head.seq)}
		}
	}
	rep.Head = Head{Seq: v.head.seq, Hash: v.head.hash}
	if v.started {
		rep.UnsignedTail = v.head.seq - max(v.lastCPSeq, rep.FirstSeq-1)
	}
	for h := range v.textsUsed {
		if !v.textsSeen[h] {
			rep.MissingTexts = append(rep.MissingTexts, h)
		}
	}
	slices.Sort(rep.MissingTexts)
	if v.lastReason == ReasonRotation {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the log ends with a rotation checkpoint at %s: the file after it is missing, or the writer stopped right after rotating", v.head.pos))
	}
	if ds, ok := src.(*DirSource); ok {
		rep.Warnings = append(rep.Warnings, ds.checkSidecars(rep.Recoveries)...)
	}
	return rep, nil
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
