package loop

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/resolve"
	"github.com/corolang/coro/starlark/syntax"
)

// A Kind says what sort of failure an Error is (SPEC 4); scripts see it
// as Error.kind. Go code tests for one with errors.Is and the sentinel of
// the kind (ErrTimeout, ...), which also looks through wrapping.
type Kind string

// Error kinds (SPEC 4). Every failure coro raises has one.
const (
	KindCancelled  Kind = "cancelled"
	KindTimeout    Kind = "timeout"
	KindClosed     Kind = "closed"
	KindEOF        Kind = "eof"
	KindRefused    Kind = "refused"
	KindReset      Kind = "reset"
	KindNotFound   Kind = "not_found"
	KindExists     Kind = "exists"
	KindPermission Kind = "permission"
	KindIO         Kind = "io"
	KindValue      Kind = "value"
	KindDeadlock   Kind = "deadlock"
	KindStop       Kind = "stop"
	KindError      Kind = "error"
)

// A sentinel stands for every Error of one kind: errors.Is(err,
// ErrTimeout) holds for any err whose chain has an *Error of kind timeout
// (Error.Is). Sentinels are never returned themselves.
type sentinel struct{ kind Kind }

func (s *sentinel) Error() string { return string(s.kind) }

// The sentinels, one per kind but the catch-all KindError.
var (
	ErrCancelled  error = &sentinel{KindCancelled}
	ErrTimeout    error = &sentinel{KindTimeout}
	ErrClosed     error = &sentinel{KindClosed}
	ErrEOF        error = &sentinel{KindEOF}
	ErrRefused    error = &sentinel{KindRefused}
	ErrReset      error = &sentinel{KindReset}
	ErrNotFound   error = &sentinel{KindNotFound}
	ErrExists     error = &sentinel{KindExists}
	ErrPermission error = &sentinel{KindPermission}
	ErrIO         error = &sentinel{KindIO}
	ErrValue      error = &sentinel{KindValue}
	ErrDeadlock   error = &sentinel{KindDeadlock}
	ErrStop       error = &sentinel{KindStop}
)

// Is makes errors.Is(err, ErrTimeout) (and each other sentinel) match an
// Error of that kind. The Error's cause is still searched after it
// (Unwrap), so errors.Is(err, context.Canceled) keeps working too.
func (e *Error) Is(target error) bool {
	s, ok := target.(*sentinel)
	return ok && s.kind == e.Kind
}

// An Error is a coro failure: a Go error (so it travels through the
// interpreter and errors.As finds it) and a Starlark value (so catch and
// Task.error can hand it to scripts).
type Error struct {
	Kind Kind
	Msg  string // without the "kind: " prefix
	// Stack holds the script frames where the error arose, outermost first.
	Stack starlark.CallStack
	// Task and SpawnedAt name the task the error arose in, when known.
	Task      string
	SpawnedAt string
	// Spawns is the chain of spawns that led to Task, outermost first
	// (main spawned a, a spawned b, ...); tracebacks show each site.
	Spawns []SpawnSite
	// GoStack holds Go frames, kept only for --go-trace: where a panic
	// happened, or where coro made the error (see goStack in diag.go).
	GoStack string
	cause   error
	// refusedBy is the group whose spawn refused with this error because
	// the group was closing: raised by its body or one of its tasks, it
	// is not a failure of the group (group.go).
	refusedBy *Group
}

var _ starlark.HasAttrs = (*Error)(nil)

// Errorf returns an Error of the given kind.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), GoStack: goStack(1)}
}

// ValueError wraps an argument error (typically from starlark.UnpackArgs).
func ValueError(err error) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return &Error{Kind: KindValue, Msg: err.Error(), cause: err, GoStack: goStack(1)}
}

func (e *Error) Error() string { return string(e.Kind) + ": " + e.Msg }

// Frames returns the script frames where the error arose, once known: the
// interpreter then wraps the error with them instead of copying the whole
// stack again at each builtin the error passes through (starlark.FramedError).
func (e *Error) Frames() starlark.CallStack { return e.Stack }
func (e *Error) Unwrap() error              { return e.cause }

// Traceback renders the script frames, Python style, most recent call last.
const tracebackHeader = "Traceback (most recent call last):\n"

