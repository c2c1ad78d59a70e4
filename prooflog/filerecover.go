package prooflog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// dirState is where the writer resumes after opening a log directory.
type dirState struct {
	name     string // current file, "" when the directory has none
	size     int64  // bytes of good entries in it
	head     chainHead
	sinceCP  int
	lastCP   time.Time
	lastCPAt chainHead // the last checkpoint entry, seq 0 when none
	texts    map[string]bool
	// pending lists set-aside bytes the chain does not mention yet; the
	// writer appends a recovery entry for each before anything else.
	pending []RecoveryReport
	// damage describes complete lines after the last good entry of name
	// that do not verify; nil when there are none.
	damage *Discontinuity
}

// recoverDir finds the current file and checks that its entries chain
// from the previous file's last entry. Only an incomplete last line (no
// newline) can be a crash's torn write: it is moved aside to a sidecar
// file. Complete lines after the last good entry are not a crash's doing:
// they are left in place and described in dirState.damage, for the writer
// to record or refuse. Damage recovery cannot describe (the previous
// file's last line, a rotation naming a missing file) is an error
// wrapping ErrTampered.
func recoverDir(dir string) (*dirState, error) {
	names, err := listLogFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("listing proof log directory: %w", err)
	}
	st := &dirState{head: emptyHead(), texts: map[string]bool{}}
	if len(names) == 0 {
		return st, nil
	}
	cur := names[len(names)-1]
	var start *chainHead
	var prevLast *Entry
	if len(names) > 1 {
		prev := names[len(names)-2]
		h, e, err := lastEntry(filepath.Join(dir, prev))
		if err != nil {
			return nil, fmt.Errorf("%w: the last entry of %s, before the current file %s: %w", ErrTampered, prev, cur, err)
		}
		start, prevLast = &h, e
		st.head = h
		if e.Kind == KindCheckpoint {
			st.lastCPAt, st.lastCP = h, e.time
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, cur))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", cur, err)
	}
	if prevLast != nil && prevLast.V >= 2 {
		cp := prevLast.Checkpoint
		isRotation := cp != nil && cp.Reason == ReasonRotation
		switch {
		case len(data) == 0 && !isRotation:
			// A crash between creating the next file and the rotation
			// checkpoint naming it: the empty file holds nothing.
			if err := os.Remove(filepath.Join(dir, cur)); err != nil {
				return nil, fmt.Errorf("removing the empty %s left by a crash while rotating: %w", cur, err)
			}
			if err := syncDir(dir); err != nil {
				return nil, err
			}
			return recoverDir(dir)
		case isRotation && cp.NextFile != cur:
			return nil, fmt.Errorf("%w: %s ends with a rotation checkpoint naming %s, but the next file is %s", ErrTampered, names[len(names)-2], cp.NextFile, cur)
		}
	}
	sc := scanLines(data, start)
	st.name, st.size = cur, sc.goodEnd
	if sc.entries > 0 {
		st.head = sc.head
	}
	if sc.lastCPAt.seq != 0 {
		st.lastCPAt, st.lastCP = sc.lastCPAt, sc.lastCP
	}
	if sc.entries > 0 || start == nil {
		st.sinceCP = sc.sinceCP
	} else if prevLast != nil && prevLast.Kind != KindCheckpoint {
		st.sinceCP = 1 // a legacy file that did not end in a checkpoint
	}
	st.texts = sc.texts
	if st.lastCPAt.seq == 0 && len(names) > 1 {
		if st.lastCPAt, st.lastCP, err = lastCheckpointIn(dir, names[:len(names)-1]); err != nil {
			return nil, err
		}
	}
	// Only the bytes after the last newline can be a torn write.
	complete := int64(bytes.LastIndexByte(data, '\n') + 1)
	if sc.goodEnd < complete {
		region := data[sc.goodEnd:complete]
		sum := sha256.Sum256(region)
		st.damage = &Discontinuity{
			File:     cur,
			FromLine: sc.entries + 1,
			Lines:    bytes.Count(region, []byte{'\n'}),
			Offset:   sc.goodEnd,
			Bytes:    int64(len(region)),
			SHA256:   hex.EncodeToString(sum[:]),
			Reason:   sc.reason,
		}
		if e, _, _ := lastEntryOf(region); e != nil && e.Kind == KindCheckpoint && e.Checkpoint.Reason == ReasonRotation {
			// Recording would leave two successors of the damaged file.
			return nil, fmt.Errorf("%w: %s has lines that do not verify from line %d (%s) and ends with a rotation checkpoint", ErrTampered, cur, st.damage.FromLine, sc.reason)
		}
	} else if last := sc.lastEntry; last != nil && last.V >= 2 && last.Kind == KindCheckpoint && last.Checkpoint.Reason == ReasonRotation {
		return nil, fmt.Errorf("%w: %s ends with a rotation checkpoint naming %s, which is missing", ErrTampered, cur, last.Checkpoint.NextFile)
	}
	var fresh string
	tornAt := max(sc.goodEnd, complete)
	if tornAt < int64(len(data)) {
		if fresh, err = setAside(dir, cur, tornAt, data[tornAt:]); err != nil {
			return nil, err
		}
		if st.damage == nil {
			st.size = tornAt
		}
	}
	// Every sidecar of the current file must be named by a recovery entry;
	// a crash may have come between setting bytes aside and writing it.
	sides, err := sidecars(dir, cur)
	if err != nil {
		return nil, err
	}
	for _, side := range sides {
		if sc.recorded[side] {
			continue
		}
		rep, err := describeSidecar(dir, cur, side)
		if err != nil {
			return nil, err
		}
		if side == fresh {
			rep.Reason = "last line has no trailing newline (torn write)"
		}
		rep.LastGoodSeq = st.head.seq
		st.pending = append(st.pending, *rep)
	}
	return st, nil
}

