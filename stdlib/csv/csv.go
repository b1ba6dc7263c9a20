// Package csv is the script module `csv` (SPEC 13): reading with Go's
// encoding/csv (RFC 4180, strict about quotes: a malformed file is a
// value error naming its line and column), and writing as Python's csv
// writer does with QUOTE_MINIMAL and "\n" line endings.
//
// csv.read parses a whole text (on the blocking pool from
// offload.Threshold bytes on); csv.reader parses lines as they come from
// any iterable, so a file of any size is read in bounded memory; csv.write
// builds the text on the loop, letting other tasks run every so often.
package csv

import (
	gocsv "encoding/csv"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/corolang/coro/generator"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib/internal/offload"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// Module returns the csv module.
func Module() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "csv", Members: starlark.StringDict{
		// Both may call a lines() method of a script's own value.
		"read":   starlark.NewBuiltin("csv.read", read).Stackful(),
		"reader": starlark.NewBuiltin("csv.reader", reader).Stackful(),
		"write":  starlark.NewBuiltin("csv.write", write),
	}}
}

// delimiterArg checks a delimiter: one character, not a quote or a line
// break.
func delimiterArg(fn, d string) (rune, error) {
	r, n := utf8.DecodeRuneInString(d)
	if n == 0 || n != len(d) || r == utf8.RuneError || r == '"' || r == '\r' || r == '\n' {
		return 0, loop.Errorf(loop.KindValue, "%s: the delimiter must be one character other than a quote or a line break, not %s", fn, loop.QuoteArg(d))
	}
	return r, nil
}

func newReader(r io.Reader, delim rune) *gocsv.Reader {
	cr := gocsv.NewReader(r)
	cr.Comma = delim
	cr.FieldsPerRecord = -1 // rows may differ in length, as in Python
	cr.ReuseRecord = true
	return cr
}

// parseError turns a csv.ParseError into a value error naming the line
// and column (1-based, in bytes).
func parseError(fn string, err error) error {
	var pe *gocsv.ParseError
	if errors.As(err, &pe) {
		return loop.Errorf(loop.KindValue, "%s: line %d, column %d: %v", fn, pe.Line, pe.Column, pe.Err)
	}
	if ce, ok := err.(*loop.Error); ok {
		return ce
	}
	return loop.Errorf(loop.KindValue, "%s: %v", fn, err)
}

// rows turns records into script values: lists, or with a header (the
// first record) dicts from the header's names to the fields, as Python's
// DictReader: a missing field is None, extra fields are a list under the
// key None.
type rows struct {
	header []string // nil until read, with header=True
	dicts  bool
	padded int64 // the missing fields given None so far
}

// padAllowance is how many missing fields a text may have whatever its
// length; past it, at most as many as the bytes read so far. A header of
// n names over n rows of one field, some 4n bytes, made n² values: 12 KB
// of text made 819 MiB of dicts, and 120 KB would have made 80 GB.
// Fields present cost a byte of text each (at least their delimiter), so
// the bound keeps the values of any text within twice that.
const padAllowance = 1 << 16

// next returns the value of record, which cr just read, or nil for the
// header itself.
func (r *rows) next(fn string, cr *gocsv.Reader, record []string) (starlark.Value, error) {
	if r.dicts && r.header == nil {
		r.header = append([]string{}, record...)
		return nil, nil
	}
	if !r.dicts {
		l := make([]starlark.Value, len(record))
		for i, f := range record {
			l[i] = starlark.String(f)
		}
		return starlark.NewList(l), nil
	}
	if missing := len(r.header) - len(record); missing > 0 {
		r.padded += int64(missing)
		if bound := max(padAllowance, cr.InputOffset()); r.padded > bound {
			line, _ := cr.FieldPos(0)
			return nil, loop.Errorf(loop.KindValue, "%s: line %d: too many missing fields: the rows up to here lack %d values of the header's %d names, more than %d (the bytes of text read, and at least %d)",
				fn, line, r.padded, len(r.header), bound, padAllowance)
		}
	}
	d := starlark.NewDict(len(r.header))
	for i, name := range r.header {
		var v starlark.Value = starlark.None
		if i < len(record) {
			v = starlark.String(record[i])
		}
		d.SetKey(starlark.String(name), v)
	}
	if len(record) > len(r.header) {
		extra := make([]starlark.Value, 0, len(record)-len(r.header))
		for _, f := range record[len(r.header):] {
			extra = append(extra, starlark.String(f))
		}
		d.SetKey(starlark.None, starlark.NewList(extra))
	}
	return d, nil
}