func (e *Error) Traceback() string {
	var b strings.Builder
	b.WriteString(tracebackHeader)
	for _, s := range e.Spawns {
		fmt.Fprintf(&b, "  %s: task '%s' spawned task '%s'\n", s.At, s.By, s.Task)
	}
	if len(e.Spawns) == 0 && e.SpawnedAt != "" {
		fmt.Fprintf(&b, "  %s: spawned task '%s'\n", e.SpawnedAt, e.Task)
	}
	// A line repeated more than repeatShown times in a row (deep
	// recursion) is shown that often, then counted, as Python does: a
	// stack overflow's traceback was 100,000 lines.
	const repeatShown = 3
	var last string
	repeats := 0
	flush := func() {
		if repeats > repeatShown {
			fmt.Fprintf(&b, "  [Previous line repeated %d more times]\n", repeats-repeatShown)
		}
	}
	for _, fr := range e.Stack {
		if fr.Pos.Line == 0 {
			continue // a builtin: script frames only
		}
		line := fmt.Sprintf("  %s: in %s\n", fr.Pos, fr.Name)
		if line == last {
			repeats++
			if repeats <= repeatShown {
				b.WriteString(line)
			}
			continue
		}
		flush()
		last, repeats = line, 1
		b.WriteString(line)
	}
	flush()
	return b.String()
}

// Report is the full text printed for an unhandled error: traceback, then the message.
// An error with no script frame (a run cancelled from outside) is its
// message alone.
func (e *Error) Report(goTrace bool) string {
	s := e.Traceback()
	if s == tracebackHeader {
		s = ""
	}
	s += e.Error() + "\n"
	if goTrace && e.GoStack != "" {
		s += "Go stack:\n" + e.GoStack
	}
	return s
}

// Starlark value methods.
func (e *Error) String() string        { return e.Error() }
func (e *Error) Type() string          { return "Error" }
func (e *Error) Freeze()               {}
func (e *Error) Truth() starlark.Bool  { return true }
func (e *Error) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Error") }
func (e *Error) AttrNames() []string   { return []string{"kind", "message", "traceback"} }
func (e *Error) Attr(name string) (starlark.Value, error) {
	switch name {
	case "kind":
		return starlark.String(e.Kind), nil
	case "message":
		return starlark.String(e.Error()), nil
	case "traceback":
		return starlark.String(e.Traceback()), nil
	}
	return nil, nil
}

// ToError converts any error from running Starlark into an *Error with a
// kind and the script frames where it arose.
func ToError(err error) *Error {
	if err == nil {
		return nil
	}
	var evalErr *starlark.EvalError
	hasEval := errors.As(err, &evalErr)
	var ce *Error
	if errors.As(err, &ce) {
		if ce.Stack == nil && hasEval {
			ce.Stack = evalErr.CallStack
		}
		return ce
	}
	if hasEval {
		msg := evalErr.Msg
		kind := KindError
		if IsArgError(err) {
			kind = KindValue // bad arguments to any builtin (SPEC 4)
		} else {
			// fail("x") is the script's own message, "x"; a call of
			// fail with bad arguments keeps the name of what failed
			// ("fail: unexpected keyword argument \"bogus\"").
			msg = strings.TrimPrefix(msg, "fail: ")
		}
		return &Error{Kind: kind, Msg: msg, Stack: evalErr.CallStack, cause: err, GoStack: goStack(1)}
	}
	var synErr syntax.Error
	if errors.As(err, &synErr) {
		return &Error{Kind: KindError, Msg: synErr.Error(), cause: err}
	}
	var resErrs resolve.ErrorList
	if errors.As(err, &resErrs) {
		return &Error{Kind: KindError, Msg: resErrs.Error(), cause: err}
	}
	kind := KindError
	if IsArgError(err) {
		kind = KindValue
	}
	return &Error{Kind: kind, Msg: err.Error(), cause: err, GoStack: goStack(1)}
}

// IsArgError reports whether err is, or wraps, an argument error from
// starlark.UnpackArgs or UnpackPositionalArgs.
func IsArgError(err error) bool {
	var ae *starlark.ArgError
	return errors.As(err, &ae)
}

// IsSyntaxError reports whether err is a scanner, parser or resolver error
// (the command exits 2 for these).
func IsSyntaxError(err error) bool {
	var synErr syntax.Error
	var resErrs resolve.ErrorList
	return errors.As(err, &synErr) || errors.As(err, &resErrs)
}

// KindOf returns the kind of any error.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	return ToError(err).Kind
}

// fmtSeconds formats a duration in seconds the way messages show it: 0.5s, 2s.
func fmtSeconds(s float64) string { return fmt.Sprintf("%gs", s) }