// lastEntryOf parses the last line of region, if it is an entry.
func lastEntryOf(region []byte) (*Entry, int, error) {
	if len(region) == 0 {
		return nil, 0, nil
	}
	i := bytes.LastIndexByte(region[:len(region)-1], '\n')
	e, err := ParseEntry(region[i+1:])
	return e, i + 1, err
}

// lastCheckpointIn finds the last checkpoint in files (chain order),
// reading from the newest backwards. A version 2 writer leaves one at the
// end of every file, so this reads whole files only for legacy logs.
func lastCheckpointIn(dir string, files []string) (chainHead, time.Time, error) {
	for i := len(files) - 1; i >= 0; i-- {
		data, err := os.ReadFile(filepath.Join(dir, files[i]))
		if err != nil {
			return chainHead{}, time.Time{}, fmt.Errorf("reading %s: %w", files[i], err)
		}
		sc := scanLines(data, nil)
		if sc.lastCPAt.seq != 0 {
			return sc.lastCPAt, sc.lastCP, nil
		}
	}
	return chainHead{}, time.Time{}, nil
}

// scanResult is what scanLines learned from a file.
type scanResult struct {
	goodEnd   int64 // offset after the last good entry
	entries   int
	head      chainHead
	sinceCP   int
	lastCP    time.Time
	lastCPAt  chainHead
	lastEntry *Entry
	texts     map[string]bool
	recorded  map[string]bool // sidecars named by recovery entries
	reason    string          // why scanning stopped before the end
}

// scanLines reads entries from data while they parse and chain. start is
// the head the first entry must follow; nil accepts the first entry's seq
// and prev as they are (the first file, or the first after pruning).
func scanLines(data []byte, start *chainHead) scanResult {
	sc := scanResult{texts: map[string]bool{}, recorded: map[string]bool{}}
	var head chainHead
	if start != nil {
		head = *start
	}
	off := 0
	for off < len(data) {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			sc.reason = "last line has no trailing newline (torn write)"
			break
		}
		line := data[off : off+i+1]
		e, err := ParseEntry(line)
		if err != nil {
			sc.reason = "bad line: " + err.Error()
			break
		}
		if (start != nil || sc.entries > 0) && (e.Seq != head.seq+1 || e.Prev != head.hash) {
			sc.reason = fmt.Sprintf("entry seq %d does not chain to seq %d", e.Seq, head.seq)
			break
		}
		head = chainHead{seq: e.Seq, hash: HashLine(line), time: e.time}
		sc.entries++
		sc.lastEntry = e
		switch e.Kind {
		case KindCheckpoint:
			sc.sinceCP, sc.lastCP = 0, e.time
			sc.lastCPAt = head
		case KindTexts:
			sc.texts[e.Texts.Hash] = true
			sc.sinceCP++
		case KindRecovery:
			sc.recorded[e.Recovery.SetAside] = true
			sc.sinceCP++
		default:
			sc.sinceCP++
		}
		off += i + 1
	}
	sc.goodEnd = int64(off)
	sc.head = head
	return sc
}

