package mail

import (
	"strings"
	"testing"
)

func TestWellFormedLines(t *testing.T) {
	cases := map[string]struct {
		in   string
		want bool
	}{
		"crlf":          {in: "a\r\nb\r\n", want: true},
		"bare lf":       {in: "a\nb\r\n", want: false},
		"bare cr":       {in: "a\rb\r\n", want: false},
		"no final crlf": {in: "a\r\nb", want: false},
		"998":           {in: strings.Repeat("x", 998) + "\r\n", want: true},
		"999":           {in: strings.Repeat("x", 999) + "\r\n", want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := wellFormedLines([]byte(tc.in)); got != tc.want {
				t.Errorf("wellFormedLines = %v, want %v", got, tc.want)
			}
		})
	}
}
