package prooflog

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchmarkAppend64 appends from 64 concurrent goroutines and reports
// appends/s, latency percentiles and fsyncs (or commits) per record.
func benchmarkAppend64(b *testing.B, s interface {
	Append(context.Context, *Record) error
	Counters() Counters
}) {
	const appenders = 64
	var mu sync.Mutex
	var lat []time.Duration
	var next atomic.Int64
	before := s.Counters()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, b.N/appenders+1)
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					break
				}
				r := testRecord(int(i))
				t0 := time.Now()
				if err := s.Append(context.Background(), r); err != nil {
					b.Error(err)
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	after := s.Counters()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(after.Fsyncs-before.Fsyncs)/float64(after.Records-before.Records), "fsyncs/record")
}

// BenchmarkFileSinkAppend64 measures the file sink with fsync on.
func BenchmarkFileSinkAppend64(b *testing.B) {
	s := newTestSink(b, b.TempDir(), nil)
	appendN(b, s, 0, 1) // open the file outside the timing
	benchmarkAppend64(b, s)
}

// BenchmarkPGSinkAppend64 measures the PostgreSQL sink (needs the test
// database).
func BenchmarkPGSinkAppend64(b *testing.B) {
	dsn := pgDSN(b)
	s := newPGTestSink(b, dsn, pgTestTable(b, dsn), nil)
	appendN(b, s, 0, 1)
	benchmarkAppend64(b, s)
}
