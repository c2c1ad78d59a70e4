package rules

import (
	_ "embed"
	"fmt"
	"sync"
)

//go:generate go run ./internal/gen

//go:embed catalogue.json
var catalogueJSON []byte

// CatalogueFile returns the embedded catalogue: the tier beneath the
// curated rules, generated from third-party-web (hosts of trackers, with
// a vendor and a category) and the Open Cookie Database (cookies, with a
// category, purpose and retention). See THIRD_PARTY_NOTICES. The result
// is shared: do not modify it.
var CatalogueFile = sync.OnceValues(func() (*File, error) {
	f, err := ParseFile(catalogueJSON)
	if err != nil {
		return nil, fmt.Errorf("embedded catalogue: %w", err)
	}
	if f.Catalogue == nil {
		return nil, fmt.Errorf("embedded catalogue: the file does not say it is a catalogue")
	}
	return f, nil
})

// DefaultFiles returns the embedded tiers in order of precedence: the
// curated rules, then, with catalogue, the generated catalogue. Operator
// rules go before them.
func DefaultFiles(catalogue bool) ([]*File, error) {
	def, err := DefaultFile()
	if err != nil {
		return nil, fmt.Errorf("embedded default rules: %w", err)
	}
	if !catalogue {
		return []*File{def}, nil
	}
	cat, err := CatalogueFile()
	if err != nil {
		return nil, err
	}
	return []*File{def, cat}, nil
}
