package stream_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	"github.com/corolang/coro/stdlib/internal/starutil"
	"github.com/corolang/coro/stdlib/internal/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// feed is an io.Reader whose Read blocks until the test script feeds it
// a chunk (feed(s)); closing it (feed(None)) is the end of the stream.
type feed chan string

func (f feed) Read(p []byte) (int, error) {
	s, ok := <-f
	if !ok {
		return 0, io.EOF
	}
	if len(s) > len(p) {
		panic("chunk larger than the read")
	}
	return copy(p, s), nil
}

// testStream is a script value over a Reader and a Writer: what the
// modules' values are, with a feed as the Pump's source.
type testStream struct {
	r       *stream.Reader
	written []string
}

var testMethods = starutil.NewMethods("TestStream", stream.AllMethods())

func (s *testStream) String() string                           { return "<test stream>" }
func (s *testStream) Type() string                             { return "TestStream" }
func (s *testStream) Freeze()                                  {}
func (s *testStream) Truth() starlark.Bool                     { return true }
func (s *testStream) Hash() (uint32, error)                    { return 0, fmt.Errorf("unhashable") }
func (s *testStream) AttrNames() []string                      { return testMethods.Names() }
func (s *testStream) Attr(name string) (starlark.Value, error) { return testMethods.Bind(name, s), nil }
func (s *testStream) StreamReader() *stream.Reader             { return s.r }
func (s *testStream) WriteData(x *loop.Exec, fn, data string) error {
	s.written = append(s.written, data)
	return nil
}
func (s *testStream) CloseWrite(x *loop.Exec, fn string) error {
	s.r.Close()
	return nil
}

type why string

func (w why) WaitingOn() string { return string(w) }

// module is the script module of a test: open(how, whole) makes a
// stream over a new feed, feed(s) gives it a chunk (None ends it).
func module(t *testing.T) (starlark.Value, *[]*testStream) {
	var f feed
	var made []*testStream
	open := func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		how := "detached"
		whole := false
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "how?", &how, "whole?", &whole); err != nil {
			return nil, err
		}
		f = make(feed, 100)
		p := stream.NewPump(f, stream.PumpOptions{How: map[string]stream.How{"detached": stream.Detached, "pool": stream.Pool, "own": stream.Own}[how], Why: why("read test")})
		s := &testStream{r: stream.NewReader(p, stream.Options{Name: "test stream", Whole: whole})}
		made = append(made, s)
		return s, nil
	}
	give := func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var v starlark.Value
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "chunk", &v); err != nil {
			return nil, err
		}
		if v == starlark.None {
			close(f)
		} else {
			f <- string(v.(starlark.String))
		}
		return starlark.None, nil
	}
	return &starlarkstruct.Module{Name: "st", Members: starlark.StringDict{
		"open": starlark.NewBuiltin("st.open", open),
		"feed": starlark.NewBuiltin("st.feed", give),
	}}, &made
}

func run(t *testing.T, src string) (string, []*testStream) {
	t.Helper()
	m, made := module(t)
	out, err := moduletest.Run(t, loop.Permissions{}, "st", m, src)
	require.NoError(t, err, out)
	return out, *made
}

func TestReadSemantics(t *testing.T) {
	for _, how := range []string{"detached", "pool", "own"} {
		t.Run(how, func(t *testing.T) {
			out, _ := run(t, strings.ReplaceAll(`
s = st.open("HOW")
for c in ["ab", "c\nde", "f\n", "gh", "ij\nkl"]:
    st.feed(c)
st.feed(None)
print(repr(s.read_line()))     # across chunks
print(repr(s.read(1)))         # from the buffer
print(repr(s.read()))          # the rest of the buffer, no more
print(repr(s.read_exactly(3))) # across chunks
print([l for l in s.lines()])  # the last line lacks its newline
print(repr(s.read()), repr(s.read_line()), repr(s.read_exactly(0)))
print(catch(s.read_exactly, 1).error)
`, "HOW", how))
			assert.Equal(t, `"abc\n"
"d"
"e"
"f\ng"
["hij\n", "kl"]
"" "" ""
eof: TestStream.read_exactly: stream ended after 0 of 1 bytes
`, out)
		})
	}
}

