package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/caddyserver/certmagic"
	"github.com/spf13/cobra"

	"github.com/consentgate/consentgate/prooflog"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/scan"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "consent",
		Usage: "verify|show|export|stats|prune|pubkey|scan [flags]",
		Short: "Consent gateway tools: audit the proof log, scan a site",
		Long: `
Tools of the cookie_consent gateway.

For auditors, on the proof log of decisions:
  verify   check the hash chain, the signed checkpoints and (--witness) a
           witness's copy of them; exit 1 at the first break
  show     the history of one visitor's decisions (by consent ID)
  export   decisions as CSV or JSON Lines, by time range and category
  stats    decisions per day and category, acceptance rates
  prune    remove records past the retention period, leaving a signed checkpoint
  pubkey   print the public keys that verify the checkpoints

--config (a Caddyfile or JSON config, default ./Caddyfile) finds the log
(file or PostgreSQL) and the keys as the running gateway has them; --log and
--pubkey name them directly instead. Run "caddy consent <command> --help"
for a command's flags.

For operators:
  scan     crawl a site and report its trackers and cookies
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.AddCommand(verifyCommand(), showCommand(), exportCommand(), statsCommand(), pruneCommand(), pubkeyCommand(), scanCommand())
		},
	})
}

// logFlags are the flags that locate the proof log and its keys.
func logFlags(c *cobra.Command) {
	c.Flags().StringP("config", "c", "", "Caddy config (Caddyfile or JSON) whose cookie_consent proof log to read (default ./Caddyfile)")
	c.Flags().StringP("adapter", "a", "", "config adapter, e.g. caddyfile")
	c.Flags().String("log", "", "proof log directory or PostgreSQL DSN (instead of --config)")
}

func keyFlags(c *cobra.Command) {
	c.Flags().StringArray("pubkey", nil, "`FILE` of public keys (from caddy consent pubkey) instead of Caddy's storage; repeatable, the keys of all files are used")
}

// auditTarget is where the proof log and its keys are.
type auditTarget struct {
	log       string // directory or DSN
	storage   certmagic.Storage
	witnesses []string // the witnesses the config names for the log
}

// resolveTarget reads the proof log location and storage from flags or the
// config, as the gateway running that config has them.
func resolveTarget(fl caddycmd.Flags) (*auditTarget, error) {
	t := &auditTarget{log: fl.String("log")}
	cfgFile, adapter := fl.String("config"), fl.String("adapter")
	if t.log != "" && cfgFile == "" {
		return t, nil
	}
	cfgJSON, _, _, err := caddycmd.LoadConfig(cfgFile, adapter)
	if err != nil {
		return nil, fmt.Errorf("loading config: %w", err)
	}
	if cfgJSON == nil {
		if t.log == "" {
			t.log = DefaultProofLogDir()
		}
		t.storage = caddy.DefaultStorage
		return t, nil
	}
	var cfg struct {
		StorageRaw json.RawMessage `json:"storage"`
	}
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	if t.storage, err = loadStorage(cfg.StorageRaw); err != nil {
		return nil, err
	}
	if t.log == "" {
		handlers := findHandlers(cfgJSON)
		if len(handlers) == 0 {
			return nil, errors.New("the config has no cookie_consent handler; name the log with --log")
		}
		repl := caddy.NewReplacer()
		var targets []string
		for _, h := range handlers {
			target := DefaultProofLogDir()
			if pl := h.ProofLog; pl != nil {
				switch {
				case pl.Postgres != "":
					target = repl.ReplaceKnown(pl.Postgres, "")
				case pl.Dir != "":
					target = repl.ReplaceKnown(pl.Dir, "")
				}
				for _, w := range pl.Witnesses {
					if w = repl.ReplaceKnown(w, ""); !contains(t.witnesses, w) {
						t.witnesses = append(t.witnesses, w)
					}
				}
			}
			if !contains(targets, target) {
				targets = append(targets, target)
			}
		}
		if len(targets) > 1 {
			return nil, fmt.Errorf("the config has %d proof logs (%s); choose one with --log", len(targets), strings.Join(targets, ", "))
		}
		t.log = targets[0]
	}
	return t, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// findHandlers returns every cookie_consent handler config in a Caddy JSON
// config, however deeply routes nest them.
func findHandlers(cfgJSON []byte) []Handler {
	var root any
	if err := json.Unmarshal(cfgJSON, &root); err != nil {
		return nil
	}
	var out []Handler
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["handler"] == "cookie_consent" {
				b, _ := json.Marshal(x)
				var h Handler
				if json.Unmarshal(b, &h) == nil {
					out = append(out, h)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(root)
	return out
}

// loadStorage builds the config's storage module, or Caddy's default.
func loadStorage(raw json.RawMessage) (certmagic.Storage, error) {
	if len(raw) == 0 {
		return caddy.DefaultStorage, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("reading the config's storage: %w", err)
	}
	var name string
	if err := json.Unmarshal(fields["module"], &name); err != nil || name == "" {
		return nil, errors.New("the config's storage names no module")
	}
	delete(fields, "module")
	rest, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	val, err := ctx.LoadModuleByID("caddy.storage."+name, rest)
	if err != nil {
		return nil, fmt.Errorf("loading the config's storage: %w", err)
	}
	conv, ok := val.(caddy.StorageConverter)
	if !ok {
		return nil, fmt.Errorf("storage module %s is not a storage", name)
	}
	return conv.CertMagicStorage()
}

// publicKeys reads the verification keys from --pubkey or the storage,
// creating nothing.
func publicKeys(ctx context.Context, fl caddycmd.Flags, t *auditTarget) ([]prooflog.PublicKey, error) {
	if files, _ := fl.GetStringArray("pubkey"); len(files) > 0 {
		var keys []prooflog.PublicKey
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading public keys: %w", err)
			}
			ks, err := prooflog.ParsePublicKeys(data)
			if err != nil {
				return nil, fmt.Errorf("public keys in %s: %w", f, err)
			}
			for _, k := range ks {
				if !slices.ContainsFunc(keys, func(h prooflog.PublicKey) bool { return h.KeyID == k.KeyID }) {
					keys = append(keys, k)
				}
			}
		}
		return keys, nil
	}
	if t.storage == nil {
		// No keys given: a log without checkpoints still verifies, and
		// Verify names the key a checkpoint needs.
		return nil, nil
	}
	keys, err := prooflog.PublicKeys(ctx, t.storage, prooflog.DefaultKeyStorageKey)
	if err != nil {
		return nil, fmt.Errorf("reading public keys from storage: %w", err)
	}
	return keys, nil
}

func openSource(ctx context.Context, t *auditTarget) (prooflog.Source, error) {
	src, err := prooflog.OpenSource(ctx, t.log)
	if err != nil {
		return nil, fmt.Errorf("opening the proof log %s: %w", redactDSN(t.log), err)
	}
	return src, nil
}

// redactDSN hides a password in a connection string shown in messages.
func redactDSN(s string) string {
	if at := strings.LastIndexByte(s, '@'); at >= 0 && strings.Contains(s, "://") {
		scheme := s[:strings.Index(s, "://")+3]
		user := s[len(scheme):at]
		if i := strings.IndexByte(user, ':'); i >= 0 {
			return scheme + user[:i] + ":***" + s[at:]
		}
	}
	return s
}

// runE adapts a subcommand to cobra with Caddy's exit codes.
func runE(f func(cmd *cobra.Command, args []string, fl caddycmd.Flags) (int, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		return caddycmd.WrapCommandFuncForCobra(func(fl caddycmd.Flags) (int, error) {
			return f(cmd, args, fl)
		})(cmd, args)
	}
}

func commandContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// onLog opens the proof log the flags name and runs f on it; any error is a
// failed command.
func onLog(fl caddycmd.Flags, f func(ctx context.Context, t *auditTarget, src prooflog.Source) error) (int, error) {
	ctx, cancel := commandContext()
	defer cancel()
	t, err := resolveTarget(fl)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	src, err := openSource(ctx, t)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	defer src.Close()
	if err := f(ctx, t, src); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	return caddy.ExitCodeSuccess, nil
}

// filterFlags are the time and category filters of export and stats.
func filterFlags(c *cobra.Command) {
	c.Flags().String("from", "", "only decisions at or after this time (RFC 3339 or YYYY-MM-DD)")
	c.Flags().String("to", "", "only decisions before this time (RFC 3339 or YYYY-MM-DD)")
	c.Flags().StringSlice("granted", nil, "only decisions that granted all these categories")
}

func parseFilter(fl caddycmd.Flags) (prooflog.Filter, error) {
	var f prooflog.Filter
	var err error
	if f.From, err = parseTime(fl.String("from")); err != nil {
		return f, fmt.Errorf("--from: %w", err)
	}
	if f.To, err = parseTime(fl.String("to")); err != nil {
		return f, fmt.Errorf("--to: %w", err)
	}
	granted, _ := fl.GetStringSlice("granted")
	for _, g := range granted {
		if _, err := rules.ParseCategory(g); err != nil {
			return f, fmt.Errorf("--granted: %w", err)
		}
	}
	f.Granted = granted
	return f, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD", s)
	}
	return t, nil
}

func verifyCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "verify [--config FILE | --log DIR|DSN] [--pubkey FILE]... [--witness DIR|DSN|FILE]...",
		Short: "Verify the proof log: hash chain, signed checkpoints, witnesses",
		Long: `Walks every entry (files in order, or database rows) and checks each one's
