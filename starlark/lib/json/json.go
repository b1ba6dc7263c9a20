// Copyright 2020 The Bazel Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package json defines utilities for converting Starlark values
// to/from JSON strings. The most recent IETF standard for JSON is
// https://www.ietf.org/rfc/rfc7159.txt.
package json // import "github.com/corolang/coro/starlark/lib/json"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/starlark/syntax"
)

// Module json is a Starlark module of JSON-related functions.
//
//	json = module(
//	   encode,
//	   encode_indent,
//	   decode,
//	   indent,
//	)
//
// def encode(x):
//
// The encode function accepts one required positional argument,
// which it converts to JSON by cases:
//   - A Starlark value that implements Go's standard json.Marshal
//     interface defines its own JSON encoding.
//   - None, True, and False are converted to null, true, and false, respectively.
//   - Starlark int values, no matter how large, are encoded as decimal integers.
//     Some decoders may not be able to decode very large integers.
//   - Starlark float values are encoded using decimal point notation,
//     even if the value is an integer.
//     It is an error to encode a non-finite floating-point value.
//   - Starlark strings are encoded as JSON strings, using UTF-16 escapes.
//   - a Starlark IterableMapping (e.g. dict) is encoded as a JSON object.
//     It is an error if any key is not a string.
//   - a list, tuple, set, range, or elems or codepoints view is encoded as
//     a JSON array. Any other Iterable (a channel, a generator: iterating
//     it would consume it) is an error (coro patch, ORIGIN 39).
//   - a Starlark HasAttrs (e.g. struct) is encoded as a JSON object,
//     unless it has methods (coro patch, ORIGIN 39).
//
// It an application-defined type matches more than one the cases describe above,
// (e.g. it implements both Iterable and HasFields), the first case takes precedence.
// Encoding any other value yields an error.
//
// def encode_indent(x, *, prefix="", indent="\t"):
//
// Equivalent to json.indent(json.encode(x), prefix=prefix, indent=indent).
//
// def decode(x[, default]):
//
// The decode function has one required positional parameter, a JSON string.
// It returns the Starlark value that the string denotes.
//   - Numbers are parsed as int or float, depending on whether they
//     contain a decimal point.
//   - JSON objects are parsed as new unfrozen Starlark dicts.
//   - JSON arrays are parsed as new unfrozen Starlark lists.
//
// If x is not a valid JSON string, the behavior depends on the "default"
// parameter: if present, Decode returns its value; otherwise, Decode fails.
//
// def indent(str, *, prefix="", indent="\t"):
//
// The indent function pretty-prints a valid JSON encoding,
// and returns a string containing the indented form.
// It accepts one required positional parameter, the JSON string,
// and two optional keyword-only string parameters, prefix and indent,
// that specify a prefix of each new line, and the unit of indentation.
var Module = &starlarkstruct.Module{
	Name: "json",
	Members: starlark.StringDict{
		"encode":        starlark.NewBuiltin("json.encode", encode),
		"encode_indent": starlark.NewBuiltin("json.encode_indent", encodeIndent),
		"decode":        starlark.NewBuiltin("json.decode", decode),
		"indent":        starlark.NewBuiltin("json.indent", indent),
	},
}

// maxEncoded bounds the text json.encode makes (coro patch, ORIGIN 35):
// a list whose parts are shared (x = [x] * 10, nine times) is 100 cells
// and 20 GB of JSON. The same bound as a string repetition's and a
// value's repr (1 GiB); a var for tests.
var maxEncoded = 1 << 30

// errTooLong is returned once the text passes maxEncoded.
var errTooLong = errors.New("JSON text too long")

