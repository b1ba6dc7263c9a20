// Copyright 2026 The coro Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package starlark

// coro addition: Python's format-spec mini-language, for coro's format()
// builtin (SPEC 13). It lives beside the % operator of eval.go, the other
// place the interpreter formats numbers the way Python does.

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxFormatWidth bounds the width and precision a format spec may ask for,
// so that a script cannot make Format allocate an arbitrary amount.
const MaxFormatWidth = 1 << 20

// formatSpec is a parsed [[fill]align][sign][z][#][0][width][grouping][.precision][type].
type formatSpec struct {
	fill      rune
	align     byte // 0, '<', '>', '^', '='
	sign      byte // 0, '+', '-', ' '
	z         bool
	alt       bool
	zero      bool
	width     int
	grouping  byte // 0, ',', '_'
	precision int  // -1 if absent
	typ       byte // 0 or the type letter
	minDigits int  // printf's precision of an integer ("%.3d")
}

// Format formats x by a Python format spec, as Python's format(x, spec):
// ints, floats and strings by their own rules (bools as ints when the spec
// is not empty), every other value as str(x) with a string spec. thread,
// if not nil, is charged a step per value that str(x) writes (ORIGIN 33).
func Format(thread *Thread, x Value, spec string) (string, error) {
	s, err := parseFormatSpec(spec)
	if err != nil {
		return "", err
	}
	switch x := x.(type) {
	case Int:
		return s.formatInt(x)
	case Bool:
		if spec == "" {
			return x.String(), nil
		}
		n := 0
		if x {
			n = 1
		}
		return s.formatInt(MakeInt(n))
	case Float:
		return s.formatFloat(float64(x), "float")
	case String:
		return s.formatString(string(x), "str")
	}
	str, err := reprString(thread, x)
	if err != nil {
		return "", err
	}
	return s.formatString(str, x.Type())
}

func parseFormatSpec(spec string) (*formatSpec, error) {
	s := &formatSpec{fill: ' ', precision: -1}
	i := 0
	// [[fill]align]: the fill may be any character.
	fill := false
	if r, size := utf8.DecodeRuneInString(spec); size > 0 && size < len(spec) && strings.IndexByte("<>^=", spec[size]) >= 0 {
		s.fill, s.align = r, spec[size]
		i = size + 1
		fill = true
	} else if len(spec) > 0 && strings.IndexByte("<>^=", spec[0]) >= 0 {
		s.align = spec[0]
		i = 1
	}
	if i < len(spec) && strings.IndexByte("+- ", spec[i]) >= 0 {
		s.sign = spec[i]
		i++
	}
	if i < len(spec) && spec[i] == 'z' {
		s.z = true
		i++
	}
	if i < len(spec) && spec[i] == '#' {
		s.alt = true
		i++
	}
	if i < len(spec) && spec[i] == '0' {
		s.zero = true
		i++
		if !fill {
			// Python (3.10) pads with '0' by any alignment then
			// ("<+08d" of 255 is "+2550000"), where upstream
			// padded with spaces (coro patch, ORIGIN 66).
			s.fill = '0'
		}
	}
	var err error
	if s.width, i, err = formatNumber(spec, i, "width"); err != nil {
		return nil, err
	}
	if i < len(spec) && (spec[i] == ',' || spec[i] == '_') {
		s.grouping = spec[i]
		i++
	}
	if i < len(spec) && spec[i] == '.' {
		start := i + 1
		if s.precision, i, err = formatNumber(spec, start, "precision"); err != nil {
			return nil, err
		}
		if i == start {
			return nil, fmt.Errorf("format specifier %q: missing precision after '.'", spec)
		}
	}
	if i < len(spec) {
		s.typ = spec[i]
		i++
	}
	if i < len(spec) {
		return nil, fmt.Errorf("invalid format specifier %q", spec)
	}
	return s, nil
}

// formatNumber reads the decimal digits of spec at i (0 if none). A
// number past MaxFormatWidth is an ArgError, for the % operator as for
// format(), where it becomes one as the builtin's own failure (coro
// patch, ORIGIN 58): hosts give it the kind of bad input (coro's value),
// where the operator's was a plain error.
func formatNumber(spec string, i int, what string) (int, int, error) {
	n := 0
	for ; i < len(spec) && '0' <= spec[i] && spec[i] <= '9'; i++ {
		n = n*10 + int(spec[i]-'0')
		if n > MaxFormatWidth {
			return 0, 0, argErrorf("format specifier %q: %s is over %d", spec, what, MaxFormatWidth)
		}
	}
	return n, i, nil
}

