package caddymodule

import (
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// decisionLimiter limits consent decisions per masked client address: each
// decision becomes a durable record, so one client must not be able to
// flood the proof log. Memory is bounded: at most maxKeys addresses are
// tracked, and idle ones are dropped first.
type decisionLimiter struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	maxKeys int
	keys    map[string]*limiterEntry
}

type limiterEntry struct {
	l        *rate.Limiter
	lastSeen time.Time
}

func newDecisionLimiter(perMinute, burst, maxKeys int) *decisionLimiter {
	return &decisionLimiter{
		limit:   rate.Limit(float64(perMinute) / 60),
		burst:   burst,
		maxKeys: maxKeys,
		keys:    make(map[string]*limiterEntry),
	}
}

// allow reports whether a decision from key may go ahead now, and if not,
// how long until it may.
func (d *decisionLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.keys[key]
	if !ok {
		if len(d.keys) >= d.maxKeys {
			d.evict(now)
		}
		e = &limiterEntry{l: rate.NewLimiter(d.limit, d.burst)}
		d.keys[key] = e
	}
	e.lastSeen = now
	r := e.l.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return false, delay
	}
	return true, 0
}

// evict drops the entries whose bucket has refilled (idle long enough to be
// back at full burst), or, if none has, the least recently seen half.
func (d *decisionLimiter) evict(now time.Time) {
	full := time.Duration(float64(d.burst) / float64(d.limit) * float64(time.Second))
	for k, e := range d.keys {
		if now.Sub(e.lastSeen) > full {
			delete(d.keys, k)
		}
	}
	if len(d.keys) < d.maxKeys {
		return
	}
	times := make([]time.Time, 0, len(d.keys))
	for _, e := range d.keys {
		times = append(times, e.lastSeen)
	}
	// The median last-seen time splits the entries in half.
	cutoff := medianTime(times)
	for k, e := range d.keys {
		if !e.lastSeen.After(cutoff) {
			delete(d.keys, k)
		}
	}
}

func medianTime(ts []time.Time) time.Time {
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	return ts[len(ts)/2]
}