hash of its predecessor and its sequence number, every checkpoint's signature
with the public keys, that checkpoints follow each other as they say (none
missing, none further apart than the policy they announce, files in the order
rotation named them), and that each checkpoint a witness holds is in the log
unchanged. Reports the first break with its position and exits 1.

What this proves, and what only a witness can, is in prooflog/SCHEMA.md
("Threat model"). In short: without a witness, verify cannot tell a log cut
right after a checkpoint from a complete one, and entries after the last
checkpoint (the "unsigned tail", reported as a number) are protected by the
hash chain only. --witness reads the checkpoints a witness kept (a directory
from "proof_log { witness DIR }", a postgres:// DSN of the witness table, or a
file of checkpoint lines an HTTP witness stored), which catches truncation,
rewriting and deleted files.

Exit status: 0 when the log verifies (an unsigned tail or a legacy part is
printed, not hidden); 1 at a break, and with --strict also when entries are
unsigned or written in schema version 1.`,
		Args: cobra.NoArgs,
	}
	logFlags(c)
	keyFlags(c)
	c.Flags().StringArray("witness", nil, "a witness's copy of the checkpoints: a `DIR|DSN|FILE` (directory, postgres:// DSN or file of checkpoint lines); repeatable")
	c.Flags().StringSlice("known-head", nil, "a head recorded before, as `SEQ:HASH`; repeatable")
	c.Flags().Bool("strict", false, "also fail when entries after the last checkpoint are unsigned or part of the log is schema version 1")
	c.Flags().Bool("json", false, "print the report as JSON")
	c.RunE = runE(func(cmd *cobra.Command, args []string, fl caddycmd.Flags) (int, error) {
		var heads []prooflog.Head
		known, _ := fl.GetStringSlice("known-head")
		for _, k := range known {
			seq, hash, ok := strings.Cut(k, ":")
			var h prooflog.Head
			if _, err := fmt.Sscan(seq, &h.Seq); !ok || err != nil || len(hash) != 64 {
				return caddy.ExitCodeFailedStartup, fmt.Errorf("--known-head %q: want SEQ:HASH (64 hex digits)", k)
			}
			h.Hash = hash
			heads = append(heads, h)
		}
		witnesses, _ := fl.GetStringArray("witness")
		return onLog(fl, func(ctx context.Context, t *auditTarget, src prooflog.Source) error {
			keys, err := publicKeys(ctx, fl, t)
			if err != nil {
				return err
			}
			opts := prooflog.VerifyOptions{Keys: keys, KnownHeads: heads}
			for _, w := range witnesses {
				lines, err := prooflog.ReadWitness(ctx, w)
				if err != nil {
					return fmt.Errorf("--witness %s: %w", redactDSN(w), err)
				}
				if len(lines) == 0 {
					return fmt.Errorf("--witness %s holds no checkpoints: is it the witness of this log?", redactDSN(w))
				}
				opts.Witnessed = append(opts.Witnessed, lines...)
			}
			rep, err := prooflog.Verify(ctx, src, opts)
			out := cmd.OutOrStdout()
			if fl.Bool("json") {
				doc := struct {
					OK     bool                   `json:"ok"`
					Break  *prooflog.ChainError   `json:"break,omitempty"`
					Error  string                 `json:"error,omitempty"`
					Report *prooflog.VerifyReport `json:"report,omitempty"`
				}{OK: err == nil, Report: rep}
				if err != nil {
					doc.Error = err.Error()
					_ = errors.As(err, &doc.Break)
				}
				if jerr := json.NewEncoder(out).Encode(doc); jerr != nil {
					return jerr
				}
			} else {
				writeVerifyReport(out, t, rep, err, len(witnesses))
			}
			if err != nil {
				return err
			}
			if fl.Bool("strict") {
				switch {
				case rep.UnsignedTail > 0:
					return fmt.Errorf("--strict: %d entries after the last checkpoint are not signed", rep.UnsignedTail)
				case rep.Legacy != nil:
					return fmt.Errorf("--strict: entries seq %d to %d are schema version 1", rep.Legacy.FirstSeq, rep.Legacy.LastSeq)
				}
			}
			return nil
		})
	})
	return c
}

// writeVerifyReport prints what verify found, first line first: OK only
// when every entry is signed.
func writeVerifyReport(out io.Writer, t *auditTarget, rep *prooflog.VerifyReport, err error, witnesses int) {
	if err != nil {
		fmt.Fprintf(out, "FAILED: %v\n", err)
		if rep == nil {
			return
		}
	} else if rep.UnsignedTail == 0 {
		fmt.Fprintf(out, "OK: %d entries (%d decisions, %d checkpoints) verified and signed in %s\n", rep.Entries, rep.Decisions, rep.Checkpoints, redactDSN(t.log))
	} else {
		fmt.Fprintf(out, "VERIFIED UP TO THE LAST CHECKPOINT: %d entries (%d decisions, %d checkpoints) in %s; the last %d are not signed yet\n",
			rep.Entries, rep.Decisions, rep.Checkpoints, redactDSN(t.log), rep.UnsignedTail)
	}
	fmt.Fprintf(out, "head: seq %d, hash %s\n", rep.Head.Seq, rep.Head.Hash)
	if cp := rep.LastCheckpoint; cp != nil {
		fmt.Fprintf(out, "last signed checkpoint: seq %d, hash %s (keep it: --known-head %d:%s)\n", cp.Seq, cp.Hash, cp.Seq, cp.Hash)
	}
	if rep.UnsignedTail > 0 {
		fmt.Fprintf(out, "unsigned tail: %d entries after the last checkpoint are protected by the hash chain only\n", rep.UnsignedTail)
	}
	if p := rep.Policy; p != nil {
		every, interval := "no count limit", "no time limit"
		if p.Every > 0 {
			every = fmt.Sprintf("at most %d decisions and texts apart", p.Every)
		}
		if p.IntervalMS > 0 {
			d := (time.Duration(p.IntervalMS) * time.Millisecond).String()
			if strings.HasSuffix(d, "m0s") {
				d = d[:len(d)-2]
			}
			if strings.HasSuffix(d, "h0m") {
				d = d[:len(d)-2]
			}
			interval = "at least every " + d + " while entries come in"
		}
		fmt.Fprintf(out, "checkpoint policy: %s, %s\n", every, interval)
	}
	if witnesses > 0 {
		if w := rep.LastWitnessed; w != nil {
			fmt.Fprintf(out, "witness: the log holds all %d witnessed checkpoints unchanged; the newest is seq %d, %d entries after it are not witnessed yet\n", rep.Witnessed, w.Seq, rep.UnwitnessedTail)
		} else if err == nil {
			fmt.Fprintf(out, "witness: every witnessed checkpoint lies before the log's signed prune cut\n")
		}
	} else {
		fmt.Fprintf(out, "no witness given: truncation right after a checkpoint, or a rewrite by the key's holder, would not show (--witness)\n")
		for _, w := range t.witnesses {
			if prooflog.WitnessKind(w) != "http" {
				fmt.Fprintf(out, "  the config sends checkpoints to the witness %s: check against it with --witness %s\n", prooflog.RedactTarget(w), prooflog.RedactTarget(w))
			} else {
				fmt.Fprintf(out, "  the config sends checkpoints to %s: check against what it stored with --witness FILE\n", prooflog.RedactTarget(w))
			}
		}
	}
	if l := rep.Legacy; l != nil {
		fmt.Fprintf(out, "legacy: entries seq %d to %d (%d) are schema version 1: their chain and signatures verify, but missing checkpoints and files are not detectable there\n", l.FirstSeq, l.LastSeq, l.Entries)
	}
	for _, d := range rep.Discontinuities {
		fmt.Fprintf(out, "discontinuity: %s lines %d to %d (%d bytes, sha256 %s) do not verify (%s); recorded at %s and kept in place\n",
			d.File, d.FromLine, d.FromLine+d.Lines-1, d.Bytes, d.SHA256, d.Reason, d.At)
	}
	for _, r := range rep.Recoveries {
		fmt.Fprintf(out, "recovery after a crash: %d bytes of an incomplete last line of %s set aside in %s\n", r.Bytes, r.File, r.SetAside)
	}
	if len(rep.MissingTexts) > 0 {
		fmt.Fprintf(out, "warning: %d texts hashes used by decisions have no texts entry: %s\n", len(rep.MissingTexts), strings.Join(rep.MissingTexts, ", "))
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
}

func showCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "show [--config FILE | --log DIR|DSN] (--id <consent-id> | -- <consent-id>)",
		Short: "Show every decision of one visitor, oldest first",
		Long: `Prints the full history of one consent ID (the ID in the visitor's cookie and
in the consent endpoint's answer), e.g. to answer an access request. An ID may
start with "-": give it with --id, or after "--".`,
		Args: cobra.MaximumNArgs(1),
	}
	logFlags(c)
	c.Flags().String("id", "", "the consent ID")
	c.RunE = runE(func(cmd *cobra.Command, args []string, fl caddycmd.Flags) (int, error) {
		id := fl.String("id")
		switch {
		case id == "" && len(args) == 1:
			id = args[0]
		case id == "" || len(args) == 1:
			return caddy.ExitCodeFailedStartup, errors.New("give the consent ID once: --id <id>, or after --")
		}
		return onLog(fl, func(ctx context.Context, _ *auditTarget, src prooflog.Source) error {
			recs, err := prooflog.Show(ctx, src, id)
			if err != nil {
				return err
			}
			if len(recs) == 0 {
				return fmt.Errorf("no decisions of consent ID %q", id)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			for _, r := range recs {
				if err := enc.Encode(showRecord(r)); err != nil {
					return err
				}
			}
			return nil
		})
	})
	return c
}

// showRecord is a record as `show` prints it.
func showRecord(r *prooflog.Record) map[string]any {
	cats := make(map[string]bool)
	for _, c := range r.Categories {
		cats[c.Name] = c.Granted
	}
	return map[string]any{
		"seq": r.Seq, "time": r.Time.UTC().Format("2006-01-02T15:04:05.000Z"), "consent_id": r.ConsentID,
		"method": r.Method, "categories": cats, "policy_version": r.PolicyVersion, "language": r.Language,
		"texts_hash": r.TextsHash, "origin": r.Origin, "path": r.Path, "ip_masked": r.MaskedIP, "gpc": r.GPC,
		// Schema version 3: services granted one by one, and an embed's
		// vendor; empty in older records.
		"services": append([]string{}, r.Services...), "vendor": r.Vendor,
	}
}

func exportCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "export [--format csv|jsonl] [--from T] [--to T] [--granted C,...] [--config FILE | --log DIR|DSN]",
		Short: "Export decisions as CSV or JSON Lines",
		Args:  cobra.NoArgs,
		Long: `Writes the decisions to standard output. JSON Lines are the log's own lines,
so they still hash to the chain.`,
	}
	logFlags(c)
	filterFlags(c)
	c.Flags().String("format", "csv", "csv or jsonl")
	c.RunE = runE(func(cmd *cobra.Command, args []string, fl caddycmd.Flags) (int, error) {
		format := prooflog.Format(fl.String("format"))
		if format != prooflog.FormatCSV && format != prooflog.FormatJSONL {
			return caddy.ExitCodeFailedStartup, fmt.Errorf("--format %q: want csv or jsonl", format)
		}
		f, err := parseFilter(fl)
		if err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		return onLog(fl, func(ctx context.Context, _ *auditTarget, src prooflog.Source) error {
			n, err := prooflog.Export(ctx, src, cmd.OutOrStdout(), format, f)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d decisions exported\n", n)
			return nil
		})
	})
	return c
}

func statsCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "stats [--from T] [--to T] [--json] [--config FILE | --log DIR|DSN]",
		Short: "Decisions per day and category, with acceptance rates",
		Args:  cobra.NoArgs,
	}
	logFlags(c)
	filterFlags(c)
	c.Flags().Bool("json", false, "print JSON")
	c.RunE = runE(func(cmd *cobra.Command, args []string, fl caddycmd.Flags) (int, error) {
		f, err := parseFilter(fl)
		if err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		return onLog(fl, func(ctx context.Context, _ *auditTarget, src prooflog.Source) error {
			st, err := prooflog.Stats(ctx, src, f)
			if err != nil {
				return err
			}
			if fl.Bool("json") {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(st)
			}
			writeStats(cmd.OutOrStdout(), st)
			return nil
		})
	})
	return c
}

func writeStats(w io.Writer, st *prooflog.StatsReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "decisions\t%d\n", st.Decisions)
	for m, n := range st.Methods {
		fmt.Fprintf(tw, "  %s\t%d\n", m, n)
	}
	fmt.Fprintf(tw, "\ncategory\tgranted\toffered\tacceptance\n")
	for _, c := range st.Categories {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\n", c.Name, c.Granted, c.Offered, 100*c.Rate)
	}
	fmt.Fprintf(tw, "\nday\tdecisions")
	for _, c := range st.Categories {
		fmt.Fprintf(tw, "\t%s", c.Name)
	}
	fmt.Fprintln(tw)
	for _, d := range st.Days {
		fmt.Fprintf(tw, "%s\t%d", d.Day, d.Decisions)
		for _, c := range st.Categories {
			rate := "-"
			for _, dc := range d.Categories {
				if dc.Name == c.Name {
					rate = fmt.Sprintf("%.0f%%", 100*dc.Rate)
				}
			}
			fmt.Fprintf(tw, "\t%s", rate)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

func pruneCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "prune (--before T | --older-than DURATION) [--config FILE | --log DIR|DSN]",
		Short: "Remove records past the retention period, leaving a signed checkpoint",
		Args:  cobra.NoArgs,
		Long: `Writes a signed checkpoint naming the cut, then removes what lies before it
(whole files of the file log; rows of the database), so the rest still
verifies. Needs the signing key in Caddy's storage (--config).`,
	}
	logFlags(c)
	c.Flags().String("before", "", "remove records before this time (RFC 3339 or YYYY-MM-DD)")
	c.Flags().String("older-than", "", "remove records older than this duration, e.g. 548d")
	c.RunE = runE(func(cmd *cobra.Command, args []string, fl caddycmd.Flags) (int, error) {
		ctx, cancel := commandContext()
		defer cancel()
		var before time.Time
		switch b, o := fl.String("before"), fl.String("older-than"); {
		case b != "" && o == "":
			t, err := parseTime(b)
			if err != nil {
				return caddy.ExitCodeFailedStartup, fmt.Errorf("--before: %w", err)
			}
			before = t
		case o != "" && b == "":
			d, err := caddy.ParseDuration(o)
			if err != nil || d <= 0 {
				return caddy.ExitCodeFailedStartup, fmt.Errorf("--older-than %q: want a duration such as 548d", o)
			}
			before = time.Now().Add(-d)
		default:
			return caddy.ExitCodeFailedStartup, errors.New("give exactly one of --before and --older-than")
		}
		t, err := resolveTarget(fl)
		if err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		if t.storage == nil {
			return caddy.ExitCodeFailedStartup, errors.New("prune signs a checkpoint: pass --config so the signing key can be found in Caddy's storage")
		}
		rep, err := prooflog.Prune(ctx, t.log, &prooflog.Keyring{Storage: t.storage}, before)
		if err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		out := cmd.OutOrStdout()
		if rep.Cut == nil {
			what := "no file holds only records"
			if strings.HasPrefix(t.log, "postgres://") || strings.HasPrefix(t.log, "postgresql://") {
				what = "no record is"
			}
			fmt.Fprintf(out, "nothing to prune: %s older than %s (the file being written is never removed)\n", what, before.UTC().Format(time.RFC3339))
			return caddy.ExitCodeSuccess, nil
		}
		fmt.Fprintf(out, "pruned everything up to seq %d (hash %s)\n", rep.Cut.Seq, rep.Cut.Hash)
		if len(rep.RemovedFiles) > 0 {
			fmt.Fprintf(out, "removed %d files: %s\n", len(rep.RemovedFiles), strings.Join(rep.RemovedFiles, ", "))
		}
		if rep.RemovedEntries > 0 {
			fmt.Fprintf(out, "removed %d entries\n", rep.RemovedEntries)
		}
		fmt.Fprintf(out, "signed prune checkpoint: seq %d, hash %s\n", rep.Checkpoint.Seq, rep.Checkpoint.Hash)
		return caddy.ExitCodeSuccess, nil
	})
	return c
}

func pubkeyCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "pubkey [--config FILE]",
		Short: "Print the public keys that verify the proof log's checkpoints",
		Args:  cobra.NoArgs,
		Long: `Prints the public keys as JSON; give the file to auditors, who verify with
caddy consent verify --log DIR --pubkey FILE. Creates nothing.`,
	}
	logFlags(c)
	c.RunE = runE(func(cmd *cobra.Command, args []string, fl caddycmd.Flags) (int, error) {
		ctx, cancel := commandContext()
		defer cancel()
		t, err := resolveTarget(fl)
		if err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		if t.storage == nil {
			t.storage = caddy.DefaultStorage
		}
		keys, err := prooflog.PublicKeys(ctx, t.storage, prooflog.DefaultKeyStorageKey)
		if err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		out, err := prooflog.MarshalPublicKeys(keys)
		if err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		_, err = cmd.OutOrStdout().Write(append(out, '\n'))
		return caddy.ExitCodeSuccess, err
	})
	return c
}

func scanCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "scan <url> [--browser] [--depth N] [--pages N] [--format table|json|caddyfile]",
		Short: "Crawl a site and report its trackers and cookies",
		Long: `Fetches the site's pages (same-origin links, bounded depth and count) and
reports every third-party script, frame, pixel and cookie, with the category
the rules give it or "unclassified". --browser loads pages in headless
Chromium to also see what tag managers inject and cookies set by JavaScript.
--format caddyfile writes rules for what is unclassified, to paste into the
cookie_consent block.`,
		Args: cobra.ExactArgs(1),
	}
	c.Flags().Bool("browser", false, "load pages in headless Chromium")
	c.Flags().String("chromium", "", "path of the Chromium binary (default: found on PATH)")
	c.Flags().Int("depth", scan.DefaultMaxDepth, "how many links deep to follow")
	c.Flags().Int("pages", scan.DefaultMaxPages, "at most this many pages")
	c.Flags().Int("concurrency", scan.DefaultConcurrency, "pages fetched at once")
	c.Flags().Duration("timeout", scan.DefaultTimeout, "per-page timeout")
	c.Flags().Duration("deadline", 10*time.Minute, "overall time limit")
	c.Flags().String("format", "table", "table, json or caddyfile")
	c.RunE = runE(func(cmd *cobra.Command, args []string, fl caddycmd.Flags) (int, error) {
		format := fl.String("format")
		if format != "table" && format != "json" && format != "caddyfile" {
			return caddy.ExitCodeFailedStartup, fmt.Errorf("--format %q: want table, json or caddyfile", format)
		}
		ctx, cancel := commandContext()
		defer cancel()
		ctx, cancelDeadline := context.WithTimeout(ctx, fl.Duration("deadline"))
		defer cancelDeadline()
		opts := scan.Options{
			Start:        args[0],
			MaxDepth:     fl.Int("depth"),
			MaxPages:     fl.Int("pages"),
			Concurrency:  fl.Int("concurrency"),
			Timeout:      fl.Duration("timeout"),
			Browser:      fl.Bool("browser"),
			ChromiumPath: fl.String("chromium"),
		}
		progress, finish := scan.TerminalProgress(os.Stderr, "scanning")
		opts.Progress = progress
		rep, err := scan.Run(ctx, opts)
		finish()
		if rep == nil {
			return caddy.ExitCodeFailedStartup, err
		}
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "scan incomplete: %v\n", err)
		}
		switch format {
		case "json":
			err = rep.WriteJSON(cmd.OutOrStdout())
		case "caddyfile":
			err = rep.WriteCaddyfile(cmd.OutOrStdout())
		default:
			err = rep.WriteTable(cmd.OutOrStdout())
		}
		if err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		return caddy.ExitCodeSuccess, nil
	})
	return c
}