func (s *formatSpec) formatString(str, typeName string) (string, error) {
	if s.typ != 0 && s.typ != 's' {
		return "", fmt.Errorf("unknown format code '%c' for %s", s.typ, typeName)
	}
	if s.sign != 0 {
		return "", fmt.Errorf("sign not allowed in string format specifier")
	}
	if s.alt {
		return "", fmt.Errorf("alternate form (#) not allowed in string format specifier")
	}
	if s.grouping != 0 {
		return "", fmt.Errorf("cannot specify '%c' with 's'", s.grouping)
	}
	if s.align == '=' {
		return "", fmt.Errorf("'=' alignment not allowed in string format specifier")
	}
	str = s.truncate(str)
	if s.zero && s.align == 0 {
		s.fill = '0'
	}
	return s.pad("", str, '<'), nil
}

// truncate returns the first precision code points of str (all of it
// when there is no precision), as Python's "%.2s" and format(x, ".2")
// cut a text.
func (s *formatSpec) truncate(str string) string {
	if s.precision < 0 || len(str) <= s.precision {
		return str // no more code points than bytes
	}
	n := 0
	for i := range str {
		if n == s.precision {
			return str[:i]
		}
		n++
	}
	return str
}

func (s *formatSpec) formatInt(x Int) (string, error) {
	switch s.typ {
	case 'e', 'E', 'f', 'F', 'g', 'G', '%':
		f, err := x.finiteFloat()
		if err != nil {
			return "", err
		}
		return s.formatFloat(float64(f), "int")
	case 0, 'd', 'n', 'b', 'o', 'x', 'X', 'c':
	default:
		return "", fmt.Errorf("unknown format code '%c' for int", s.typ)
	}
	if s.precision >= 0 {
		return "", fmt.Errorf("precision not allowed in integer format specifier")
	}
	if s.typ == 'c' {
		if s.sign != 0 || s.alt || s.grouping != 0 {
			return "", fmt.Errorf("sign, '#' and grouping not allowed with integer format specifier 'c'")
		}
		n, ok := x.Int64()
		if !ok || n < 0 || n > utf8.MaxRune {
			return "", fmt.Errorf("format 'c': %v is not a valid Unicode code point", x)
		}
		return s.pad("", string(rune(n)), '>'), nil
	}
	b := x.BigInt()
	neg := b.Sign() < 0
	abs := new(big.Int).Abs(b)
	base, prefix, every := 10, "", 3
	switch s.typ {
	case 'b':
		base, prefix, every = 2, "0b", 4
	case 'o':
		base, prefix, every = 8, "0o", 4
	case 'x', 'X':
		base, prefix, every = 16, "0x", 4
	}
	if s.grouping == ',' && base != 10 || s.grouping != 0 && s.typ == 'n' {
		// coro patch (ORIGIN 66): 'n' groups by the locale, so
		// Python refuses ',' or '_' with it, as formatFloat does.
		return "", fmt.Errorf("cannot specify '%c' with '%c'", s.grouping, s.typ)
	}
	digits := abs.Text(base)
	if n := s.minDigits - len(digits); n > 0 {
		digits = strings.Repeat("0", n) + digits
	}
	if s.typ == 'X' {
		digits = strings.ToUpper(digits)
		prefix = "0X"
	}
	if !s.alt {
		prefix = ""
	}
	return s.number(neg, prefix, digits, "", every), nil
}

