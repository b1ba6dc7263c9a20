// Copyright 2017 The Bazel Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package syntax

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

var quoteTests = []struct {
	q   string // quoted
	s   string // unquoted (actual string)
	std bool   // q is standard form for s
}{
	{`""`, "", true},
	{`''`, "", false},
	{`"hello"`, `hello`, true},
	{`'hello'`, `hello`, false},
	{`"quote\"here"`, `quote"here`, true},
	{`'quote"here'`, `quote"here`, false},
	{`"quote'here"`, `quote'here`, true},
	{`'quote\'here'`, `quote'here`, false},

	{`"\a\b\f\n\r\t\v\x00\x7f"`, "\a\b\f\n\r\t\v\000\x7F", true},
	{`"\a\b\f\n\r\t\v\x00\x7f"`, "\a\b\f\n\r\t\v\000\x7F", false},
	{`"\a\b\f\n\r\t\v\x00\x7f"`, "\a\b\f\n\r\t\v\000\x7F", false},
	{`"\a\b\f\n\r\t\v\x00\x7f\"'\\\x03"`, "\a\b\f\n\r\t\v\x00\x7F\"'\\\x03", true},
	{`"\a\b\f\n\r\t\v\x00\x7f\"'\\\x03"`, "\a\b\f\n\r\t\v\x00\x7F\"'\\\x03", false},
	{`"\a\b\f\n\r\t\v\x00\x7f\"'\\\x03"`, "\a\b\f\n\r\t\v\x00\x7F\"'\\\x03", false},
	{`"\a\b\f\n\r\t\v\x00\x7f\"\\\x03"`, "\a\b\f\n\r\t\v\x00\x7F\"\\\x03", false},
	{
		`"cat $(SRCS) | grep '\\s*ip_block:' | sed -e 's/\\s*ip_block: \"\\([^ ]*\\)\"/    \x27\\1\x27,/g' >> $@; "`,
		"cat $(SRCS) | grep '\\s*ip_block:' | sed -e 's/\\s*ip_block: \"\\([^ ]*\\)\"/    '\\1',/g' >> $@; ",
		false,
	},
	{
		`"cat $(SRCS) | grep '\\s*ip_block:' | sed -e 's/\\s*ip_block: \"\\([^ ]*\\)\"/    '\\1',/g' >> $@; "`,
		"cat $(SRCS) | grep '\\s*ip_block:' | sed -e 's/\\s*ip_block: \"\\([^ ]*\\)\"/    '\\1',/g' >> $@; ",
		true,
	},
}

func TestQuote(t *testing.T) {
	for _, tt := range quoteTests {
		if !tt.std {
			continue
		}
		q := Quote(tt.s, false)
		if q != tt.q {
			t.Errorf("quote(%#q) = %s, want %s", tt.s, q, tt.q)
		}
	}
}

func TestUnquote(t *testing.T) {
	for _, tt := range quoteTests {
		s, triple, _, err := unquote(tt.q)
		wantTriple := strings.HasPrefix(tt.q, `"""`) || strings.HasPrefix(tt.q, `'''`)
		if s != tt.s || triple != wantTriple || err != nil {
			t.Errorf("unquote(%s) = %#q, %v, %v want %#q, %v, nil", tt.q, s, triple, err, tt.s, wantTriple)
		}
	}
}

// Quote's literals, with their runs of plain ASCII copied at once
// (ORIGIN 62), denote the text quoted: any bytes as a bytes literal, any
// valid UTF-8 as a string literal. AppendQuote appends the same literal.
func TestQuoteRoundTrips(t *testing.T) {
	parts := []string{"a", "plain run ", `"`, `\`, "\n", "\t", "\x00", "\x7f", "é", "€", "😀", "\xff", "\xe2\x82", "'", "~ "}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		s := b.String()
		kinds := []bool{true}
		if utf8.ValidString(s) {
			kinds = append(kinds, false)
		}
		for _, isBytes := range kinds {
			q := Quote(s, isBytes)
			got, _, gotBytes, err := unquote(q)
			if err != nil || got != s || gotBytes != isBytes {
				t.Fatalf("unquote(Quote(%q, %v)) = %q, %v, %v", s, isBytes, got, gotBytes, err)
			}
			if a := string(AppendQuote([]byte("prefix "), s, isBytes)); a != "prefix "+q {
				t.Fatalf("AppendQuote(%q) = %s, want prefix %s", s, a, q)
			}
		}
	}
}

// BenchmarkQuote measures the literal of a text of mostly plain ASCII
// (a log line, a JSON document) and of one mostly not.
func BenchmarkQuote(b *testing.B) {
	for _, tc := range []struct{ name, s string }{
		{"ascii", strings.Repeat(`GET /index.html 200 "ok" 1234\n`, 1000)},
		{"unicode", strings.Repeat("日本語のテキスト\t", 1000)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.s)))
			for b.Loop() {
				Quote(tc.s, false)
			}
		})
	}
}
