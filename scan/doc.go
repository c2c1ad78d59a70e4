// Package scan finds what a site loads and stores before its operator writes
// consent rules: third-party scripts, frames, pixels, stylesheets and
// connections, the inline snippets of known trackers, and cookies. It is the
// library behind `caddy consent scan <url>`.
//
// [Run] crawls the site from a start URL, following same-origin links within
// a depth and page budget, and classifies every finding with a
// [rules.Ruleset] into a vendor and a category, or "unclassified" where no
// rule knows it. By default the ruleset is the gateway's: the curated rules
// and the generated catalogue beneath them; findings the catalogue alone
// classifies say so. It works in two modes:
//
//   - static (the default) fetches pages with net/http and reads their HTML:
//     fast, and needs nothing installed, but sees only what the markup and
//     the Set-Cookie headers of the pages say;
//   - browser (Options.Browser) loads each page in headless Chromium, waits
//     for the network to settle and records every request the page made,
//     including the scripts and pixels that tag managers inject at run time,
//     and every cookie the browser holds afterwards, including those set by
//     JavaScript.
//
// The [Report] aggregates findings by kind and vendor (or host, or cookie
// name) and has three writers: [Report.WriteTable] for people,
// [Report.WriteJSON] for programs and [Report.WriteCaddyfile], a snippet of
// rule and cookie lines for what neither tier knows, to paste into the
// cookie_consent block and complete.
//
// The scanner never records a cookie's value: the [Cookie] type has no field
// for one.
package scan
