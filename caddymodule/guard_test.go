package caddymodule

import "testing"

func TestAcceptsCoding(t *testing.T) {
	tests := []struct {
		ae, coding string
		want       bool
	}{
		{"gzip, deflate, br, zstd", "br", true},
		{"gzip, deflate", "br", false},
		{"gzip;q=0.8, br;q=0", "br", false},
		{"GZIP", "gzip", true},
		{"*", "br", true},
		{"*;q=0, gzip", "br", false},
		{"br;q=0, *", "br", false},
		{"", "gzip", false},
		{"br ; q=0.5", "br", true},
	}
	for _, tt := range tests {
		if got := acceptsCoding(tt.ae, tt.coding); got != tt.want {
			t.Errorf("acceptsCoding(%q, %q) = %v, want %v", tt.ae, tt.coding, got, tt.want)
		}
	}
}
