// coro addition: tests of Format (format.go) against CPython's format().

package starlark_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
)

// formatCases are (Starlark expression, spec, what CPython's format gives).
// TestFormatMatchesCPython re-checks the third column with python3.
var formatCases = []struct{ expr, spec, want string }{
	{"42", "", "42"},
	{"42", "d", "42"},
	{"42", "5", "   42"},
	{"42", "<5", "42   "},
	{"42", "^6", "  42  "},
	{"42", "*^7", "**42***"},
	{"42", "=+6", "+   42"},
	{"-42", "06", "-00042"},
	{"42", "+", "+42"},
	{"42", " ", " 42"},
	{"1234567", ",", "1,234,567"},
	{"1234567", "_", "1_234_567"},
	{"1234567", "012,", "0,001,234,567"},
	{"255", "b", "11111111"},
	{"255", "#b", "0b11111111"},
	{"255", "o", "377"},
	{"255", "#o", "0o377"},
	{"255", "x", "ff"},
	{"255", "#X", "0XFF"},
	{"255", "#_b", "0b1111_1111"},
	{"123456789", "_x", "75b_cd15"},
	{"-255", "#010x", "-0x00000ff"},
	{"65", "c", "A"},
	{"9", "e", "9.000000e+00"},
	{"12", "%", "1200.000000%"},
	{"1180591620717411303424", ",", "1,180,591,620,717,411,303,424"},
	{"-36893488147419103232", "x", "-20000000000000000"},
	{"True", "", "True"},
	{"True", "d", "1"},
	{"True", ">6", "     1"},
	{"False", "^5", "  0  "},
	{"3.14159", "", "3.14159"},
	{"3.14159", ".2f", "3.14"},
	{"3.14159", "8.3f", "   3.142"},
	{"-3.14159", "+.1f", "-3.1"},
	{"3.14159", "e", "3.141590e+00"},
	{"3.14159", ".2E", "3.14E+00"},
	{"1234567.891", ",.2f", "1,234,567.89"},
	{"1234567.891", "_.1f", "1_234_567.9"},
	{"0.5", "%", "50.000000%"},
	{"0.12345", ".1%", "12.3%"},
	{"1e16", "", "1e+16"},
	{"1e-5", "", "1e-05"},
	{"1.0", "", "1.0"},
	{"3.0", ".3", "3.0"},
	{"123.0", ".3", "1.23e+02"},
	{"123.456", ".4", "123.5"},
	{"1e6", "g", "1e+06"},
	{"1e6", ".3g", "1e+06"},
	{"0.0001", "g", "0.0001"},
	{"0.00001", "g", "1e-05"},
	{"100.0", "#g", "100.000"},
	{"1.5", "G", "1.5"},
	{"float('inf')", "", "inf"},
	{"float('-inf')", "f", "-inf"},
	{"float('nan')", "F", "NAN"},
	{"float('inf')", "E", "INF"},
	{"-0.0", "", "-0.0"},
	{"-0.0", "z.1f", "0.0"},
	{"-0.001", "z.1f", "0.0"},
	{"-12.5", "=+10.2f", "-    12.50"},
	{"3.0", "#.0f", "3."},
	{"3.0", "#.0e", "3.e+00"},
	{"12.5", "010.3f", "000012.500"},
	{"1234.5", "012,.1f", "00,001,234.5"},
	{"2.5", ".0f", "2"},
	{"3.5", ".0f", "4"},
	{"1e100", ".3g", "1e+100"},
	{"123456789.0", "", "123456789.0"},
	{"0.1", ".20f", "0.10000000000000000555"},
	{"'hello'", "", "hello"},
	{"'hello'", "10", "hello     "},
	{"'hello'", ">10", "     hello"},
	{"'hello'", "^11", "   hello   "},
	{"'hello'", "-^11", "---hello---"},
	{"'hello'", ".3", "hel"},
	{"'hello'", "10.2s", "he        "},
	{"'héllo'", "^9", "  héllo  "},
	{"'ab'", "05", "ab000"},
	{"'ab'", "s", "ab"},
	// '#' keeps the point (coro patch, ORIGIN 66).
	{"4.0", "#.1g", "4."},
	{"1e-07", "#.0g", "1.e-07"},
	{"4.0", "#.1", "4.e+00"},
	{"1e16", "#", "1.e+16"},
	{"4.0", "#.3g", "4.00"},
	{"0.5", "#.0%", "50.%"},
	// ".0" and ".1" without a type switch to scientific from exponent 0.
	{"1.5", ".0", "2e+00"},
	{"1.5", ".1", "2e+00"},
	{"0.0", ".1", "0e+00"},
	{"0.5", ".1", "0.5"},
	{"15.0", ".2", "1.5e+01"},
	// '0' pads with zeros by any alignment; inf and nan get no separators.
	{"255", "<+08d", "+2550000"},
	{"'ab'", "^05", "0ab00"},
	{"1.5", "*<08", "1.5*****"},
	{"-1.5", "^08", "00-1.500"},
	{"float('inf')", "0=+020_.2", "+0000000000000000inf"},
	{"float('-inf')", "-08,", "-0000inf"},
	{"1.7976931348623157e+308", "+,.6%", "+inf%"},
	{"1234567", "012,", "0,001,234,567"},
}