func (s *formatSpec) formatFloat(f float64, typeName string) (string, error) {
	switch s.typ {
	case 0, 'e', 'E', 'f', 'F', 'g', 'G', 'n', '%':
	default:
		return "", fmt.Errorf("unknown format code '%c' for %s", s.typ, typeName)
	}
	if s.grouping != 0 && s.typ == 'n' {
		return "", fmt.Errorf("cannot specify '%c' with 'n'", s.grouping)
	}
	neg := math.Signbit(f)
	abs := math.Abs(f)
	if s.typ == '%' {
		abs *= 100 // may pass the largest float (coro patch, ORIGIN 66)
	}
	prec := s.precision
	var body string
	suffix := ""
	switch {
	case math.IsInf(abs, 0) || math.IsNaN(abs):
		body = "inf"
		if math.IsNaN(abs) {
			body, neg = "nan", false
		}
		// Python pads inf and nan with zeros but groups no
		// digits (coro patch, ORIGIN 66).
		s.grouping = 0
	default:
		switch s.typ {
		case 'e', 'E':
			if prec < 0 {
				prec = 6
			}
			body = strconv.FormatFloat(abs, 'e', prec, 64)
		case 'f', 'F', '%':
			if prec < 0 {
				prec = 6
			}
			body = strconv.FormatFloat(abs, 'f', prec, 64)
		case 'g', 'G', 'n':
			if prec < 0 {
				prec = 6
			}
			body = formatGeneral(abs, prec, s.alt, false)
		default: // no type: repr, or 'g' that keeps a digit after the point
			if prec < 0 {
				body = pythonRepr(abs)
			} else {
				body = formatGeneral(abs, prec, s.alt, true)
			}
		}
		if s.alt && !strings.Contains(body, ".") {
			// '#' always writes the point: "%#.0f" is "3.", "%#.1g"
			// "4." and format(1e-07, "#.0g") "1.e-07" (coro patch,
			// ORIGIN 66: 'g' and no type dropped it).
			i := strings.IndexByte(body, 'e')
			if i < 0 {
				i = len(body)
			}
			body = body[:i] + "." + body[i:]
		}
		if s.z && neg && isZeroText(body) {
			neg = false
		}
	}
	if s.typ == '%' {
		suffix = "%"
	}
	if s.typ == 'E' || s.typ == 'F' || s.typ == 'G' {
		body = strings.ToUpper(body)
	}
	// Split off what grouping must not touch: the fraction and exponent.
	digits, rest := body, ""
	if i := strings.IndexAny(body, ".eE"); i >= 0 {
		digits, rest = body[:i], body[i:]
	}
	return s.number(neg, "", digits, rest+suffix, 3), nil
}

