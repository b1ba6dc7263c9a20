package csv_test

// FuzzRead: csv.read and csv.reader on random text, with a random
// delimiter and header. Whatever the input, reading returns rows or a
// value error naming the line (never a Go panic); csv.reader over the
// text's lines gives the rows csv.read gives; and rows read without a
// header, csv.write writes and csv.read reads back the same
// (read(write(rows)) == rows).
//
// `go test ./stdlib/csv` runs it over its seeds and the inputs under
// testdata/fuzz/FuzzRead; locally:
// go test ./stdlib/csv -run '^$' -fuzz '^FuzzRead$' -fuzztime 60s

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/csv"
)

// fuzzMaxText bounds the text FuzzRead reads.
const fuzzMaxText = 32 << 10

var csvModule = csv.Module()

func csvCall(name string, args starlark.Tuple, kwargs ...starlark.Tuple) (starlark.Value, error) {
	return starlark.Call(&starlark.Thread{}, csvModule.Members[name], args, kwargs)
}

func FuzzRead(f *testing.F) {
	for _, s := range csvSeeds {
		f.Add(s, ",", false)
		f.Add(s, ";", true)
	}
	f.Add("a\tb\n1\t2\n", "\t", true)
	f.Add("a|b\n\"x|y\"|z\n", "|", false)
	f.Add("aéb\n1é2\n", "é", true)
	f.Add("a b\n", " ", false)
	f.Add("a,b\n", "", false)
	f.Add("a,b\n", "\"", false)
	f.Add("a,b\n", "\n", false)
	f.Add("a,b\n", ",,", false)
	f.Fuzz(func(t *testing.T, text, delim string, header bool) {
		if len(text) > fuzzMaxText {
			t.Skip("text too large")
		}
		checkCSV(t, text, delim, header)
	})
}

func checkCSV(t *testing.T, text, delim string, header bool) {
	t.Helper()
	// csv.reader is a generator: it runs on an engine, with csv.read
	// beside it in one script.
	var lines []starlark.Value
	for _, l := range strings.SplitAfter(text, "\n") {
		if l != "" {
			lines = append(lines, starlark.String(l))
		}
	}
	e := loop.New(loop.Options{Stdout: io.Discard, Stderr: io.Discard}, starlark.StringDict{
		"catch": loop.Builtins()["catch"], "csv": csvModule,
		"TEXT": starlark.String(text), "LINES": starlark.NewList(lines), "D": starlark.String(delim), "H": starlark.Bool(header),
	})
	defer e.Close()
	g, err := e.Exec(context.Background(), "fuzz.star", `
read = catch(csv.read, TEXT, delimiter=D, header=H)
reader = catch(lambda: list(csv.reader(LINES, delimiter=D, header=H)))
`)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := outcome(g["read"])
	streamed, gerr := outcome(g["reader"])
	if err != nil {
		checkValueError(t, "read", err)
		if gerr == nil {
			t.Fatalf("read failed (%v), reader gave %v", err, streamed)
		}
		checkValueError(t, "reader", gerr)
		return
	}
	// csv.reader reads the same rows from the text's lines.
	if gerr != nil {
		t.Fatalf("read gave %v, reader failed: %v", rows, gerr)
	}
	if eq, err := starlark.Equal(rows, streamed); err != nil || !eq {
		t.Fatalf("read gave %v, reader %v", rows, streamed)
	}
	if header {
		return
	}
	// What was read (lists of strings), write writes and read reads back.
	wkw := []starlark.Tuple{{starlark.String("delimiter"), starlark.String(delim)}}
	out, err := csvCall("write", starlark.Tuple{rows}, wkw...)
	if err != nil {
		t.Fatalf("write(read(%q)): %v", text, err)
	}
	back, err := csvCall("read", starlark.Tuple{out}, wkw...)
	if err != nil {
		t.Fatalf("read(write(read(%q))) = read(%q): %v", text, out, err)
	}
	if eq, err := starlark.Equal(back, crlfAsLF(rows)); err != nil || !eq {
		t.Fatalf("read(write(rows)) != rows for %q:\n%v\n%v\ntext: %q", text, rows, back, out)
	}
}

// crlfAsLF returns rows with "\r\n" in each field replaced by "\n", as
// reading a quoted field does (documented): a field read from "\r\r\n"
// holds "\r\n" and reads back as "\n".
func crlfAsLF(rows starlark.Value) starlark.Value {
	var out []starlark.Value
	for r := range rows.(*starlark.List).Elements() {
		var fields []starlark.Value
		for f := range r.(*starlark.List).Elements() {
			fields = append(fields, starlark.String(strings.ReplaceAll(string(f.(starlark.String)), "\r\n", "\n")))
		}
		out = append(out, starlark.NewList(fields))
	}
	return starlark.NewList(out)
}

// outcome is the value or the error of a Result (catch's).
func outcome(r starlark.Value) (starlark.Value, error) {
	res := r.(starlark.HasAttrs)
	if e, _ := res.Attr("error"); e != starlark.None {
		return nil, e.(error)
	}
	return res.Attr("value")
}

// checkValueError fails t unless err is a value error that is not a
// recovered Go panic.
func checkValueError(t *testing.T, where string, err error) {
	t.Helper()
	var le *loop.Error
	if !errors.As(err, &le) || le.Kind != loop.KindValue {
		t.Fatalf("%s: got %T %v, want a value error", where, err, err)
	}
	if msg := err.Error(); strings.Contains(msg, "internal error") || strings.Contains(msg, "runtime error") {
		t.Fatalf("%s: a Go panic: %v", where, err)
	}
}

// csvSeeds are hand-written seeds for FuzzRead: quoting, line endings,
// ragged rows, headers with missing, extra and repeated names, and
// long rows and fields.
var csvSeeds = []string{
	"", "\n", "\n\n\n", "a", "a,b\n1,2\n", "a,b\r\n1,2\r\n", "a,b\r1,2\r", "a,b\n1,2",
	"a,b\n1\n1,2,3,4\n", "a,a,b\n1,2,3\n", ",\n,\n", "\"\"\n", "\"\",\"\"\n", "\" \"\n",
	"\"a,b\",\"c\"\"d\"\n", "\"multi\nline\",x\n", "\"multi\r\nline\"\n", "\"unterminated\n",
	"a\"b\n", "\"a\"b\n", "a,\"b\"c\n", " \"a\"\n", "\"a\" \n", "a;b\n1;2\n",
	"\ufeffa,b\n1,2\n", "a,b\n\xff,\xfe\n", "a\x00b,c\n", "#comment\na\n", "a,b\n\n\n1,2\n",
	strings.Repeat("x,", 1000) + "x\n" + strings.Repeat("y\n", 100),
	strings.Repeat("\"", 1001) + "\n",
	"\"" + strings.Repeat("a", 10000) + "\"\n",
	strings.Repeat("a,b\n", 1000),
}

// A header wide enough that its missing fields would have made millions
// of values from a few kilobytes stops at the bound, for read and
// reader alike (see TestMissingFieldsAreBounded).
func TestReadWideHeader(t *testing.T) {
	text := strings.Repeat("c,", 20000) + "c\n" + strings.Repeat("x\n", 20000)
	checkCSV(t, text, ",", true)
	_, err := csvCall("read", starlark.Tuple{starlark.String(text)}, starlark.Tuple{starlark.String("header"), starlark.True})
	if err == nil || !strings.Contains(err.Error(), "too many missing fields") {
		t.Errorf("got %v, want too many missing fields", err)
	}
}