func TestFormat(t *testing.T) {
	for _, c := range formatCases {
		v, err := starlark.Eval(&starlark.Thread{}, "x", c.expr, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		got, err := starlark.Format(nil, v, c.spec)
		if err != nil {
			t.Errorf("format(%s, %q): %v", c.expr, c.spec, err)
		} else if got != c.want {
			t.Errorf("format(%s, %q) = %q, want %q", c.expr, c.spec, got, c.want)
		}
	}
}

func TestFormatMatchesCPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	var prog strings.Builder
	for _, c := range formatCases {
		prog.WriteString("print(repr(format(" + c.expr + ", " + pyString(c.spec) + ")))\n")
	}
	out, err := exec.Command(python, "-c", prog.String()).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(formatCases) {
		t.Fatalf("python printed %d lines for %d cases", len(lines), len(formatCases))
	}
	for i, c := range formatCases {
		if want := pyString(c.want); lines[i] != want {
			t.Errorf("format(%s, %q): CPython gives %s, the table %s", c.expr, c.spec, lines[i], want)
		}
	}
}

// pyString is s as Python's repr writes a plain printable string.
func pyString(s string) string {
	if strings.Contains(s, "'") {
		return `"` + s + `"`
	}
	return "'" + s + "'"
}

func TestFormatErrors(t *testing.T) {
	for _, c := range []struct{ expr, spec, err string }{
		{"1", "s", "unknown format code 's' for int"},
		{"1", ".2d", "precision not allowed in integer format specifier"},
		{"'a'", "+", "sign not allowed in string format specifier"},
		{"'a'", ",", "cannot specify ',' with 's'"},
		{"'a'", "=5", "'=' alignment not allowed in string format specifier"},
		{"1.5", "d", "unknown format code 'd' for float"},
		{"1", "10xx", "invalid format specifier \"10xx\""},
		{"1", "99999999", "width is over 1048576"},
		{"1.5", ".99999999f", "precision is over 1048576"},
		{"1", "1.", "missing precision"},
		{"-1", "c", "not a valid Unicode code point"},
		{"10000000000000000000", "0<0,n", "cannot specify ',' with 'n'"},
		{"5", "_n", "cannot specify '_' with 'n'"},
	} {
		v, err := starlark.Eval(&starlark.Thread{}, "x", c.expr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := starlark.Format(nil, v, c.spec); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("format(%s, %q): error %v, want %q", c.expr, c.spec, err, c.err)
		}
	}
}

// A width or precision past MaxFormatWidth, and a text past the bound of
// one value's, are ArgErrors from the % operator as from format(), so a
// host gives them the kind of bad input (coro patch, ORIGIN 58); the
// operator's other failures keep theirs.
func TestPercentLimitErrorsAreArgErrors(t *testing.T) {
	defer starlark.SetMaxReprLen(1 << 16)()
	for expr, arg := range map[string]bool{
		`"%99999999999d" % 1`:                  true,
		`"%.99999999f" % 1.0`:                  true,
		`"%-99999999s" % "a"`:                  true,
		`("%1000d" * 100) % tuple(range(100))`: true,
		`("%s" * 100) % (("x" * 1000,) * 100)`: true,
		`"%d" % "a"`:                           false,
		`"%d %d" % (1,)`:                       false,
	} {
		_, err := starlark.Eval(&starlark.Thread{}, "x", expr, nil)
		var ae *starlark.ArgError
		if err == nil || errors.As(err, &ae) != arg {
			t.Errorf("%s: got %v, want an ArgError: %v", expr, err, arg)
		}
	}
}