func encode(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &x); err != nil {
		return nil, err
	}

	buf := new(bytes.Buffer)

	var quoteSpace [128]byte
	quote := func(s string) {
		// Non-trivial escaping is handled by Go's encoding/json.
		if isPrintableASCII(s) {
			buf.Write(strconv.AppendQuote(quoteSpace[:0], s))
		} else {
			// TODO(adonovan): opt: RFC 8259 mandates UTF-8 for JSON.
			// Can we avoid this call?
			data, _ := json.Marshal(s)
			buf.Write(data)
		}
	}

	path := make([]unsafe.Pointer, 0, 8)

	var emit func(x starlark.Value) error
	emit = func(x starlark.Value) error {
		// coro patch: a step per value (Thread.Step), so that
		// json.encode(range(1 << 62)), or of a value whose parts are
		// shared, can be stopped; and a bound on the text (ORIGIN 35).
		if err := thread.Step(); err != nil {
			return err
		}
		if buf.Len() > maxEncoded {
			return errTooLong
		}
		// It is only necessary to push/pop the item when it might contain
		// itself (i.e. the last three switch cases), but omitting it in the other
		// cases did not show significant improvement on the benchmarks.
		if ptr := pointer(x); ptr != nil {
			// coro patch (ORIGIN 45): a bound on the nesting, which the
			// recursion's Go stack follows (a list nested a million deep
			// overflowed it: a fatal error, the process gone). It counts
			// the containers on the path (ORIGIN 55): counting every
			// value refused a number inside 10,000 arrays, which
			// json.decode reads.
			if len(path) >= maxEncodeDepth {
				return errTooDeep
			}
			if pathContains(path, ptr) {
				return fmt.Errorf("cycle in JSON structure")
			}

			path = append(path, ptr)
			defer func() { path = path[0 : len(path)-1] }()
		}

		switch x := x.(type) {
		case json.Marshaler:
			// Application-defined starlark.Value types
			// may define their own JSON encoding.
			data, err := x.MarshalJSON()
			if err != nil {
				return err
			}
			buf.Write(data)

		case starlark.NoneType:
			buf.WriteString("null")

		case starlark.Bool:
			if x {
				buf.WriteString("true")
			} else {
				buf.WriteString("false")
			}

		case starlark.Int:
			fmt.Fprint(buf, x)

		case starlark.Float:
			if !isFinite(float64(x)) {
				return fmt.Errorf("cannot encode non-finite float %v", x)
			}
			// Float.String always contains a decimal point. (%g does not!)
			buf.WriteString(x.String())

		case starlark.String:
			quote(string(x))

		case starlark.IterableMapping:
			// e.g. dict (must have string keys)
			buf.WriteByte('{')
			items := x.Items()
			for _, item := range items {
				if _, ok := item[0].(starlark.String); !ok {
					return fmt.Errorf("%s has %s key, want string", x.Type(), item[0].Type())
				}
			}
			sort.Slice(items, func(i, j int) bool {
				return items[i][0].(starlark.String) < items[j][0].(starlark.String)
			})
			for i, item := range items {
				if i > 0 {
					buf.WriteByte(',')
				}
				k, _ := starlark.AsString(item[0])
				quote(k)
				buf.WriteByte(':')
				if err := emit(item[1]); err != nil {
					return at(err, x.Type()+" key "+item[0].String(), "in ")
				}
			}
			buf.WriteByte('}')

		case starlark.Iterable:
			// e.g. tuple, list
			if !isArray(x) {
				// coro patch (ORIGIN 39): a channel, a generator, a
				// listener are iterable, but iterating one consumes it
				// (and may wait for ever), so it is not data.
				return fmt.Errorf("cannot encode %s as JSON", x.Type())
			}
			buf.WriteByte('[')
			iter := x.Iterate()
			defer iter.Done()
			var elem starlark.Value
			for i := 0; iter.Next(&elem); i++ {
				if i > 0 {
					buf.WriteByte(',')
				}
				if err := emit(elem); err != nil {
					return at(err, x.Type()+" index "+strconv.Itoa(i), "at ")
				}
			}
			buf.WriteByte(']')

		case starlark.HasAttrs:
			// e.g. struct
			var names []string
			names = append(names, x.AttrNames()...)
			sort.Strings(names)
			// coro patch (ORIGIN 39): the fields are read before any is
			// written, so that a value with methods (a Future, a Timer,
			// a lock) is refused as a whole rather than at its first
			// method, after its other fields were encoded.
			values := make([]starlark.Value, len(names))
			for i, name := range names {
				v, err := x.Attr(name)
				if err != nil {
					return fmt.Errorf("cannot access attribute %s.%s: %w", x.Type(), name, err)
				}
				if v == nil {
					// x.AttrNames() returned name, but x.Attr(name) returned nil, stating
					// that the field doesn't exist.
					return fmt.Errorf("missing attribute %s.%s (despite %q appearing in dir()", x.Type(), name, name)
				}
				if isMethodOf(v, x) {
					return fmt.Errorf("cannot encode %s as JSON", x.Type())
				}
				values[i] = v
			}
			buf.WriteByte('{')
			for i, name := range names {
				v := values[i]
				if i > 0 {
					buf.WriteByte(',')
				}
				quote(name)
				buf.WriteByte(':')
				if err := emit(v); err != nil {
					return at(err, "field ."+name, "in ")
				}
			}
			buf.WriteByte('}')

		default:
			return fmt.Errorf("cannot encode %s as JSON", x.Type())
		}
		return nil
	}

	if err := emit(x); err != nil {
		if errors.Is(err, errTooLong) {
			return nil, fmt.Errorf("%s: %v (more than %d bytes)", b.Name(), err, maxEncoded)
		}
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	if buf.Len() > maxEncoded {
		return nil, fmt.Errorf("%s: %w (more than %d bytes)", b.Name(), errTooLong, maxEncoded)
	}
	return starlark.String(buf.String()), nil
}

