package prooflog

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeBackend records batches; commit blocks on gate when it is set.
type fakeBackend struct {
	mu      sync.Mutex
	batches [][]*appendReq
	gate    chan struct{}
	err     error
	shut    atomic.Bool
	entered atomic.Int64 // records that reached commit
}

func (f *fakeBackend) commit(b []*appendReq) error {
	f.entered.Add(int64(len(b)))
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	f.batches = append(f.batches, b)
	f.mu.Unlock()
	return f.err
}
func (f *fakeBackend) tick()                       {}
func (f *fakeBackend) tickInterval() time.Duration { return 0 }
func (f *fakeBackend) maxBatch() int               { return 100 }
func (f *fakeBackend) shutdown() error             { f.shut.Store(true); return nil }

func TestConcurrentAppendsShareACommit(t *testing.T) {
	fb := &fakeBackend{gate: make(chan struct{})}
	c := newCommitter(fb)
	defer c.close()
	var wg sync.WaitGroup
	// The first append holds the writer inside commit; the rest queue.
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.append(context.Background(), &Record{}); err != nil {
				t.Error(err)
			}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for fb.entered.Load()+int64(len(c.reqs)) < 50 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(fb.gate)
	wg.Wait()
	if len(fb.batches) != 2 {
		t.Fatalf("50 appends took %d commits, want 2 (the first batch, then all that queued meanwhile)", len(fb.batches))
	}
}

func TestEveryWaiterOfAFailedBatchGetsTheError(t *testing.T) {
	boom := errors.New("disk on fire")
	fb := &fakeBackend{err: boom}
	c := newCommitter(fb)
	defer c.close()
	if err := c.append(context.Background(), &Record{}); !errors.Is(err, boom) {
		t.Fatalf("append = %v, want %v", err, boom)
	}
}

func TestAnAppendAbandonedBeforeItWasTakenIsNotWritten(t *testing.T) {
	fb := &fakeBackend{gate: make(chan struct{})}
	c := newCommitter(fb)
	defer c.close()
	go func() { _ = c.append(context.Background(), &Record{ConsentID: "first"}) }()
	for fb.entered.Load() == 0 {
		time.Sleep(time.Millisecond) // until the writer holds "first" in commit
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.append(ctx, &Record{ConsentID: "abandoned"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("append = %v, want the deadline", err)
	}
	close(fb.gate)
	if err := c.append(context.Background(), &Record{ConsentID: "last"}); err != nil {
		t.Fatal(err)
	}
	fb.mu.Lock()
	defer fb.mu.Unlock()
	for _, b := range fb.batches {
		for _, r := range b {
			if r.rec.ConsentID == "abandoned" {
				t.Fatal("an abandoned append was committed")
			}
		}
	}
}

func TestCloseAnswersQueuedAppendsAndRefusesNewOnes(t *testing.T) {
	fb := &fakeBackend{}
	c := newCommitter(fb)
	if err := c.append(context.Background(), &Record{}); err != nil {
		t.Fatal(err)
	}
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	if !fb.shut.Load() {
		t.Fatal("close did not run shutdown")
	}
	if err := c.append(context.Background(), &Record{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close = %v, want ErrClosed", err)
	}
	if err := c.close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestACommitterThatNeverStartedClosesCleanly(t *testing.T) {
	fb := &fakeBackend{}
	if err := newCommitter(fb).close(); err != nil || fb.shut.Load() {
		t.Fatalf("close = %v, shutdown ran = %v; want nil, false", err, fb.shut.Load())
	}
}
