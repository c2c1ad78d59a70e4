package caddymodule

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/consentgate/consentgate/banner"
	"github.com/consentgate/consentgate/rules"
)

// This file holds the configuration checks whose messages must lead an
// operator to the fix: the Caddyfile adapter runs them where it can name
// the line, Provision runs the ones that depend on the machine (files,
// environment) for JSON configs and placeholders.

// minSecretLen is the shortest secret the consent cookie is signed with.
const minSecretLen = 32

// secretAdvice says how to get a good secret.
const secretAdvice = "generate one with `openssl rand -base64 32`, or leave the option out to have one generated into Caddy's storage"

// checkLiteralSecret checks a secret written in the Caddyfile itself. One
// with a runtime placeholder ({env.…}) is checked at provision time, where
// its value is known. The secret is never quoted in the message.
func checkLiteralSecret(secret string) error {
	if strings.Contains(secret, "{") {
		return nil
	}
	if len(secret) < minSecretLen {
		return fmt.Errorf("is %d bytes; at least %d bytes are needed: %s", len(secret), minSecretLen, secretAdvice)
	}
	return nil
}

var envPlaceholder = regexp.MustCompile(`\{env\.([A-Za-z_][A-Za-z0-9_]*)\}`)

// shortSecretError explains a secret that is too short once placeholders
// are replaced, naming the environment variables it reads.
func shortSecretError(opt, template string, got int) error {
	var vars []string
	for _, m := range envPlaceholder.FindAllStringSubmatch(template, -1) {
		vars = append(vars, m[1])
	}
	if len(vars) == 0 {
		return fmt.Errorf("%s is %d bytes; at least %d bytes are needed: %s", opt, got, minSecretLen, secretAdvice)
	}
	return fmt.Errorf("%s is %d bytes after placeholders; at least %d bytes are needed: is %s set in Caddy's environment (systemd: EnvironmentFile=)? Set it to the output of `openssl rand -base64 32`",
		opt, got, minSecretLen, strings.Join(vars, ", "))
}

// checkProofLogPlaceholders names the environment variable behind an
// empty proof_log location ({env.…} in postgres, postgres_owner or dir),
// which would otherwise surface as "no DSN configured" or a log in the
// working directory.
func checkProofLogPlaceholders(pl *ProofLogConfig) error {
	if pl == nil {
		return nil
	}
	repl := caddy.NewReplacer()
	for _, o := range []struct{ opt, template string }{
		{"postgres", pl.Postgres},
		{"postgres_owner", pl.PostgresOwner},
		{"dir", pl.Dir},
	} {
		if o.template == "" || strings.TrimSpace(repl.ReplaceKnown(o.template, "")) != "" {
			continue
		}
		var vars []string
		for _, m := range envPlaceholder.FindAllStringSubmatch(o.template, -1) {
			vars = append(vars, m[1])
		}
		if len(vars) == 0 {
			return fmt.Errorf("proof_log %s %s is empty after placeholders", o.opt, o.template)
		}
		return fmt.Errorf("proof_log %s %s is empty: is %s set in Caddy's environment (systemd: EnvironmentFile=)?",
			o.opt, o.template, strings.Join(vars, ", "))
	}
	return nil
}

// checkTextKey checks the key of a `text` line against the banner's keys.
func checkTextKey(lang, key string) error {
	keys := banner.Keys()
	if slices.Contains(keys, key) {
		return nil
	}
	return fmt.Errorf("text %s %s: unknown text key; the keys are %s (README, \"Banner texts\", lists them with the built-in texts)",
		lang, key, strings.Join(keys, ", "))
}

// checkBannerTexts checks the languages and text overrides together, as
// the banner will use them: every language a tag, none twice, texts only
// for offered languages, and every text for a language without built-in
// texts.
func checkBannerTexts(categories, languages []string, texts map[string]map[string]string, policyChange string) error {
	if len(languages) == 0 && len(texts) == 0 {
		return nil
	}
	enabled, err := parseEnabled(categories)
	if err != nil {
		return err
	}
	var optional []rules.Category
	for _, c := range enabled.Categories() {
		if c != rules.Necessary {
			optional = append(optional, c)
		}
	}
	_, err = banner.New(banner.Config{
		Prefix:       DefaultPrefix,
		Categories:   optional,
		Languages:    languages,
		Texts:        texts,
		PolicyChange: policyChange,
	})
	if err == nil {
		return nil
	}
	msg := strings.ReplaceAll(strings.TrimPrefix(err.Error(), "banner: "), "\nbanner: ", "; ")
	if strings.Contains(msg, "has no built-in texts") {
		msg += fmt.Sprintf("; give each missing text with a line `text <language> <key> \"…\"`, or offer only languages with built-in texts (%s)",
			strings.Join(banner.BuiltinLanguages(), ", "))
	}
	return errors.New(msg)
}

// checkRulesFile reads and parses an operator's rules file, saying where
// a relative path was looked for.
func checkRulesFile(path string) (*rules.File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		where := ""
		if !filepath.IsAbs(path) {
			if wd, werr := os.Getwd(); werr == nil {
				where = fmt.Sprintf(" (a relative path is read from the directory Caddy runs in, %s)", wd)
			}
		}
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("rules_file %s: no such file%s; give the path of a rules file (format in README, \"Rules file format\")", path, where)
		}
		return nil, fmt.Errorf("rules_file %s: %w%s", path, err, where)
	}
	f, err := rules.ParseFile(data)
	if err != nil {
		return nil, fmt.Errorf("rules_file %s: %w", path, err)
	}
	return f, nil
}