func TestReadExactlyAtTheEndKeepsWhatCame(t *testing.T) {
	out, _ := run(t, `
s = st.open()
st.feed("abc")
st.feed(None)
print(catch(s.read_exactly, 1 << 30).error)  # allocates only what came
print(catch(s.read_exactly, (1 << 30) + 1).error)  # more than one read returns
print(repr(s.read()))
`)
	assert.Equal(t, "eof: TestStream.read_exactly: stream ended after 3 of 1073741824 bytes\n"+
		"value: TestStream.read_exactly: more than 1 GiB to read at once from test stream: read it in pieces (read(n), lines())\n\"abc\"\n", out)
}

func TestWholeRead(t *testing.T) {
	out, _ := run(t, `
s = st.open("pool", whole = True)
for c in ["ab", "cd", "ef\n", "gh"]:
    st.feed(c)
st.feed(None)
print(repr(s.read(3)))      # n bytes, across chunks
print(repr(s.read_line()))
print(repr(s.read(1 << 40))) # fewer only at the end; nothing reserved for n
print(repr(s.read()))
`)
	assert.Equal(t, "\"abc\"\n\"def\\n\"\n\"gh\"\n\"\"\n", out)
}

func TestArgumentErrors(t *testing.T) {
	out, _ := run(t, `
s = st.open()
for f, args in [(s.read, [0]), (s.read, ["x"]), (s.read_exactly, [-1]), (s.read_line, [1, 2]), (s.read_line, [0]),
                (s.read_line, [None]), (s.write, [1]), (s.lines, [-1]), (s.lines, [1, 2])]:
    print(catch(f, *args).error)
`)
	assert.Equal(t, `value: TestStream.read: n must be > 0, got 0
value: TestStream.read: for parameter n: got string, want int
value: TestStream.read_exactly: n must be >= 0, got -1
value: TestStream.read_line: got 2 arguments, want at most 1
value: TestStream.read_line: limit must be > 0, got 0
value: TestStream.read_line: for parameter limit: got NoneType, want int
value: TestStream.write: for parameter data: got int, want string or bytes
value: TestStream.lines: limit must be > 0, got -1
value: TestStream.lines: got 2 arguments, want at most 1
`, out)
}

func TestWriteTakesStringsAndBytes(t *testing.T) {
	_, made := run(t, `
s = st.open()
s.write("a")
s.write(b"b")
s.write(data = "c")
`)
	require.Len(t, made, 1)
	assert.Equal(t, []string{"a", "b", "c"}, made[0].written)
}

func TestClosed(t *testing.T) {
	out, _ := run(t, `
s = st.open()
st.feed("buffered\nline\n")
print(repr(s.read_line()))
s.close_write()  # closes the reader (testStream.CloseWrite)
for f in [s.read, s.read_line, lambda: s.read_exactly(1), lambda: list(s.lines())]:
    print(catch(f).error)
`)
	assert.Equal(t, `"buffered\n"
closed: TestStream.read: test stream is closed
closed: TestStream.read_line: test stream is closed
closed: TestStream.read_exactly: test stream is closed
closed: TestStream.lines: test stream is closed
`, out)
}

// A reader that stops waiting (cancelled) loses nothing: the chunk its
// read brings lands for the next reader, whichever way reads run.
func TestCancelledReaderLosesNothing(t *testing.T) {
	for _, how := range []string{"detached", "pool", "own"} {
		t.Run(how, func(t *testing.T) {
			out, _ := run(t, strings.ReplaceAll(`
s = st.open("HOW")
t = spawn(s.read_line)
sleep(0.01)  # t waits for the read it started
t.cancel()
print(catch(t.wait).error)
st.feed("hello\n")
print(repr(s.read_line()))
`, "HOW", how))
			assert.Equal(t, "cancelled: cancelled\n\"hello\\n\"\n", out)
		})
	}
}

// Two readers of one stream: one read at a time is in flight, and the
// lines go to one reader each, none twice.
func TestConcurrentReaders(t *testing.T) {
	out, _ := run(t, `
s = st.open()
def reader():
    return [l for l in s.lines()]
a = spawn(reader)
b = spawn(reader)
sleep(0.01)
for i in range(20):
    st.feed("%d\n" % i)
st.feed(None)
got = sorted(a.wait() + b.wait(), key = lambda l: int(l.strip()))
print(len(got), got == ["%d\n" % i for i in range(20)])
`)
	assert.Equal(t, "20 True\n", out)
}