// maxEncodeDepth bounds how deep json.encode nests arrays and objects, as
// yaml.encode's does (coro patch, ORIGIN 45).
const maxEncodeDepth = 10000

// maxDecodeDepth bounds how deep json.decode reads them: as deep as
// json.encode writes (coro patch, ORIGIN 50).
const maxDecodeDepth = maxEncodeDepth

// errTooDeep is the failure past maxEncodeDepth.
var errTooDeep = fmt.Errorf("a value nested more than %d deep", maxEncodeDepth)

// A locatedError is an encoding failure and where it arose, its path of
// keys, indexes and fields from the top (coro patch, ORIGIN 45). The path
// is collected as the failure unwinds, one step per level, and written
// once: wrapping the message at every level made a failure n levels deep
// cost O(n²) (11.8 s and 6.5 GB at 20,000 levels, on the loop). A path
// deeper than 16 shows its first and last 8 steps.
type locatedError struct {
	steps []string // innermost first, each with its preposition
	err   error
}

func (e *locatedError) Unwrap() error { return e.err }

func (e *locatedError) Error() string {
	var b strings.Builder
	n := len(e.steps)
	for i := n - 1; i >= 0; i-- {
		if d := n - 1 - i; n > 16 && d >= 8 && i >= 8 {
			if d == 8 {
				fmt.Fprintf(&b, "(%d more levels): ", n-16)
			}
			continue
		}
		b.WriteString(e.steps[i])
		b.WriteString(": ")
	}
	b.WriteString(e.err.Error())
	return b.String()
}

// at adds a step (prep, "at " or "in ", then where) to the path of err.
func at(err error, where, prep string) error {
	le, ok := err.(*locatedError)
	if !ok {
		le = &locatedError{err: err}
	}
	le.steps = append(le.steps, prep+where)
	return le
}

func encodeIndent(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	prefix, indent := "", "\t" // keyword-only
	if err := starlark.UnpackArgs(b.Name(), nil, kwargs,
		"prefix?", &prefix,
		"indent?", &indent,
	); err != nil {
		return nil, err
	}
	// Rely on encode() to parse the positional parameter (since the signature matches); use our b so
	// error messages are attributed to json.encode_indent.
	str, err := encode(thread, b, args, nil)
	if err != nil {
		return nil, err
	}
	// coro patch (ORIGIN 57): indented by indentJSON, bounded and
	// charged, where encoding/json.Indent was neither.
	return indentJSON(thread, b.Name(), string(str.(starlark.String)), prefix, indent)
}

