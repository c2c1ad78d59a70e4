package rules

import "testing"

func TestSetRoundTripsThroughItsString(t *testing.T) {
	for s := Set(0); s <= AllSet; s++ {
		got, err := ParseSet(s.String())
		if err != nil || got != s {
			t.Fatalf("ParseSet(%q) = %v, %v; want %v", s.String(), got, err, s)
		}
	}
}

func TestParseSetRejectsUnknownNames(t *testing.T) {
	if _, err := ParseSet("statistics, cookies"); err == nil {
		t.Fatal("unknown category accepted")
	}
	s, err := ParseSet("Statistics,marketing")
	if err != nil || s != SetOf(Statistics, Marketing) {
		t.Fatalf("got %v, %v", s, err)
	}
}
