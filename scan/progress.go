package scan

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// TerminalProgress returns an Options.Progress callback that draws a
// progress bar on f (typically os.Stderr) when f is a terminal, and a func
// to call when the scan returns, which removes the bar. When f is not a
// terminal, progress is nil (no callback) and finish does nothing, so
// redirected output stays clean.
func TerminalProgress(f *os.File, description string) (progress func(done, total int), finish func()) {
	if f == nil || !term.IsTerminal(int(f.Fd())) {
		return nil, func() {}
	}
	return NewProgressBar(f, description, 65*time.Millisecond)
}

// NewProgressBar returns a progress callback that draws a bar on w
// whatever w is, redrawing at most once per throttle, and a func that
// finishes and clears it. The bar's total grows as the crawl finds pages.
func NewProgressBar(w io.Writer, description string, throttle time.Duration) (progress func(done, total int), finish func()) {
	bar := progressbar.NewOptions(1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(description),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionThrottle(throttle),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)
	var mu sync.Mutex
	progress = func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if total < 1 {
			total = 1
		}
		if total != bar.GetMax() {
			bar.ChangeMax(total)
		}
		_ = bar.Set(done) // a failed redraw must not stop the scan
	}
	finish = func() {
		mu.Lock()
		defer mu.Unlock()
		_ = bar.Finish()
	}
	return progress, finish
}
