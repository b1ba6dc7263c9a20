package main

// `coro fmt` (SPEC 14): the standard Starlark layout, by buildifier's
// formatter.

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/bazelbuild/buildtools/build"
	"github.com/corolang/coro/starlark/syntax"
)

const fmtUsage = `usage: coro fmt [--check] [PATHS...]
Formats .star files in place in the standard Starlark layout (buildifier's
formatter; comments are kept). PATHS are files or directories (searched
recursively for *.star), default ".".
  --check   change nothing: list the files that would change, exit 1 if any
Exit status: 0 done (or nothing to change), 1 --check found files to
change, 2 a usage error or a file that does not parse.
`

// coroDialect is the dialect of coro's scripts (engine.FileOptions), for
// the tools that parse without an engine.
func coroDialect() *syntax.FileOptions {
	return &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
}

// findStarFiles expands PATHS as coro test does: a file is taken whatever
// its name; a directory is searched recursively, in lexical order, for
// names ending in suffix, skipping directories named testdata or
// starting with "." or "_" below it. A path given twice is listed once.
// Only regular files are taken (a link is followed to see): a FIFO found
// in a directory is skipped, as its read would wait for a writer for
// ever, and one named in PATHS is an error, as is a device or a socket.
func findStarFiles(paths []string, suffix string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			if !info.Mode().IsRegular() {
				return nil, fmt.Errorf("%s: not a regular file or a directory", root)
			}
			add(root)
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				n := d.Name()
				if p != root && (n == "testdata" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_")) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(d.Name(), suffix) && isRegular(p, d) {
				add(p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// isRegular reports whether the entry d at p is a regular file, or a
// link to one.
func isRegular(p string, d fs.DirEntry) bool {
	if d.Type()&fs.ModeSymlink != 0 {
		info, err := os.Stat(p)
		return err == nil && info.Mode().IsRegular()
	}
	return d.Type().IsRegular()
}

// starFileArgs reads the arguments of `coro fmt` and `coro check`:
// boolean flags (--name or -name, each setting *flags[name]), then PATHS
// ("--" ends the flags; none means "."), and lists the .star files under
// them. A bad argument is reported on stderr with usage, and -h or --help
// writes usage on stdout: then the command is over, with exit status
// code; code is -1 when it goes on with files.
func starFileArgs(cmd string, args []string, usage string, flags map[string]*bool, stdout, stderr io.Writer) (files []string, code int) {
	var paths []string
	for i, a := range args {
		if a == "--" {
			paths = append(paths, args[i+1:]...)
			break
		}
		name := strings.TrimLeft(a, "-")
		switch {
		case a == "-h" || a == "--help" || a == "-help":
			fmt.Fprint(stdout, usage)
			return nil, exitOK
		case strings.HasPrefix(a, "-") && a != "-" && flags[name] != nil && (a == "-"+name || a == "--"+name):
			*flags[name] = true
		case strings.HasPrefix(a, "-") && a != "-":
			fmt.Fprintf(stderr, "coro %s: unknown flag %s\n%s", cmd, a, usage)
			return nil, exitUsage
		default:
			paths = append(paths, a)
		}
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	files, err := findStarFiles(paths, ".star")
	if err != nil {
		fmt.Fprintf(stderr, "coro %s: %v\n", cmd, err)
		return nil, exitUsage
	}
	return files, -1
}

// runFmt is `coro fmt`.
func runFmt(args []string, stdout, stderr io.Writer) int {
	check := false
	files, code := starFileArgs("fmt", args, fmtUsage, map[string]*bool{"check": &check}, stdout, stderr)
	if code >= 0 {
		return code
	}
	code = exitOK
	for _, file := range files {
		src, err := readScript(file)
		if err != nil {
			fmt.Fprintf(stderr, "coro fmt: %v\n", err)
			code = exitUsage
			continue
		}
		out, err := formatStar(file, src)
		if err != nil {
			fmt.Fprintln(stderr, err)
			code = exitUsage
			continue
		}
		if bytes.Equal(out, src) {
			continue
		}
		if check {
			fmt.Fprintln(stdout, file)
			if code == exitOK {
				code = exitError
			}
			continue
		}
		if err := writeFileKeepMode(file, out); err != nil {
			fmt.Fprintf(stderr, "coro fmt: %v\n", err)
			code = exitUsage
		}
	}
	return code
}

// writeFileKeepMode replaces file's contents, keeping its permissions:
// written beside it and renamed over it, so that a failure (a full disk,
// the process killed) leaves the file as it was, never truncated. A
// link named stays a link: its target is replaced.
func writeFileKeepMode(file string, data []byte) error {
	real, err := filepath.EvalSymlinks(file)
	if err != nil {
		return err
	}
	info, err := os.Stat(real)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(real), "."+filepath.Base(real)+".fmt-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(info.Mode().Perm())
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), real)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// Markers stand for what coro's dialect has and buildifier's parser does
// not (while loops, bytes literals) while the formatter lays the file out;
// they are put back afterwards. The placeholders are valid Starlark that
// the formatter prints as written: "for M in COND:" for "while COND:",
// "M + "..."" for b"...".
const (
	markWhile = "for __coro_fmt_while__ in "
	markBytes = "__coro_fmt_b__ + "
	markRB    = "__coro_fmt_rb__ + r"
	markBR    = "__coro_fmt_br__ + r"
)

// formatStar returns src in the standard layout. It fails, with
// file:line:col, if src does not parse as coro's Starlark.
func formatStar(name string, src []byte) ([]byte, error) {
	// Line breaks are "\n", as the interpreter's scanner reads "\r\n"
	// and a "\r" alone, even inside a string (a "\r" alone made the
	// positions past it point past the lines found here, and formatting
	// panicked; buildifier reads it as a space).
	src = bytes.ReplaceAll(bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
	f, err := coroDialect().Parse(name, src, syntax.RetainComments)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(src, []byte("__coro_fmt_")) {
		return nil, fmt.Errorf("%s: cannot format: the file contains the formatter's reserved name __coro_fmt_", name)
	}
	type edit struct {
		off  int
		old  int // bytes replaced
		with string
	}
	var edits []edit
	lines := lineOffsets(src)
	offset := (&offsetCursor{src: src, lines: lines}).offset
	// literal returns where lit starts in src and its text there. (Its
	// Raw is the text as the scanner read it, where a byte that is not
	// UTF-8 is U+FFFD: editing len(Raw) bytes panicked.)
	literal := func(lit *syntax.Literal) (int, string) {
		start, end := lit.Span()
		off := offset(start)
		return off, string(src[off:offset(end)])
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.WhileStmt:
			edits = append(edits, edit{offset(n.While), len("while"), markWhile})
		case *syntax.Literal:
			value, _ := n.Value.(string)
			off, raw := literal(n)
			switch {
			case n.Token == syntax.BYTES && strings.HasPrefix(raw, "rb"):
				edits = append(edits, edit{off, 2, markRB})
			case n.Token == syntax.BYTES && strings.HasPrefix(raw, "br"):
				edits = append(edits, edit{off, 2, markBR})
			case n.Token == syntax.BYTES:
				edits = append(edits, edit{off, len(raw), markBytes + doubleQuote(raw[1:], value)})
			case n.Token == syntax.STRING && !strings.HasPrefix(raw, "r"):
				if q := doubleQuote(raw, value); q != raw {
					edits = append(edits, edit{off, len(raw), q})
				}
			}
		}
		return true
	})
	// Tabs in indentation, which buildifier's scanner refuses, become
	// the spaces the interpreter counts for them; lines inside a
	// multi-line string are left as they are.
	var multiline [][2]int
	syntax.Walk(f, func(n syntax.Node) bool {
		if lit, ok := n.(*syntax.Literal); ok && strings.Contains(lit.Raw, "\n") {
			start, raw := literal(lit)
			multiline = append(multiline, [2]int{start, start + len(raw)})
		}
		return true
	})
	// Found by binary search: a file of many such strings and tabbed
	// lines took minutes when each line searched them all.
	sort.Slice(multiline, func(i, j int) bool { return multiline[i][0] < multiline[j][0] })
	inString := func(off int) bool {
		i := sort.Search(len(multiline), func(i int) bool { return multiline[i][0] >= off })
		return i > 0 && off < multiline[i-1][1] // strings do not overlap
	}
	for _, start := range lines {
		end, col, tabs := start, 0, false
		for ; end < len(src) && (src[end] == ' ' || src[end] == '\t'); end++ {
			if src[end] == ' ' {
				col++
			} else {
				const tab = 8 // as the interpreter's scanner counts
				col += tab - (end-start)%tab
				tabs = true
			}
		}
		if tabs && !inString(start) {
			edits = append(edits, edit{start, end - start, strings.Repeat(" ", col)})
		}
	}
	// The edits do not overlap; the text is built in one pass (copying
	// the rest of the file at each edit took minutes for 100,000
	// literals).
	sort.Slice(edits, func(i, j int) bool { return edits[i].off < edits[j].off })
	var text bytes.Buffer
	prev := 0
	for _, e := range edits {
		text.Write(src[prev:e.off])
		text.WriteString(e.with)
		prev = e.off + e.old
	}
	text.Write(src[prev:])
	// The statements' shapes are kept as hashes, not as text, and no tree
	// is used past this point but the one in hand, so that the three made
	// here (coro's, buildifier's, coro's of the result) are not all live
	// at once: a 4 MiB file took 614 MiB.
	type stmtShape struct {
		hash  uint64
		start syntax.Position
	}
	want := make([]stmtShape, len(f.Stmts))
	for i, stmt := range f.Stmts {
		want[i].start, _ = stmt.Span()
		want[i].hash = shapeHash(stmt)
	}
	bf, err := build.ParseDefault(name, text.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s: cannot format: %v", name, err)
	}
	out := string(build.FormatWithoutRewriting(bf))
	out = strings.NewReplacer(markWhile, "while ", markRB, "rb", markBR, "br", markBytes, "b").Replace(out)
	// The result must still be the same program: buildifier's parser
	// reads a few rare forms otherwise (not not x >= y, say).
	g, err := coroDialect().Parse(name, out, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot format: the formatted text does not parse (%v)", name, err)
	}
	for i, stmt := range want {
		if i >= len(g.Stmts) || stmt.hash != shapeHash(g.Stmts[i]) {
			return nil, fmt.Errorf("%s: cannot format: the formatter would change the meaning of this statement (add parentheses?)", stmt.start)
		}
	}
	if len(g.Stmts) != len(want) {
		return nil, fmt.Errorf("%s: cannot format: the formatter would change the program", name)
	}
	return []byte(out), nil
}

// shapeSeed seeds shapeHash: random per process, so that no file can be
// crafted whose statements' shapes collide.
var shapeSeed = maphash.MakeSeed()

// shapeHash returns the hash of n's shape (writeShape).
func shapeHash(n syntax.Node) uint64 {
	var h maphash.Hash
	h.SetSeed(shapeSeed)
	writeShape(&h, n)
	return h.Sum64()
}

// doubleQuote respells quoted, a single-quoted string literal without
// prefix whose value is value, with double quotes, keeping its text and
// escapes as written ('it\'s' becomes "it's"). buildifier prefers double
// quotes too, but gets there by quoting the value anew: each byte of a
// non-ASCII character became an octal escape, which coro's strings
// refuse ('é' became "\303\251"), and '\177' a raw DEL byte. A
// double-quoted literal it prints as written. A literal whose value holds
// a double quote is returned unchanged, as buildifier keeps those single
// quotes too; any other has no " in its text, so none needs escaping.
func doubleQuote(quoted, value string) string {
	if !strings.HasPrefix(quoted, "'") || strings.Contains(value, `"`) {
		return quoted
	}
	delim := `"`
	if len(quoted) >= 6 && strings.HasPrefix(quoted, "'''") {
		delim = `"""`
	}
	body := quoted[len(delim) : len(quoted)-len(delim)]
	var b strings.Builder
	b.WriteString(delim)
	for i := 0; i < len(body); i++ {
		if body[i] == '\\' && i+1 < len(body) {
			if body[i+1] == '\'' {
				b.WriteByte('\'')
			} else {
				b.WriteString(body[i : i+2])
			}
			i++
			continue
		}
		b.WriteByte(body[i])
	}
	b.WriteString(delim)
	return b.String()
}

// writeShape prints a syntax tree to b without positions, comments,
// parentheses and the spelling of literals (their values stay): what
// formatting must not change.
func writeShape(b shapeWriter, n syntax.Node) {
	posType := reflect.TypeOf(syntax.Position{})
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if v.IsNil() {
				b.WriteString("nil ")
				return
			}
			if p, ok := v.Interface().(*syntax.ParenExpr); ok {
				walk(reflect.ValueOf(p.X))
				return
			}
			walk(v.Elem())
		case reflect.Struct:
			if v.Type() == posType {
				return
			}
			b.WriteString(v.Type().Name() + "{")
			for i := 0; i < v.NumField(); i++ {
				f := v.Type().Field(i)
				if !f.IsExported() || f.Name == "Raw" || f.Type == posType {
					continue
				}
				b.WriteString(f.Name + ":")
				walk(v.Field(i))
			}
			b.WriteString("} ")
		case reflect.Slice:
			b.WriteString("[")
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
			b.WriteString("] ")
		default:
			fmt.Fprintf(b, "%#v ", v.Interface())
		}
	}
	walk(reflect.ValueOf(n))
}

// A shapeWriter receives a shape (writeShape).
type shapeWriter interface {
	io.Writer
	io.StringWriter
}

// lineOffsets returns the byte offset of the start of each line of src.
func lineOffsets(src []byte) []int {
	offs := []int{0}
	for i, b := range src {
		if b == '\n' {
			offs = append(offs, i+1)
		}
	}
	return offs
}

// An offsetCursor converts positions (1-based line, 1-based rune column)
// into byte offsets of src, walking from the last position converted
// when the next is further on its line, as the syntax tree's are: walking
// from the line's start each time cost the square of a long line's
// length (minutes, for a line of 100,000 literals).
type offsetCursor struct {
	src   []byte
	lines []int // offsets of the lines' starts (lineOffsets)
	line  int32
	col   int32
	off   int
}

func (c *offsetCursor) offset(p syntax.Position) int {
	if p.Line != c.line || p.Col < c.col {
		c.line, c.col, c.off = p.Line, 1, c.lines[p.Line-1]
	}
	for ; c.col < p.Col; c.col++ {
		_, size := utf8.DecodeRune(c.src[c.off:])
		c.off += size
	}
	return c.off
}