// A line is bounded: limit bytes with no newline fail read_line and
// lines() with value, and are all that was read of it; they stay
// buffered for read(), and read_line fails again rather than starting
// half-way through the long line.
func TestLineLimit(t *testing.T) {
	out, _ := run(t, `
s = st.open()
for c in ["abc\n", "a" * 60, "b" * 60, "c" * 60 + "\n"]:
    st.feed(c)
st.feed(None)
print(repr(s.read_line(limit = 4)))  # a line of limit bytes, with its newline
print(catch(s.read_line, limit = 100).error)
print(catch(s.read_line, 100).error)  # again: still too long
print(len(s.read()), len(s.read()), len(s.read()))  # no more was read than the limit
print(repr(s.read_line()))
`)
	assert.Equal(t, `"abc\n"
value: TestStream.read_line: line longer than 100 bytes from test stream
value: TestStream.read_line: line longer than 100 bytes from test stream
100 20 61
""
`, out)

	out, _ = run(t, `
s = st.open()
for c in ["ab\n", "cd", "e\n", "fghij\n", "k\n"]:
    st.feed(c)
st.feed(None)
got = []
print(catch(lambda: [got.append(l) for l in s.lines(limit = 5)]).error, got)
print(repr(s.read()))
`)
	assert.Equal(t, `value: TestStream.lines: line longer than 5 bytes from test stream ["ab\n", "cde\n"]
"fghij"
`, out)
}

// zeroSource is a Source of size bytes of "x" and no newline, counting
// what it handed out.
type zeroSource struct{ size, given int }

func (z *zeroSource) TryRead(_ string, p []byte) (int, error) {
	if z.given == z.size {
		return 0, io.EOF
	}
	n := min(len(p), z.size-z.given)
	for i := range n {
		p[i] = 'x'
	}
	z.given += n
	return n, nil
}

func (z *zeroSource) Wait(*loop.Exec, string) error { return nil }

// A peer sending no newline makes read_line read about the limit, not
// all it sends (64 MiB here: it all went into one line before).
func TestLineLimitBoundsWhatIsRead(t *testing.T) {
	for _, limit := range []int{stream.DefaultLineLimit, 1, 5000, 100 << 10} {
		src := &zeroSource{size: 64 << 20}
		r := stream.NewReader(src, stream.Options{Name: "connection", Label: "10.0.0.1:5555"})
		_, err := r.ReadLine(nil, "Conn.read_line", limit)
		require.Error(t, err)
		assert.Equal(t, fmt.Sprintf("value: Conn.read_line: line longer than %d bytes from 10.0.0.1:5555", limit), err.Error())
		assert.Equal(t, limit, src.given)
		assert.Equal(t, limit, r.Buffered())
		_, err = r.ReadLine(nil, "Conn.read_line", limit)
		require.Error(t, err)
		assert.Equal(t, limit, src.given, "a read_line again reads no more")
	}
}

// socketSource hands out at most 64 KiB a read, as a socket's receive
// buffer does.
type socketSource struct{ *zeroSource }

func (s socketSource) TryRead(fn string, p []byte) (int, error) {
	return s.zeroSource.TryRead(fn, p[:min(len(p), 64<<10)])
}

// A long read from a peer that sends as fast as it is read never waits:
// read_exactly of 16 MiB, or read() of a whole stream, held the loop to
// the end, deaf to timeout() and cancellation. Now it lets the other
// tasks run every starutil.PaceBudget (256 KiB) it gathers, as a wait
// would (counted here in turns of a task that yields in a loop, not in
// time).
func TestLongReadsLetOthersRun(t *testing.T) {
	zeros := starlark.NewBuiltin("zeros", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var n int
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "n", &n); err != nil {
			return nil, err
		}
		src := socketSource{&zeroSource{size: n}}
		return &testStream{r: stream.NewReader(src, stream.Options{Name: "zeros", Whole: true})}, nil
	})
	m := &starlarkstruct.Module{Name: "st", Members: starlark.StringDict{"zeros": zeros}}
	out, err := moduletest.Run(t, loop.Permissions{}, "st", m, `
turns = [0]
def tick():
    while True:
        turns[0] += 1
        sleep(0)
t = spawn(tick)
before = turns[0]
print(len(st.zeros(16 << 20).read_exactly(16 << 20)), turns[0] - before > 10)
before = turns[0]
print(len(st.zeros(16 << 20).read()), turns[0] - before > 10)
t.cancel()
`)
	require.NoError(t, err, out)
	assert.Equal(t, "16777216 True\n16777216 True\n", out)
}