// isArray reports whether json.encode writes the iterable x as a JSON
// array: a list, a tuple, a set, a range, or a string's or bytes' elems
// or codepoints view (coro patch, ORIGIN 39). Those are data: reading
// them changes nothing. Upstream took any Iterable, so json.encode of a
// channel received its buffered values (and waited for more), and of a
// generator ran it to the end, consuming what the script meant to read
// later. An application type that wants to be an array implements
// json.Marshaler.
func isArray(x starlark.Iterable) bool {
	switch x.(type) {
	case starlark.Indexable, *starlark.Set: // list, tuple, range, string.elems
		return true
	}
	switch x.Type() {
	case "string.codepoints", "bytes.elems": // unexported views, named by the spec
		return true
	}
	return false
}

// isMethodOf reports whether the attribute v of x is one of x's methods
// (a builtin bound to a value of x's type): a value with methods is an
// object with behaviour (a Future, a lock, a time), not a record of
// fields to encode (coro patch, ORIGIN 39). A struct field holding
// another value's method is not one: encoding it fails at that field.
func isMethodOf(v starlark.Value, x starlark.Value) bool {
	b, ok := v.(*starlark.Builtin)
	return ok && b.Receiver() != nil && b.Receiver().Type() == x.Type()
}

func pointer(i any) unsafe.Pointer {
	v := reflect.ValueOf(i)
	switch v.Kind() {
	case reflect.Pointer, reflect.Chan, reflect.Map, reflect.UnsafePointer, reflect.Slice:
		// TODO(adonovan): use v.Pointer() when we drop go1.17.
		return unsafe.Pointer(v.Pointer())
	default:
		return nil
	}
}

func pathContains(path []unsafe.Pointer, item unsafe.Pointer) bool {
	return slices.Contains(path, item)
}

// isPrintableASCII reports whether s contains only printable ASCII.
// coro patch (ORIGIN 55): DEL (0x7f) is not; strconv.Quote wrote it as
// "\x7f", which is not JSON.
func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x20 || b >= 0x7f {
			return false
		}
	}
	return true
}

// isFinite reports whether f represents a finite rational value.
// It is equivalent to !math.IsNan(f) && !math.IsInf(f, 0).
func isFinite(f float64) bool {
	return math.Abs(f) <= math.MaxFloat64
}

