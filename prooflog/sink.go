package prooflog

import (
	"context"

	"github.com/caddyserver/caddy/v2"
)

// Sink stores consent records durably. The consent endpoint calls Append
// and sets the consent cookie only when it returns nil; on an error the
// visitor gets 503.
type Sink interface {
	// Append returns only once r is durable (fsync'd or committed). It
	// sets r.Seq and r.Prev.
	Append(ctx context.Context, r *Record) error
	// Close releases the sink; a final signed checkpoint is written when
	// entries are unsigned.
	Close() error
}

// Interface guards.
var (
	_ Sink             = (*FileSink)(nil)
	_ Sink             = (*PGSink)(nil)
	_ Source           = (*DirSource)(nil)
	_ Source           = (*PGSource)(nil)
	_ KeySource        = (*Keyring)(nil)
	_ KeySource        = (*SigningKey)(nil)
	_ caddy.Destructor = (*fileWriter)(nil)
	_ batchBackend     = (*fileWriter)(nil)
	_ batchBackend     = (*PGSink)(nil)
)
