//go:build !unix

package prooflog

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir opens dir/consent.lock. Without flock on this platform it does
// not keep a second process out; run one gateway per log directory.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	return f, nil
}