func indent(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	prefix, indent := "", "\t" // keyword-only
	if err := starlark.UnpackArgs(b.Name(), nil, kwargs,
		"prefix?", &prefix,
		"indent?", &indent,
	); err != nil {
		return nil, err
	}
	var str string // positional-only
	if err := starlark.UnpackPositionalArgs(b.Name(), args, nil, 1, &str); err != nil {
		return nil, err
	}

	// coro patch (ORIGIN 57): the text is checked, then indented by
	// indentJSON, bounded and charged, where encoding/json.Indent was
	// neither (and wrote up to the first error, 50 GB for 10,000 "["
	// and a long indent).
	src := unsafe.Slice(unsafe.StringData(str), len(str)) // read only
	if !json.Valid(src) {
		// Unmarshal checks the text as Indent did: the same error.
		err := json.Unmarshal(src, new(json.RawMessage))
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	return indentJSON(thread, b.Name(), str, prefix, indent)
}

// indentJSON returns src, a valid JSON text, indented as
// encoding/json.Indent indents it (coro patch, ORIGIN 57): each element
// of an array or object on a line of its own, which starts with prefix
// and indent repeated once per level of nesting, ": " after a key, no
// whitespace of src's kept but what follows the value. Indent made a
// text whose size the script chose with no bound: prefix and indent are
// written on every line, so 402 bytes of JSON nested 200 deep and an
// indent of 100,000 spaces made 4 GB, in one Go call deaf to
// cancellation. The size is counted first and bounded as json.encode's
// is (maxEncoded), the thread's AllocChecker is asked for it, and the
// writing is charged by its bytes (Thread.StepBytes).
func indentJSON(thread *starlark.Thread, name, src, prefix, indent string) (starlark.Value, error) {
	value := strings.TrimRight(src, " \t\r\n") // the rest is kept as it is
	ind := &indenter{thread: thread, prefix: prefix, indent: indent}
	err := ind.run(value)
	size := ind.n + len(src) - len(value)
	if errors.Is(err, errTooLong) || err == nil && size > maxEncoded {
		return nil, fmt.Errorf("%s: %w (more than %d bytes)", name, errTooLong, maxEncoded)
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := thread.CheckAlloc(name, uint64(size)); err != nil {
		return nil, err
	}
	out := new(strings.Builder)
	out.Grow(size)
	ind = &indenter{thread: thread, prefix: prefix, indent: indent, out: out}
	if err := ind.run(value); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := ind.write(src[len(value):]); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return starlark.String(out.String()), nil
}

// An indenter writes a valid JSON text indented (indentJSON) to out, or
// with no out counts its bytes only, a step a line, failing past
// maxEncoded.
type indenter struct {
	thread         *starlark.Thread
	prefix, indent string
	out            *strings.Builder // nil: count only
	n              int              // bytes written or counted
	unpaid         int              // bytes written and not yet charged
	line           []byte           // '\n', prefix and indents: the deepest line begun
}

// write writes s, charging a step for every 64 KiB written.
func (ind *indenter) write(s string) error {
	if ind.out == nil {
		ind.n += len(s)
		return nil
	}
	for len(s) > 0 {
		k := min(len(s), 64<<10-ind.unpaid)
		ind.out.WriteString(s[:k])
		ind.n += k
		ind.unpaid += k
		s = s[k:]
		if ind.unpaid == 64<<10 {
			ind.unpaid = 0
			if err := ind.thread.StepBytes(64 << 10); err != nil {
				return err
			}
		}
	}
	return nil
}

// newline begins a line depth levels deep.
func (ind *indenter) newline(depth int) error {
	size := 1 + len(ind.prefix) + depth*len(ind.indent)
	if ind.out == nil {
		ind.n += size
		if ind.n > maxEncoded {
			return errTooLong
		}
		return ind.thread.Step()
	}
	// The line is written in one piece, from the bytes kept in ind.line
	// (a 1-byte indent written a level at a time took 15 s a GB).
	if ind.line == nil {
		ind.line = append([]byte{'\n'}, ind.prefix...)
	}
	for len(ind.line) < size {
		ind.line = append(ind.line, ind.indent...)
	}
	return ind.write(unsafe.String(unsafe.SliceData(ind.line), size)) // ind.line only grows
}

// run writes the valid JSON value src (no whitespace after it).
func (ind *indenter) run(src string) error {
	depth, open := 0, false // open: after [ or {, its first line not begun
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		var err error
		if open && c != ']' && c != '}' {
			open = false
			depth++
			if err := ind.newline(depth); err != nil {
				return err
			}
		}
		switch c {
		case ',':
			if err = ind.write(","); err == nil {
				err = ind.newline(depth)
			}
		case ':':
			err = ind.write(": ")
		case '[', '{':
			open = true // [] and {} stay on one line
			err = ind.write(src[i : i+1])
		case ']', '}':
			if open {
				open = false
			} else {
				depth--
				err = ind.newline(depth)
			}
			if err == nil {
				err = ind.write(src[i : i+1])
			}
		case '"':
			j := i + 1
			for ; src[j] != '"'; j++ {
				if src[j] == '\\' {
					j++
				}
			}
			err = ind.write(src[i : j+1])
			i = j
		default:
			err = ind.write(src[i : i+1])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func decode(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (v starlark.Value, err error) {
	var s string
	var d starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "x", &s, "default?", &d); err != nil {
		return nil, err
	}
	if len(args) < 1 {
		// "x" parameter is positional only; UnpackArgs does not allow us to
		// directly express "def decode(x, *, default)"
		return nil, fmt.Errorf("%s: unexpected keyword argument x", b.Name())
	}

	// The decoder necessarily makes certain representation choices
	// such as list vs tuple, struct vs dict, int vs float.
	// In principle, we could parameterize it to allow the caller to
	// control the returned types, but there's no compelling need yet.

	// Use panic/recover with a distinguished type (failure) for error handling.
	// If "default" is set, we only want to return it when encountering invalid
	// json - not for any other possible causes of panic.
	// In particular, if we ever extend the json.decode API to take a callback,
	// a distinguished, private failure type prevents the possibility of
	// json.decode with "default" becoming abused as a try-catch mechanism.
	type failure string
	fail := func(format string, args ...any) {
		panic(failure(fmt.Sprintf(format, args...)))
	}

	// coro patch (ORIGIN 63): each value read is charged a step, a
	// string a step per BytesPerStep of its text (Thread.StepBytes), so
	// that a long decode ends time slices and stops at a cancellation or
	// the step limit, as encode does; it was one Go call (a 36 MB
	// document held coro's loop 1.4 s, deaf to timeouts). A stop is not
	// invalid JSON: it is reported even when "default" is set.
	type stopped struct{ err error }
	charge := func(n int) {
		if err := thread.StepBytes(n); err != nil {
			panic(stopped{err})
		}
	}

	i := 0

	// skipSpace consumes leading spaces, and reports whether there is more input.
	skipSpace := func() bool {
		for ; i < len(s); i++ {
			b := s[i]
			if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
				return true
			}
		}
		return false
	}

	// next consumes leading spaces and returns the first non-space.
	// It panics if at EOF.
	next := func() byte {
		if skipSpace() {
			return s[i]
		}
		fail("unexpected end of file")
		panic("unreachable")
	}

	// depth is how many arrays and objects parse is inside. coro patch
	// (ORIGIN 50): parse recurses in Go once per level, and 10 million
	// "[" (a 20 MB text, a request body a server decodes) overflowed the
	// goroutine's stack, a fatal error that ended the process.
	depth := 0
	enter := func() {
		if depth++; depth > maxDecodeDepth {
			fail("nested more than %d deep", maxDecodeDepth)
		}
	}

	// parse returns the next JSON value from the input.
	// It consumes leading but not trailing whitespace.
	// It panics on error.
	var parse func() starlark.Value
	parse = func() starlark.Value {
		b := next()
		charge(1)
		switch b {
		case '"':
			// string

			// Find end of quotation.
			// Also, record whether trivial unquoting is safe.
			// Non-trivial unquoting is handled by Go's encoding/json.
			safe := true
			closed := false
			j := i + 1
			for ; j < len(s); j++ {
				b := s[j]
				if b == '\\' {
					safe = false
					j++ // skip x in \x
				} else if b == '"' {
					closed = true
					j++ // skip '"'
					break
				} else if b >= utf8.RuneSelf || b < 0x20 {
					// coro patch (ORIGIN 55): a control character
					// must be escaped, and encoding/json says so.
					safe = false
				}
			}
			if !closed {
				fail("unclosed string literal")
			}

			r := s[i:j]
			i = j
			if len(r) >= 2*starlark.BytesPerStep {
				charge(len(r))
			}

			// unquote
			if safe {
				r = r[1 : len(r)-1]
			} else if err := json.Unmarshal([]byte(r), &r); err != nil {
				fail("%s", err)
			}
			return starlark.String(r)

		case 'n':
			if strings.HasPrefix(s[i:], "null") {
				i += len("null")
				return starlark.None
			}

		case 't':
			if strings.HasPrefix(s[i:], "true") {
				i += len("true")
				return starlark.True
			}

		case 'f':
			if strings.HasPrefix(s[i:], "false") {
				i += len("false")
				return starlark.False
			}

		case '[':
			// array
			var elems []starlark.Value

			enter()
			i++ // '['
			b = next()
			if b != ']' {
				for {
					elem := parse()
					elems = append(elems, elem)
					b = next()
					if b != ',' {
						if b != ']' {
							fail("got %q, want ',' or ']'", b)
						}
						break
					}
					i++ // ','
				}
			}
			i++ // ']'
			depth--
			return starlark.NewList(elems)

		case '{':
			// object
			dict := new(starlark.Dict)

			enter()
			i++ // '{'
			b = next()
			if b != '}' {
				for {
					key := parse()
					if _, ok := key.(starlark.String); !ok {
						fail("got %s for object key, want string", key.Type())
					}
					b = next()
					if b != ':' {
						fail("after object key, got %q, want ':' ", b)
					}
					i++ // ':'
					value := parse()
					dict.SetKey(key, value) // can't fail
					b = next()
					if b != ',' {
						if b != '}' {
							fail("in object, got %q, want ',' or '}'", b)
						}
						break
					}
					i++ // ','
				}
			}
			i++ // '}'
			depth--
			return dict

		default:
			// number?
			if isdigit(b) || b == '-' {
				// scan literal. Allow [0-9+-eE.] for now.
				float := false
				var j int
				for j = i + 1; j < len(s); j++ {
					b = s[j]
					if isdigit(b) {
						// ok
					} else if b == '.' ||
						b == 'e' ||
						b == 'E' ||
						b == '+' ||
						b == '-' {
						float = true
					} else {
						break
					}
				}
				num := s[i:j]
				i = j

				// Unlike most C-like languages,
				// JSON disallows a leading zero before a digit.
				digits := num
				if num[0] == '-' {
					digits = num[1:]
				}
				if !isNumber(num) { // coro patch (ORIGIN 55)
					fail("invalid number: %s", num)
				}

				// parse literal
				if float {
					x, err := strconv.ParseFloat(num, 64)
					if err != nil {
						fail("invalid number: %s", num)
					}
					return starlark.Float(x)
				} else {
					// coro patch (ORIGIN 63): an int of up to 18
					// digits is read as an int64, not by math/big
					// (a third of a decode of small ints).
					if len(digits) <= 18 {
						if x, err := strconv.ParseInt(num, 10, 64); err == nil {
							return starlark.MakeInt64(x)
						}
					}
					// coro patch (ORIGIN 54): math/big reads decimal
					// digits in quadratic time.
					if err := syntax.CheckIntDigits(digits, 10); err != nil {
						fail("%v", err)
					}
					x, ok := new(big.Int).SetString(num, 10)
					if !ok {
						fail("invalid number: %s", num)
					}
					return starlark.MakeBigInt(x)
				}
			}
		}
		fail("unexpected character %q", b)
		panic("unreachable")
	}
	defer func() {
		x := recover()
		switch x := x.(type) {
		case failure:
			if d != nil {
				v = d
			} else {
				err = fmt.Errorf("json.decode: at offset %d, %s", i, x)
			}
		case stopped:
			v, err = nil, x.err
		case nil:
			// nop
		default:
			panic(x) // unexpected panic
		}
	}()
	v = parse()
	if skipSpace() {
		fail("unexpected character %q after value", s[i])
	}
	return v, nil
}

func isdigit(b byte) bool {
	return b >= '0' && b <= '9'
}

// isNumber reports whether num is a number as RFC 8259 writes it:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?. coro patch (ORIGIN 55):
// strconv.ParseFloat also reads "1.", "-.5" and "1.e3", which are not
// JSON (json.indent and every other reader refuse them).
func isNumber(num string) bool {
	i := 0
	digits := func() int {
		start := i
		for i < len(num) && isdigit(num[i]) {
			i++
		}
		return i - start
	}
	if i < len(num) && num[i] == '-' {
		i++
	}
	if i < len(num) && num[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(num) && num[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(num) && (num[i] == 'e' || num[i] == 'E') {
		i++
		if i < len(num) && (num[i] == '+' || num[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(num)
}
