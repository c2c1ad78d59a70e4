package rules

import (
	_ "embed"
	"sync"
)

//go:embed default.json
var defaultJSON []byte

// DefaultFile returns the embedded default rules: facts about trackers and
// cookies taken from each vendor's own documentation (see the docs field of
// every vendor). The result is shared: do not modify it.
var DefaultFile = sync.OnceValues(func() (*File, error) { return ParseFile(defaultJSON) })

// DefaultJSON returns the embedded default rules file as it is stored, for
// operators who want to start their own from it.
func DefaultJSON() []byte { return append([]byte(nil), defaultJSON...) }