// ValueBuiltin wraps a builtin of a module whose every failure is bad
// input (json, time): its errors get the kind value and a message that
// starts with qualified ("time.parse_duration") instead of the builtin's
// own name.
func ValueBuiltin(qualified string, b *starlark.Builtin) *starlark.Builtin {
	return starlark.NewBuiltin(qualified, func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		v, err := b.CallInternal(th, args, kwargs)
		if err == nil {
			return v, nil
		}
		var ce *Error
		if errors.As(err, &ce) {
			return nil, err
		}
		msg := strings.TrimPrefix(err.Error(), b.Name()+": ")
		return nil, &Error{Kind: KindValue, Msg: withPrefix(qualified, msg), cause: err, GoStack: goStack(1)}
	})
}

// CheckNUL fails with a value error if s, the argument what of fn (a
// path, a program's argument, an environment variable), has a NUL byte:
// the system takes such strings up to their first NUL, so it cannot hold
// one, and Python raises ValueError ("embedded null byte") before any
// system call. The message says where the NUL is and shows s quoted
// around it, the NUL as \x00: "fs.read: path has a NUL byte at byte 1:
// "a\x00.txt"". It was an io error from the system call (EINVAL), the
// NUL printed raw.
func CheckNUL(fn, what, s string) error {
	i := strings.IndexByte(s, 0)
	if i < 0 {
		return nil
	}
	return Errorf(KindValue, "%s: %s has a NUL byte at byte %d: %s", fn, what, i, Quote(s, i))
}

// Quote is s quoted for a message, as a script writes it (control
// characters escaped): whole up to 40 bytes, else the 40 or so around
// byte at, with "..." for what is left out.
func Quote(s string, at int) string {
	if len(s) <= 40 {
		return starlark.String(s).String()
	}
	start, end := max(0, at-30), min(len(s), max(at, 30)+10)
	for start > 0 && !utf8.RuneStart(s[start]) {
		start--
	}
	for end < len(s) && !utf8.RuneStart(s[end]) {
		end++
	}
	q := starlark.String(s[start:end]).String()
	if start > 0 {
		q = "..." + q
	}
	if end < len(s) {
		q += "..."
	}
	return q
}

// maxShown is how much of a script's string a message shows: about what
// Python shows (its messages cut such text at 200 characters).
const maxShown = 200

// Clip is s for a message that names it, such as a URL or a host name:
// whole up to maxShown bytes, else its first maxShown or so (cut at a
// rune boundary) then how long it is, "http://x/aaaa... (1048576 bytes)".
// A message repeating a megabyte argument whole was a megabyte long, in
// a log line per bad request of a server.
func Clip(s string) string {
	if len(s) <= maxShown {
		return s
	}
	return clipHead(s) + fmt.Sprintf("... (%d bytes)", len(s))
}

// clipHead is the start of s that Clip and QuoteArg show.
func clipHead(s string) string { return TextPrefix(s, maxShown) }

// TextPrefix is the start of s a message shows when s is long: its first
// n bytes (all of s if it is no longer), fewer if the n-th falls inside
// a UTF-8 sequence, which is left out whole.
func TextPrefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// QuoteArg is s, a script's argument, quoted for a message as a script
// writes it (control characters escaped, as Quote does), cut as Clip
// cuts: "\"abc\"", or "\"aaaa\"... (1048576 bytes)".
func QuoteArg(s string) string {
	if len(s) <= maxShown {
		return starlark.String(s).String()
	}
	return starlark.String(clipHead(s)).String() + fmt.Sprintf("... (%d bytes)", len(s))
}

// ValueModule returns members with each builtin wrapped by ValueBuiltin
// as "module.member".
func ValueModule(module string, members starlark.StringDict) starlark.StringDict {
	out := make(starlark.StringDict, len(members))
	for k, v := range members {
		if b, ok := v.(*starlark.Builtin); ok {
			v = ValueBuiltin(module+"."+k, b)
		}
		out[k] = v
	}
	return out
}

// MethodName is how messages name the method b: its receiver's type as
// scripts see it (type(x)), then the method ("Channel.send",
// "Task.wait", "Conn.close"), as every method of every value is named. A
// builtin with no receiver keeps its name.
func MethodName(b *starlark.Builtin) string {
	name := b.Name()
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	r := b.Receiver()
	if r == nil {
		return name
	}
	return r.Type() + "." + name
}