// A file's read() of all that is left runs as one read off the loop
// (PumpOptions.Rest), what the Reader had buffered and what had landed
// first: gathered on the loop, a file of 400 MB held it a quarter of a
// second at a time, copying the buffer each time it doubled and then
// into the string. No copy on the loop is larger than a chunk now.
func TestReadRestCopiesLittleOnTheLoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	body := strings.Repeat("0123456789abcdef", 1<<19) // 8 MiB
	require.NoError(t, os.WriteFile(path, []byte("first line\n"+body), 0o644))
	open := starlark.NewBuiltin("open", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { f.Close() })
		p := stream.NewPump(f, stream.PumpOptions{How: stream.Pool, Why: why("read big"),
			Rest: func(ctx context.Context, head []byte) ([]byte, error) {
				rest, err := io.ReadAll(f)
				return append(head, rest...), err
			}})
		return &testStream{r: stream.NewReader(p, stream.Options{Name: "big", Whole: true})}, nil
	})
	largest := 0
	defer stream.CountLoopCopies(func(n int) { largest = max(largest, n) })()
	out, err := moduletest.RunWith(t, loop.Options{}, starlark.StringDict{"open": open, "body": starlark.String(body)}, `
s = open()
print(repr(s.read_line()))
print(s.read() == body, repr(s.read()))
`)
	require.NoError(t, err)
	assert.Equal(t, "\"first line\\n\"\nTrue \"\"\n", out)
	assert.LessOrEqual(t, largest, stream.DefaultRead)
}

// Closing a stream lets go of its buffers and ends the lines()
// generators parked on it: a loop left early held them, read buffer and
// all, until the collector closed the generator a cycle later, and a task
// opening, breaking out of and closing streams grew without bound. No
// garbage collection runs here: what is held is held by what the script
// still refers to, or by the Pump's buffers.
func TestCloseReleasesBuffersAndEndsLines(t *testing.T) {
	out, made := run(t, `
gens = []
for i in range(20):
    s = st.open()
    st.feed("first\nsecond\n")
    g = s.lines()
    gens.append(g)
    for line in g:
        break
    s.close_write()  # closes the reader (testStream.CloseWrite)
print(repr(line))
print(set([str(g) for g in gens]))
print(catch(gens[0].next).error)
print(catch(gens[0].next).error)

# Closed inside the loop, the loop fails with closed, as its next read
# would.
s = st.open()
st.feed("first\nsecond\n")
def consume():
    for line in s.lines():
        s.close_write()
print(catch(consume).error)

# A stream that ended on its own holds nothing either, closed or not.
s = st.open()
st.feed("a\nb\n")
st.feed(None)
g = s.lines()
print(repr(g.next()))
print(wait(spawn(lambda: [l for l in g])), s.read_line() == "")
`)
	assert.Equal(t, `"first\n"
set(["<generator 'lines of test stream' done>"])
closed: TestStream.lines: test stream is closed
stop: Generator.next: generator lines of test stream is exhausted
closed: TestStream.lines: test stream is closed
"a\n"
["b\n"] True
`, out)
	for i, s := range made {
		assert.Zero(t, stream.Held(s.r), "stream %d", i)
	}
}

// One read returns at most stream.MaxWhole bytes (1 GiB; 1 MiB here):
// read() of a stream that never ends grew the heap until the process
// died. What was read stays for smaller reads.
func TestWholeReadsAreBounded(t *testing.T) {
	defer stream.SetMaxWhole(1 << 20)()
	src := &zeroSource{size: 4 << 20}
	r := stream.NewReader(socketSource{src}, stream.Options{Name: "zeros", Whole: true})
	_, err := r.ReadUpTo(nil, "Conn.read", -1)
	assert.EqualError(t, err, "value: Conn.read: more than 1048576 bytes to read at once from zeros: read it in pieces (read(n), lines())")
	assert.Less(t, src.given, 2<<20, "it stops reading at the bound")
	_, err = r.ReadUpTo(nil, "Conn.read", 2<<20)
	assert.Error(t, err)
	_, err = r.ReadExactly(nil, "Conn.read_exactly", 2<<20)
	assert.Error(t, err)
	s, err := r.ReadUpTo(nil, "Conn.read", 1<<20)
	require.NoError(t, err)
	assert.Len(t, string(s), 1<<20)
}
