package rules

import (
	"fmt"
	"math/bits"
	"strings"
)

// Category is a purpose for which a site processes visitors' data. The
// categories are fixed: they are what the banner asks about and what the
// consent cookie records.
type Category uint8

// The categories, in the order the banner shows them.
const (
	// Necessary is always accepted: the site cannot work without it.
	Necessary Category = iota
	// Statistics covers measuring how the site is used (Statistieken).
	Statistics
	// Preferences covers remembering choices and loading functional
	// third-party content such as web fonts (Voorkeuren).
	Preferences
	// Marketing covers advertising, retargeting and social media
	// tracking (Marketing).
	Marketing
	// Unclassified holds what no rule knows (Overige).
	Unclassified

	numCategories
)

var categoryNames = [numCategories]string{"necessary", "statistics", "preferences", "marketing", "unclassified"}

// AllCategories lists every category in banner order.
var AllCategories = []Category{Necessary, Statistics, Preferences, Marketing, Unclassified}

// String returns the category's identifier as used in configs, cookies and
// attributes, e.g. "statistics".
func (c Category) String() string {
	if c < numCategories {
		return categoryNames[c]
	}
	return fmt.Sprintf("category(%d)", uint8(c))
}

// ParseCategory returns the category named s (case-insensitive).
func ParseCategory(s string) (Category, error) {
	for i, n := range categoryNames {
		if strings.EqualFold(s, n) {
			return Category(i), nil
		}
	}
	return 0, fmt.Errorf("unknown category %q (want one of %s)", s, strings.Join(categoryNames[:], ", "))
}

// Set is a set of categories, e.g. the ones a visitor accepted.
type Set uint8

// OnlyNecessary is the set a visitor has before any decision.
const OnlyNecessary Set = 1 << Necessary

// AllSet contains every category.
const AllSet Set = 1<<numCategories - 1

// SetOf returns the set holding cs.
func SetOf(cs ...Category) Set {
	var s Set
	for _, c := range cs {
		s = s.With(c)
	}
	return s
}

// Has reports whether c is in s.
func (s Set) Has(c Category) bool { return s&(1<<c) != 0 }

// With returns s with c added.
func (s Set) With(c Category) Set { return s | 1<<c }

// Without returns s with c removed.
func (s Set) Without(c Category) Set { return s &^ (1 << c) }

// Contains reports whether every category of o is in s.
func (s Set) Contains(o Set) bool { return s&o == o }

// Len returns the number of categories in s.
func (s Set) Len() int { return bits.OnesCount8(uint8(s & AllSet)) }

// Categories returns the members of s in banner order.
func (s Set) Categories() []Category {
	var out []Category
	for _, c := range AllCategories {
		if s.Has(c) {
			out = append(out, c)
		}
	}
	return out
}

// String lists the members of s separated by spaces, e.g. "necessary statistics".
func (s Set) String() string { return setNames[s&AllSet] }

// setNames holds the String of every set, so formatting one never allocates.
var setNames = func() (names [AllSet + 1]string) {
	for s := range names {
		var b strings.Builder
		for _, c := range Set(s).Categories() {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(c.String())
		}
		names[s] = b.String()
	}
	return names
}()

// First returns the first member of s in banner order; s must not be empty.
func (s Set) First() Category { return Category(bits.TrailingZeros8(uint8(s))) }

// ParseSet parses a list of category names separated by spaces or commas.
// Unknown names are an error.
func ParseSet(s string) (Set, error) {
	var out Set
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }) {
		c, err := ParseCategory(f)
		if err != nil {
			return 0, err
		}
		out = out.With(c)
	}
	return out, nil
}