// setAside copies tail to a sidecar file next to cur, fsyncs it, then
// truncates cur to off. The sidecar is named <cur>.torn-<offset>, with a
// -N suffix when that exists.
func setAside(dir, cur string, off int64, tail []byte) (string, error) {
	base := cur + tornMarker + strconv.FormatInt(off, 10)
	side := base
	var f *os.File
	for n := 1; ; n++ {
		var err error
		f, err = os.OpenFile(filepath.Join(dir, side), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || n > 1000 {
			return "", fmt.Errorf("creating sidecar for torn bytes of %s: %w", cur, err)
		}
		side = base + "-" + strconv.Itoa(n)
	}
	if _, err := f.Write(tail); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("writing %s: %w", side, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("fsync %s: %w", side, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("closing %s: %w", side, err)
	}
	if err := syncDir(dir); err != nil {
		return "", err
	}
	lf, err := os.OpenFile(filepath.Join(dir, cur), os.O_WRONLY, 0)
	if err != nil {
		return "", fmt.Errorf("opening %s to cut its torn tail: %w", cur, err)
	}
	defer lf.Close()
	if err := lf.Truncate(off); err != nil {
		return "", fmt.Errorf("cutting the torn tail of %s at %d: %w", cur, off, err)
	}
	if err := lf.Sync(); err != nil {
		return "", fmt.Errorf("fsync %s: %w", cur, err)
	}
	return side, nil
}

// sidecars lists the torn-byte files of cur, in name order.
func sidecars(dir, cur string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing proof log directory: %w", err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), cur+tornMarker) {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// describeSidecar builds the recovery report for a sidecar file.
func describeSidecar(dir, cur, side string) (*RecoveryReport, error) {
	data, err := os.ReadFile(filepath.Join(dir, side))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", side, err)
	}
	offStr := strings.TrimPrefix(side, cur+tornMarker)
	if i := strings.IndexByte(offStr, '-'); i >= 0 {
		offStr = offStr[:i]
	}
	off, _ := strconv.ParseInt(offStr, 10, 64)
	sum := sha256.Sum256(data)
	return &RecoveryReport{Recovery: Recovery{
		File:     cur,
		Offset:   off,
		Bytes:    int64(len(data)),
		SHA256:   hex.EncodeToString(sum[:]),
		SetAside: side,
		Reason:   "set aside before a crash that came before its recovery entry",
	}}, nil
}

// lastEntry reads and parses the last line of a complete log file.
func lastEntry(path string) (chainHead, *Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return chainHead{}, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return chainHead{}, nil, err
	}
	size := fi.Size()
	if size == 0 {
		return chainHead{}, nil, errors.New("file is empty")
	}
	for chunk := int64(64 << 10); ; chunk *= 4 {
		if chunk > size {
			chunk = size
		}
		buf := make([]byte, chunk)
		if _, err := f.ReadAt(buf, size-chunk); err != nil && err != io.EOF {
			return chainHead{}, nil, err
		}
		if buf[len(buf)-1] != '\n' {
			return chainHead{}, nil, errors.New("last line has no trailing newline")
		}
		i := bytes.LastIndexByte(buf[:len(buf)-1], '\n')
		if i >= 0 || chunk == size {
			line := buf[i+1:]
			e, err := ParseEntry(line)
			if err != nil {
				return chainHead{}, nil, fmt.Errorf("last line: %w", err)
			}
			return chainHead{seq: e.Seq, hash: HashLine(line), time: e.time}, e, nil
		}
		if chunk > 2*maxLineBytes {
			return chainHead{}, nil, errors.New("last line is over the line limit")
		}
	}
}
