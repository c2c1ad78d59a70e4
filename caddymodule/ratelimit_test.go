package caddymodule

import (
	"fmt"
	"testing"
	"time"
)

func TestDecisionLimiterPerAddress(t *testing.T) {
	l := newDecisionLimiter(6, 3, 100) // 6 a minute, bursts of 3
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		if ok, _ := l.allow("198.51.100.0", now); !ok {
			t.Fatalf("decision %d of a burst refused", i+1)
		}
	}
	ok, wait := l.allow("198.51.100.0", now)
	if ok || wait <= 0 || wait > 10*time.Second {
		t.Fatalf("fourth decision: allowed %v, wait %v; want refused with a wait of up to 10s", ok, wait)
	}
	if ok, _ := l.allow("203.0.113.0", now); !ok {
		t.Fatal("another address was limited too")
	}
	if ok, _ := l.allow("198.51.100.0", now.Add(10*time.Second)); !ok {
		t.Fatal("no decision allowed after the bucket refilled")
	}
}

func TestDecisionLimiterMemoryIsBounded(t *testing.T) {
	l := newDecisionLimiter(6, 3, 1000)
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 50_000; i++ {
		l.allow(fmt.Sprintf("10.%d.%d.0", i/256%256, i%256), now.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(l.keys); n > 1000 {
		t.Fatalf("%d addresses tracked, want at most 1000", n)
	}
}