// formatGeneral is Python's 'g' (and, with repr, the spec with no type):
// p significant digits, fixed notation when -4 <= exponent < p, trailing
// zeros removed unless alt (formatFloat adds the point alt keeps).
func formatGeneral(abs float64, p int, alt, repr bool) string {
	if p == 0 {
		p = 1
	}
	e := strconv.FormatFloat(abs, 'e', p-1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	limit := p
	if repr {
		// repr switches to scientific one digit earlier: at exponent
		// 0 for ".1" and ".0" (format(1.5, ".0") is "2e+00"), where
		// upstream stopped at 1 (coro patch, ORIGIN 66).
		limit = p - 1
	}
	var out string
	if -4 <= exp && exp < limit {
		out = strconv.FormatFloat(abs, 'f', max(p-1-exp, 0), 64)
		if !alt {
			out = trimZeros(out)
		}
		if repr && !strings.Contains(out, ".") {
			out += ".0"
		}
		return out
	}
	mant, tail, _ := strings.Cut(e, "e")
	if !alt {
		mant = trimZeros(mant)
	}
	return mant + "e" + tail
}

// pythonRepr is Python's repr of a finite non-negative float: the shortest
// digits that read back the same, fixed notation for 1e-4 <= x < 1e16.
func pythonRepr(abs float64) string {
	e := strconv.FormatFloat(abs, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if -4 <= exp && exp < 16 {
		out := strconv.FormatFloat(abs, 'f', -1, 64)
		if !strings.Contains(out, ".") {
			out += ".0"
		}
		return out
	}
	return e
}

func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

func isZeroText(s string) bool {
	return strings.Trim(s, "0.e+-") == ""
}

// number lays out a signed number: sign, prefix, grouped digits, rest,
// padded to the width (with '=' or the '0' flag, between sign and digits).
func (s *formatSpec) number(neg bool, prefix, digits, rest string, every int) string {
	sign := ""
	switch {
	case neg:
		sign = "-"
	case s.sign == '+':
		sign = "+"
	case s.sign == ' ':
		sign = " "
	}
	if s.zero && s.align == 0 {
		s.fill, s.align = '0', '='
	}
	if s.align == '=' && s.fill == '0' && s.grouping != 0 {
		// Python groups the zero padding too: 0,001,234.
		n := s.width - len(sign) - len(prefix) - len(rest)
		for groupedLen(len(digits), every) < n {
			digits = "0" + digits
		}
	}
	if s.grouping != 0 {
		digits = group(digits, every, s.grouping)
	}
	return s.pad(sign+prefix, digits+rest, '>')
}

func groupedLen(n, every int) int { return n + (n-1)/every }

func group(digits string, every int, sep byte) string {
	var b strings.Builder
	for i := range len(digits) {
		if i > 0 && (len(digits)-i)%every == 0 {
			b.WriteByte(sep)
		}
		b.WriteByte(digits[i])
	}
	return b.String()
}

// pad fills head+body to the width by the alignment (def when none).
func (s *formatSpec) pad(head, body string, def byte) string {
	n := s.width - utf8.RuneCountInString(head) - utf8.RuneCountInString(body)
	if n <= 0 {
		return head + body
	}
	fill := strings.Repeat(string(s.fill), n)
	align := s.align
	if align == 0 {
		align = def
	}
	switch align {
	case '<':
		return head + body + fill
	case '^':
		left := strings.Repeat(string(s.fill), n/2)
		return left + head + body + fill[len(left):]
	case '=':
		return head + fill + body
	}
	return fill + head + body
}

// formatPrintf writes one conversion of the % operator that has flags,
// width or precision (spec, e.g. "-8" or "05.1"), with Python's meaning:
// the same layout rules as Format, in printf's notation.
func formatPrintf(thread *Thread, spec string, verb byte, arg Value) (string, error) {
	s := new(formatSpec)
	if err := s.parsePrintf(spec); err != nil {
		return "", err
	}
	var out string
	switch verb {
	case 's', 'r':
		str, ok := AsString(arg)
		if !ok || verb == 'r' {
			var b strings.Builder
			if err := writeValueChecked(thread, &b, arg); err != nil { // coro patch (ORIGIN 33)
				return "", err
			}
			str = b.String()
		}
		s.zero = false
		// coro patch (ORIGIN 65): the precision counts code points,
		// where upstream cut bytes ("%.2s" % "héllo" ended in half
		// of é).
		out = s.pad("", s.truncate(str), '>')
	case 'c':
		// coro patch (ORIGIN 65): %c is padded to the width, left
		// with '-'; Python ignores its other flags and precision.
		c, err := percentChar(arg)
		if err != nil {
			return "", err
		}
		s.zero = false
		out = s.pad("", c, '>')
	case 'd', 'i', 'o', 'x', 'X':
		n, err := NumberToInt(arg)
		if err != nil {
			return "", fmt.Errorf("%%%c format requires integer: %v", verb, err)
		}
		s.typ, s.minDigits, s.precision = verb, s.precision, -1
		if verb == 'i' {
			s.typ = 'd'
		}
		if out, err = s.formatInt(n); err != nil {
			return "", err
		}
	case 'e', 'f', 'g', 'E', 'F', 'G':
		f, ok := AsFloat(arg)
		if !ok {
			return "", fmt.Errorf("%%%c format requires float, not %s", verb, arg.Type())
		}
		s.typ = verb
		var err error
		if out, err = s.formatFloat(f, "float"); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("unknown conversion %%%c", verb)
	}
	return out, nil
}

// parsePrintf sets s to the flags, width and precision of a %
// conversion (spec: "-8", "05.1").
func (s *formatSpec) parsePrintf(spec string) error {
	*s = formatSpec{fill: ' ', precision: -1}
	i := 0
	for ; i < len(spec) && strings.IndexByte("#0- +", spec[i]) >= 0; i++ {
		switch spec[i] {
		case '#':
			s.alt = true
		case '0':
			s.zero = true
		case '-':
			s.align = '<'
		case '+':
			s.sign = '+'
		case ' ':
			if s.sign == 0 {
				s.sign = ' '
			}
		}
	}
	if s.align == '<' {
		s.zero = false
	}
	var err error
	if s.width, i, err = formatNumber(spec, i, "width"); err != nil {
		return err
	}
	if i < len(spec) && spec[i] == '.' {
		if s.precision, _, err = formatNumber(spec, i+1, "precision"); err != nil {
			return err
		}
	}
	return nil
}

// printfMinLen returns a length the text of the % operator's format
// cannot be shorter than, whatever its arguments: its literal text, and
// for each conversion with a width its width, or its precision for a
// number (the digits it writes at least), if more. 0 for what it cannot
// read: the conversion reports the error. (coro patch, ORIGIN 58.)
func printfMinLen(format string) int {
	n := 0
	for {
		i := strings.IndexByte(format, '%')
		if i < 0 {
			return n + len(format)
		}
		n += i
		format = format[i+1:]
		if strings.HasPrefix(format, "%") {
			n++
			format = format[1:]
			continue
		}
		_, spec, rest, err := splitConversion(format)
		if err != nil || rest == "" {
			return n
		}
		format = rest[1:]
		if spec == "" || rest[0] == '%' {
			continue // no padding (interpolate)
		}
		var s formatSpec
		if s.parsePrintf(spec) != nil {
			continue
		}
		switch rest[0] {
		case 'd', 'i', 'o', 'x', 'X', 'e', 'E', 'f', 'F':
			n += max(s.width, s.precision)
		default:
			n += s.width
		}
	}
}