// read is csv.read(text, delimiter=",", header=False) → list of rows.
func read(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var text starutil.Bytes
	delimiter := ","
	header := false
	if err := starutil.Unpack(b.Name(), args, kwargs, "text", &text, "delimiter?", &delimiter, "header?", &header); err != nil {
		return nil, err
	}
	delim, err := delimiterArg(b.Name(), delimiter)
	if err != nil {
		return nil, err
	}
	return offload.Run(th, b.Name(), len(text), func() (starlark.Value, error) {
		cr := newReader(strings.NewReader(string(text)), delim)
		rs := &rows{dicts: header}
		var out []starlark.Value
		for {
			record, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, parseError(b.Name(), err)
			}
			v, err := rs.next(b.Name(), cr, record)
			if err != nil {
				return nil, err
			}
			if v != nil {
				out = append(out, v)
			}
		}
		return starlark.NewList(out), nil
	})
}

// reader is csv.reader(lines, delimiter=",", header=False) → a Generator
// of rows, parsed as the lines come from lines: any iterable of strings
// (a list, file.lines(), conn.lines(), a generator), or a value with a
// lines() method (an open File). A line without its newline ends a
// record; a quoted field may span lines.
func reader(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var lines starlark.Value
	delimiter := ","
	header := false
	if err := starutil.Unpack(b.Name(), args, kwargs, "lines", &lines, "delimiter?", &delimiter, "header?", &header); err != nil {
		return nil, err
	}
	delim, err := delimiterArg(b.Name(), delimiter)
	if err != nil {
		return nil, err
	}
	if _, ok := lines.(starlark.Iterable); !ok || lines.Type() == "string" {
		// A File (fs.open) is read by its lines(), as Python iterates a file.
		var m starlark.Callable
		if ha, ok := lines.(starlark.HasAttrs); ok {
			v, _ := ha.Attr("lines")
			m, _ = v.(starlark.Callable)
		}
		if m == nil {
			return nil, loop.Errorf(loop.KindValue, "%s: for parameter lines: got %s, want an iterable of lines (a list, file.lines())", b.Name(), lines.Type())
		}
		if lines, err = loop.CallFn(th, m, nil, nil); err != nil {
			return nil, err
		}
	}
	fn := b.Name()
	return generator.FromFunc(th, fn, func(body *starlark.Thread, emit func(starlark.Value) error) error {
		src, err := newLineSource(body, fn, lines)
		if err != nil {
			return err
		}
		defer src.done()
		cr := newReader(src, delim)
		rs := &rows{dicts: header}
		for {
			record, err := cr.Read()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return parseError(fn, err)
			}
			v, err := rs.next(fn, cr, record)
			if err != nil {
				return err
			}
			if v != nil {
				if err := emit(v); err != nil {
					return err
				}
			}
		}
	}), nil
}

// lineSource is an io.Reader over the lines of a script iterable, taking
// one line at a time: a Generator through its next method (so its
// failures come back as errors), any other iterable through its iterator.
type lineSource struct {
	th   *starlark.Thread
	fn   string
	next starlark.Callable // a Generator's next method, or nil
	it   starlark.Iterator // otherwise
	buf  string
	line int
}

// end is the default a Generator's next returns when it is exhausted.
var end = starlark.String("\x00csv end of lines\x00")

func newLineSource(th *starlark.Thread, fn string, lines starlark.Value) (*lineSource, error) {
	s := &lineSource{th: th, fn: fn}
	if g, ok := lines.(*generator.Generator); ok {
		m, err := g.Attr("next")
		if err != nil {
			return nil, err
		}
		s.next = m.(starlark.Callable)
		return s, nil
	}
	s.it = lines.(starlark.Iterable).Iterate()
	return s, nil
}

func (s *lineSource) done() {
	if s.it != nil {
		s.it.Done()
	}
}

