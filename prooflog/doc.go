// Package prooflog is the consent proof log: the record of every consent
// decision the gateway makes, kept so that an auditor can trust it
// (GDPR Art. 7(1): the controller must be able to demonstrate consent).
//
// # Records and entries
//
// A Record is one decision: consent ID, time (UTC, RFC 3339 with
// milliseconds), every category granted or denied (an ordered name→bool
// list the operator configures), the Method, the policy version, the hash
// of the banner texts and language shown, page origin and path, the masked
// IP and keyed user-agent hash the caller computed, the GPC flag, and the
// sequence number and previous hash the sink assigns.
//
// The log is a sequence of entries, one JSON object per line, schema
// version SchemaVersion (the "v" field). Besides decisions there are
// "texts" entries (the banner texts, once per hash), signed "checkpoint"
// entries (which chain: each names the previous checkpoint, its file and
// the checkpoint policy), "recovery" entries (an incomplete last line set
// aside after a crash) and "discontinuity" entries (complete lines that did
// not verify when the log was reopened, kept in place). Version 1 logs,
// written before checkpoints were chained, are still read.
// Every entry carries seq (+1 each entry) and prev, the SHA-256 of the
// previous entry's exact line bytes including its newline, so that
// `sed -n Np file | sha256sum` checks the chain by hand. SCHEMA.md in this
// directory documents every field, the signed checkpoint message and the
// PostgreSQL tables.
//
// # Sinks
//
// A Sink's Append returns only when the record is durable. FileSink writes
// JSON Lines files with group commit (concurrent Appends share one write
// and fsync), rotation by size and UTC day, signed checkpoints, crash
// recovery and retention; handles for one directory share a writer through
// a caddy.UsagePool so a config reload never opens a second appender.
// PGSink keeps the same chain in one PostgreSQL table shared by all
// gateway instances, serialized by a transaction-scoped advisory lock.
// Neither touches disk or network before the first Append.
//
// Checkpoints are signed with an Ed25519 key kept in Caddy's storage
// (Keyring); auditors verify with the exported public keys alone. Both
// sinks send every checkpoint, once durable, to witnesses outside the
// log's storage (a directory, an INSERT-only PostgreSQL table, an HTTP(S)
// endpoint) without ever delaying an Append; Verify checks the log against
// what a witness kept (ReadWitness). SCHEMA.md's threat model says what
// this proves with and without a witness.
//
// # Auditing
//
// Verify, Show, Export, Stats and Prune work on a Source: OpenDir for a
// file log, OpenPGSource for PostgreSQL, or OpenSource for either.
// PublicKeys exports the verification keys.
package prooflog
