// Package rewritebench measures the rewriter with each tier of the
// gateway's tracker knowledge (go test -bench RewriteCorpus). It lives
// apart from package rules so that the rules tests do not depend on the
// rewriter building.
package rewritebench