func (s *lineSource) Read(p []byte) (int, error) {
	for s.buf == "" {
		var v starlark.Value
		if s.next != nil {
			var err error
			v, err = loop.CallFn(s.th, s.next, nil, []starlark.Tuple{{starlark.String("default"), end}})
			if err != nil {
				return 0, err
			}
			if v == end {
				return 0, io.EOF
			}
		} else if !s.it.Next(&v) {
			// The iteration may have ended by a cancellation.
			if x := loop.ExecOf(s.th); x != nil && x.Task != nil {
				if err := x.Checkpoint(); err != nil {
					return 0, err
				}
			}
			return 0, io.EOF
		}
		s.line++
		var line starutil.Bytes
		if err := line.Unpack(v); err != nil {
			return 0, loop.Errorf(loop.KindValue, "%s: line %d of the input: %v", s.fn, s.line, err)
		}
		s.buf = string(line)
		if !strings.HasSuffix(s.buf, "\n") {
			s.buf += "\n"
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// write is csv.write(rows, delimiter=",", header=None) → text: each row
// (a list or tuple of values, or a dict) on its own line ending in "\n".
// header, a list of names, is written first; dict rows give their values
// in its order ("" for a missing name; a name not in it is an error).
// Without header, a first row that is a dict gives its keys as the header.
// Fields are str() of the values (None is ""), quoted only when needed.
func write(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var rowsv starlark.Iterable
	delimiter := ","
	var headerv starlark.Value = starlark.None
	if err := starutil.Unpack(fn, args, kwargs, "rows", &rowsv, "delimiter?", &delimiter, "header?", &headerv); err != nil {
		return nil, err
	}
	delim, err := delimiterArg(fn, delimiter)
	if err != nil {
		return nil, err
	}
	w := &writer{delim: string(delim), pace: starutil.NewPacer(th)}
	var header []string
	if headerv != starlark.None {
		if header, err = names(th, fn, headerv); err != nil {
			return nil, err
		}
		w.record(header)
	}
	it := rowsv.Iterate()
	defer it.Done()
	var row starlark.Value
	for i := 0; it.Next(&row); i++ {
		var fields []string
		switch r := row.(type) {
		case *starlark.Dict:
			if header == nil {
				for _, k := range r.Keys() {
					header = append(header, starutil.Str(k))
				}
				w.record(header)
			}
			if fields, err = dictFields(fn, i, r, header); err != nil {
				return nil, err
			}
		case starlark.Indexable:
			if r.Type() == "string" || r.Type() == "bytes" {
				return nil, loop.Errorf(loop.KindValue, "%s: row %d is a %s, want a list, tuple or dict", fn, i, r.Type())
			}
			if fields, err = strs(th, r, field); err != nil {
				return nil, err
			}
		default:
			return nil, loop.Errorf(loop.KindValue, "%s: row %d is a %s, want a list, tuple or dict", fn, i, row.Type())
		}
		w.record(fields)
		if err := w.pace.Step(w.out.Len() - w.paced); err != nil {
			return nil, err
		}
		w.paced = w.out.Len()
	}
	if x := loop.ExecOf(th); x != nil && x.Task != nil {
		if err := x.Checkpoint(); err != nil {
			return nil, err // the rows' iteration ended by a cancellation
		}
	}
	return starlark.String(w.out.String()), nil
}

// names reads the header argument: a list or tuple of names.
func names(th *starlark.Thread, fn string, v starlark.Value) ([]string, error) {
	l, ok := v.(starlark.Indexable)
	if !ok || v.Type() == "string" || v.Type() == "bytes" {
		return nil, loop.Errorf(loop.KindValue, "%s: for parameter header: got %s, want a list of names", fn, v.Type())
	}
	return strs(th, l, starutil.Str)
}

// strs returns str of every element of l, as field or starutil.Str makes
// it. Like the interpreter's own loops over iterables (list, sorted, ...),
// it charges a step per element and grows as it goes, rather than sizing
// anything by l.Len(): a range's length is no measure of memory
// (csv.write([range(1 << 40)]) asked for terabytes at once), and the
// steps let a long row end its time slice and be stopped by a timeout,
// a cancellation or a signal.
func strs(th *starlark.Thread, l starlark.Indexable, str func(starlark.Value) string) ([]string, error) {
	var out []string
	for i := 0; i < l.Len(); i++ { // Len again each time: Step may let other tasks change l
		out = append(out, str(l.Index(i)))
		if err := th.Step(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// dictFields lays out a dict row by header, as Python's DictWriter.
func dictFields(fn string, i int, d *starlark.Dict, header []string) ([]string, error) {
	fields := make([]string, len(header))
	used := 0
	for j, name := range header {
		if v, found, _ := d.Get(starlark.String(name)); found {
			fields[j] = field(v)
			used++
		}
	}
	if used < d.Len() {
		in := map[string]bool{}
		for _, name := range header {
			in[name] = true
		}
		for _, k := range d.Keys() {
			if s, ok := k.(starlark.String); !ok || !in[string(s)] {
				return nil, loop.Errorf(loop.KindValue, "%s: row %d has the field %s, which is not in the header", fn, i, k)
			}
		}
	}
	return fields, nil
}

// field is the text of a value: a string's or bytes' own, "" for None,
// else str().
func field(v starlark.Value) string {
	switch v := v.(type) {
	case starlark.Bytes:
		return string(v)
	case starlark.NoneType:
		return ""
	}
	return starutil.Str(v)
}

// writer writes records as Python's csv.writer with QUOTE_MINIMAL and
// lineterminator "\n": a field is quoted when it holds the delimiter, a
// quote, "\r" or "\n" (Python's own writer leaves "\r" bare with that
// line ending, which its reader would then split on), and a row of one
// empty field is written `""` so it is not an empty line.
type writer struct {
	delim string
	out   strings.Builder
	pace  *starutil.Pacer
	paced int
}

func (w *writer) record(fields []string) {
	for i, f := range fields {
		if i > 0 {
			w.out.WriteString(w.delim)
		}
		if strings.Contains(f, w.delim) || strings.ContainsAny(f, "\"\r\n") || (f == "" && len(fields) == 1) {
			w.out.WriteByte('"')
			w.out.WriteString(strings.ReplaceAll(f, `"`, `""`))
			w.out.WriteByte('"')
		} else {
			w.out.WriteString(f)
		}
	}
	w.out.WriteByte('\n')
}
