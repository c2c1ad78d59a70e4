package prooflog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Errors the sinks return; test with errors.Is.
var (
	// ErrClosed is returned by Append after Close.
	ErrClosed = errors.New("proof log is closed")
	// ErrFailed wraps the write or fsync error that stopped a file sink;
	// it refuses appends until reopened.
	ErrFailed = errors.New("proof log failed and refuses appends until reopened")
)

// appendReq is one Append waiting for its group commit.
type appendReq struct {
	rec *Record
	// state is reqQueued until the writer takes the request (reqTaken) or
	// the caller gives up first (reqAbandoned); a taken request is always
	// answered.
	state atomic.Int32
	done  chan error
}

const (
	reqQueued int32 = iota
	reqTaken
	reqAbandoned
)

// batchBackend is what a sink does inside the committer's goroutine.
type batchBackend interface {
	// commit makes every record in batch durable (written and fsync'd, or
	// committed) and sets their Seq and Prev, or returns the error every
	// waiter of the batch gets.
	commit(batch []*appendReq) error
	// tick runs every tickInterval (time-based checkpoints).
	tick()
	tickInterval() time.Duration
	maxBatch() int
	// shutdown runs once when the committer stops (final checkpoint,
	// closing files).
	shutdown() error
}

// committer is the single writer goroutine behind a sink: it drains queued
// Appends into batches so that concurrent callers share one write and one
// fsync (group commit). It starts on first use, never at construction.
type committer struct {
	backend batchBackend

	mu        sync.RWMutex // held for reading while sending to the loop
	closed    bool
	startOnce sync.Once
	started   atomic.Bool

	reqs    chan *appendReq
	ops     chan func()
	stop    chan struct{}
	stopped chan struct{}
	stopErr error
}

func newCommitter(b batchBackend) *committer {
	return &committer{
		backend: b,
		reqs:    make(chan *appendReq, 8192),
		ops:     make(chan func()),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
}

func (c *committer) start() {
	c.startOnce.Do(func() {
		c.started.Store(true)
		go c.run()
	})
}

// append queues r and waits for its batch. If ctx ends before the writer
// took r, r is not written and ctx's error is returned; once taken, append
// waits for the outcome (a batch is short) so the answer is never a guess.
func (c *committer) append(ctx context.Context, r *Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &appendReq{rec: r, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return ErrClosed
	}
	c.start()
	select {
	case c.reqs <- req:
	case <-ctx.Done():
		c.mu.RUnlock()
		return fmt.Errorf("record not queued: %w", ctx.Err())
	}
	c.mu.RUnlock()
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		if req.state.CompareAndSwap(reqQueued, reqAbandoned) {
			return fmt.Errorf("record not written: %w", ctx.Err())
		}
		return <-req.done
	}
}

// do runs fn in the writer goroutine and returns its error.
func (c *committer) do(ctx context.Context, fn func() error) error {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return ErrClosed
	}
	c.start()
	done := make(chan error, 1)
	select {
	case c.ops <- func() { done <- fn() }:
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	c.mu.RUnlock()
	return <-done
}

// close stops the writer after it has answered every queued Append and run
// the backend's shutdown. Appends after close get ErrClosed.
func (c *committer) close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.stoppedIfStarted()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	if !c.started.Load() {
		return nil
	}
	close(c.stop)
	<-c.stopped
	return c.stopErr
}

func (c *committer) stoppedIfStarted() <-chan struct{} {
	if !c.started.Load() {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	return c.stopped
}

func (c *committer) run() {
	defer close(c.stopped)
	var timer *time.Timer
	var tickC <-chan time.Time
	resetTimer := func() {
		if d := c.backend.tickInterval(); d > 0 {
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			tickC = timer.C
		} else {
			tickC = nil
		}
	}
	resetTimer()
	for {
		select {
		case req := <-c.reqs:
			c.process(req)
		case op := <-c.ops:
			op()
		case <-tickC:
			c.backend.tick()
			resetTimer()
		case <-c.stop:
			for {
				select {
				case req := <-c.reqs:
					c.process(req)
					continue
				default:
				}
				break
			}
			c.stopErr = c.backend.shutdown()
			if timer != nil {
				timer.Stop()
			}
			return
		}
	}
}

// process gathers first and whatever else is queued (up to maxBatch) into
// one batch, commits it and answers every waiter.
func (c *committer) process(first *appendReq) {
	limit := c.backend.maxBatch()
	batch := make([]*appendReq, 0, 64)
	take := func(r *appendReq) {
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			batch = append(batch, r)
		}
	}
	take(first)
gather:
	for len(batch) < limit {
		select {
		case r := <-c.reqs:
			take(r)
		default:
			break gather
		}
	}
	if len(batch) == 0 {
		return
	}
	err := c.backend.commit(batch)
	for _, r := range batch {
		r.done <- err
	}
}
