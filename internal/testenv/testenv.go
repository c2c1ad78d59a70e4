// Package testenv is what tests need from the machine — a Chromium, a
// PostgreSQL, free loopback ports — and the one rule for when it is
// missing: the test skips with a message saying how to provide it, except
// under CI=true, where CI must have provided it and the test fails.
// scripts/test.sh installs and starts both.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Missing skips the test (or fails it under CI=true) with msg.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: CI must provide it; scripts/test.sh does)")
	}
	t.Skip(msg)
}

// Chromium returns the path of the Chromium to test with:
// $CONSENTGATE_CHROMIUM, or chromium on the PATH. Browser tests are not
// short: -short skips them.
func Chromium(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	for _, p := range []string{os.Getenv("CONSENTGATE_CHROMIUM"), "chromium", "chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	Missing(t, "browser tests need Chromium: apt-get install chromium, or set CONSENTGATE_CHROMIUM")
	return ""
}

// PostgresDSN returns the test database's connection string,
// $CONSENTGATE_TEST_PG_DSN.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("CONSENTGATE_TEST_PG_DSN")
	if dsn == "" {
		Missing(t, "PostgreSQL tests need CONSENTGATE_TEST_PG_DSN: eval \"$(bash scripts/pg-setup.sh)\"")
	}
	return dsn
}

// PostgresRestart returns a database that a test may restart under load,
// $CONSENTGATE_TEST_PG_RESTART_DSN, and the command that restarts it,
// $CONSENTGATE_TEST_PG_RESTART. It is a server of its own (scripts/pg-setup.sh
// makes the cluster consentgate_restart), so the restart never cuts off the
// other packages' tests, which go test runs at the same time.
func PostgresRestart(t testing.TB) (dsn, restart string) {
	t.Helper()
	dsn = os.Getenv("CONSENTGATE_TEST_PG_RESTART_DSN")
	restart = os.Getenv("CONSENTGATE_TEST_PG_RESTART")
	if dsn == "" || restart == "" {
		Missing(t, "the PostgreSQL restart test needs a server of its own: CONSENTGATE_TEST_PG_RESTART_DSN and CONSENTGATE_TEST_PG_RESTART (eval \"$(bash scripts/pg-setup.sh)\")")
	}
	return dsn, restart
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitListening waits (up to 5 s) until something accepts connections on
// addr.
func WaitListening(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}
