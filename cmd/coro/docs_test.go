package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/starlark/syntax"
	"github.com/corolang/coro/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The doc tests keep docs/ true (docs/README.md describes the convention):
//
//   - A ```python block followed (blank lines aside) by an ```output block
//     is run as a script, through the command, on the virtual clock with
//     --seed 1, from an empty temporary directory; stdout and stderr
//     together, plus "[exit N]" when the status is not 0, must equal the
//     output block. Words after "output" on the fence line are command
//     flags placed before the file: ```output --sandbox. "```output test"
//     runs the block as example_test.star with coro test --seed 1;
//     "```output check" shows what coro check reports on the block, and
//     "```output fmt" the block as coro fmt leaves it.
//   - Every other ```python block must parse.
//   - docs/reference.md has a "### name" heading for every predeclared
//     name, a "## module" section for every module and "### module.member"
//     for every module member, and a
//     "### Type" section naming every attribute of that type as `.attr`.
//
// go test ./cmd/coro -run TestDocs -update rewrites the output blocks.

type docBlock struct {
	file      string
	line      int    // of the python fence, 1-based
	code      string // the python block
	flags     []string
	hasOutput bool
	output    string
	outStart  int // index of the first line of the output body
	outEnd    int // index of the closing fence of the output block
}

var fenceRE = regexp.MustCompile("^```([A-Za-z]*)(.*)$")

// docBlocks returns the python blocks of a markdown file, and its lines.
func docBlocks(t *testing.T, file string) ([]*docBlock, []string) {
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	lines := strings.Split(string(src), "\n")
	type fence struct {
		lang, rest string
		start, end int // the opening and closing fence lines
		bodyJoined string
	}
	var fences []fence
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		f := fence{lang: m[1], rest: strings.TrimSpace(m[2]), start: i}
		j := i + 1
		for j < len(lines) && lines[j] != "```" {
			j++
		}
		require.Less(t, j, len(lines), "%s:%d: unclosed code block", file, i+1)
		f.end = j
		f.bodyJoined = strings.Join(lines[i+1:j], "\n")
		if j > i+1 {
			f.bodyJoined += "\n"
		}
		fences = append(fences, f)
		i = j
	}
	var blocks []*docBlock
	for k, f := range fences {
		if f.lang != "python" {
			continue
		}
		b := &docBlock{file: file, line: f.start + 1, code: f.bodyJoined}
		if k+1 < len(fences) && fences[k+1].lang == "output" {
			o := fences[k+1]
			between := strings.TrimSpace(strings.Join(lines[f.end+1:o.start], "\n"))
			if between == "" {
				b.hasOutput = true
				b.output = o.bodyJoined
				b.flags = strings.Fields(o.rest)
				b.outStart, b.outEnd = o.start+1, o.end
			}
		}
		blocks = append(blocks, b)
	}
	return blocks, lines
}

func docFiles(t *testing.T) []string {
	files, err := filepath.Glob("../../docs/*.md")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	pages, err := filepath.Glob("../../docs/*/*.md") // docs/tools/: a page per tool
	require.NoError(t, err)
	files = append(files, pages...)
	return append(files, "../../README.md")
}

// TestDocsExamples runs every python block that shows its output.
func TestDocsExamples(t *testing.T) {
	t.Setenv("CORO_SLOW_WARN", "off")
	for _, file := range docFiles(t) {
		file, err := filepath.Abs(file)
		require.NoError(t, err)
		blocks, lines := docBlocks(t, file)
		changed := false
		// Rewrite from the last block up, so earlier indices stay valid.
		for i := len(blocks) - 1; i >= 0; i-- {
			b := blocks[i]
			name := fmt.Sprintf("%s:%d", filepath.Base(b.file), b.line)
			if !b.hasOutput {
				opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
				_, err := opts.Parse(name, b.code, 0)
				assert.NoError(t, err, "%s: a python block must parse", name)
				continue
			}
			t.Run(name, func(t *testing.T) {
				got := runDocBlock(t, b)
				if *update {
					if got != b.output {
						body := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
						lines = append(lines[:b.outStart], append(body, lines[b.outEnd:]...)...)
						changed = true
					}
					return
				}
				assert.Equal(t, b.output, got, "%s: output differs", name)
			})
		}
		if changed {
			require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o644))
		}
	}
}

func runDocBlock(t *testing.T, b *docBlock) string {
	dir := t.TempDir()
	name := "example.star"
	argv := append(append([]string{"--virtual-time", "--seed", "1"}, b.flags...), name)
	mode := ""
	if len(b.flags) == 1 {
		mode = b.flags[0]
	}
	switch mode {
	case "test":
		// ```output test: the block is a test file, run by coro test.
		name = "example_test.star"
		argv = []string{"test", "--seed", "1", name}
	case "check", "fmt":
		// ```output check: coro check's report on the block;
		// ```output fmt: the block as coro fmt leaves it.
		argv = []string{mode, name}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(b.code), 0o644))
	t.Chdir(dir)
	var out bytes.Buffer
	code := run(argv, strings.NewReader(""), &out, &out)
	if mode == "fmt" && code == 0 {
		formatted, err := os.ReadFile(name)
		require.NoError(t, err)
		out.Write(formatted)
	}
	s := out.String()
	if code != 0 {
		s += fmt.Sprintf("[exit %d]\n", code)
	}
	return s
}

// referenceSections maps each "### heading" of docs/reference.md to the
// text below it, up to the next heading.
func referenceSections(t *testing.T) map[string]string {
	src, err := os.ReadFile("../../docs/reference.md")
	require.NoError(t, err)
	sections := map[string]string{}
	var cur string
	inCode := false
	for _, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if !inCode && strings.HasPrefix(line, "#") {
			cur = ""
			if h, ok := strings.CutPrefix(line, "### "); ok {
				cur = strings.TrimSpace(h)
				sections[cur] = ""
			} else if h, ok := strings.CutPrefix(line, "## "); ok {
				// A module's own heading: "## sync".
				sections["## "+strings.TrimSpace(h)] = "module"
			}
			continue
		}
		if cur != "" {
			sections[cur] += line + "\n"
		}
	}
	return sections
}

// TestDocsReferenceComplete requires an entry for every name a script sees.
func TestDocsReferenceComplete(t *testing.T) {
	sections := referenceSections(t)
	var want []string
	for name := range starlark.Universe {
		want = append(want, name)
	}
	for name, v := range stdlib.Predeclared(&loop.Options{}) {
		if m, ok := v.(*starlarkstruct.Module); ok {
			want = append(want, "## "+name)
			for member := range m.Members {
				want = append(want, name+"."+member)
			}
		} else {
			want = append(want, name)
		}
	}
	sort.Strings(want)
	for _, name := range want {
		if _, ok := sections[name]; !ok && strings.HasPrefix(name, "## ") {
			t.Errorf("docs/reference.md has no \"%s\" section", name)
		} else if !ok {
			t.Errorf("docs/reference.md has no \"### %s\" entry", name)
		}
	}
	for name, body := range sections {
		assert.NotEmpty(t, strings.TrimSpace(body), "docs/reference.md: \"### %s\" is empty", name)
	}
}

// signatureRE matches a signature line of docs/reference.md:
// "`fs.rename(a, b)` → None" gives "fs.rename" and "a, b".
var signatureRE = regexp.MustCompile("(?m)^`([a-z_]+\\.[a-z_]+)\\(([^`]*)\\)` →")

// TestDocsReferenceSignatures requires the parameter names a module
// member's signature in docs/reference.md shows to be the member's own:
// called with every documented parameter but its first required one as
// a keyword, it must fail for lack of that first one alone (a name it
// does not have fails first, as an unexpected keyword). A member whose
// arguments are not unpacked by name, or that has *args, is left out.
func TestDocsReferenceSignatures(t *testing.T) {
	src, err := os.ReadFile("../../docs/reference.md")
	require.NoError(t, err)
	predeclared := stdlib.Predeclared(&loop.Options{})
	th := &starlark.Thread{Name: "signatures"}
	checked := 0
	for _, m := range signatureRE.FindAllStringSubmatch(string(src), -1) {
		name, params := m[1], splitParams(m[2])
		mod, member, _ := strings.Cut(name, ".")
		sm, ok := predeclared[mod].(*starlarkstruct.Module)
		if !ok {
			continue
		}
		fn, ok := sm.Members[member].(starlark.Callable)
		if !ok || strings.Contains(m[2], "*") {
			continue
		}
		first := ""
		var kwargs []starlark.Tuple
		for _, p := range params {
			pname, _, hasDefault := strings.Cut(p, "=")
			pname = strings.TrimSpace(pname)
			if first == "" && !hasDefault {
				first = pname
				continue
			}
			kwargs = append(kwargs, starlark.Tuple{starlark.String(pname), starlark.None})
		}
		if first == "" {
			continue // nothing required: calling it would run it
		}
		_, err := starlark.Call(th, fn, nil, kwargs)
		require.Error(t, err, name)
		msg := err.Error()
		if strings.Contains(msg, "unexpected keyword argument \"") {
			t.Errorf("docs/reference.md: %s(%s): %s", name, m[2], msg)
		} else if _, got, ok := strings.Cut(msg, "missing argument for "); ok {
			assert.Equal(t, first, strings.TrimSpace(got), "docs/reference.md: %s(%s): its first parameter", name, m[2])
			checked++
		}
	}
	assert.Greater(t, checked, 30, "signatures checked")
}

// splitParams splits a documented parameter list at its top-level
// commas: "hosts=["a", "b"], x" is two.
func splitParams(s string) []string {
	var out []string
	depth, start := 0, 0
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '[' || c == '(' || c == '{':
			depth++
		case c == ']' || c == ')' || c == '}':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}

// typeProbe makes one value of every type a script meets and prints its
// type name and attributes, one type a line.
const typeProbe = `
def show(name, v):
    print(name, " ".join(dir(v)))
show("string", "")
show("bytes", b"")
show("list", [])
show("dict", {})
show("set", set())
def f():
    return 1
def g():
    emit(1)
t = spawn(f)
show("Task", t)
show("Future", future())
group(lambda g: show("Group", g))
show("Timer", after(1))
show("Channel", channel(1))
r = catch(fail, "x")
show("Result", r)
show("Error", r.error)
show("TaskInfo", tasks()[0])
show("Generator", generator(g))
show("Lock", sync.lock())
show("Semaphore", sync.semaphore(1))
show("Event", sync.event())
show("WaitGroup", sync.wait_group())
show("Broadcast", sync.broadcast())
show("Watch", sync.watch(1))
ln = net.listen("127.0.0.1:0")
show("Listener", ln)
c = net.dial(ln.addr)
show("Conn", c)
u = net.udp("127.0.0.1:0")
show("Socket", u)
fs.write("x.txt", "a\n")
fh = fs.open("x.txt")
show("File", fh)
show("Stat", fs.stat("x.txt"))
p = proc.start(["cat"])
show("Process", p)
show("Writer", p.stdin)
show("Stream", p.stdout)
p.stdin.close()
p.wait()
show("RunResult", proc.run(["true"]))
def h(req):
    if req.path == "/ws":
        req.websocket().recv()
        return
    show("Request", req)
    return "ok"
s = http.serve("127.0.0.1:0", h)
show("Server", s)
show("Response", http.get("http://127.0.0.1:%d/" % s.port))
w = http.websocket("ws://127.0.0.1:%d/ws" % s.port)
show("WebSocket", w)
w.close()
s.close()
c.close()
ln.close()
u.close()
fh.close()
show("Pattern", re.compile("a"))
show("Match", re.match("a", "a"))
show("Hash", hashlib.sha256())
show("Time", time.now())
show("Duration", time.parse_duration("1s"))
sub = nats.subscribe("probe")
nats.publish("probe", "x")
show("Msg", sub.recv())
sub.close()
q = nats.queue("probe")
show("Queue", q)
q.put("x")
show("Job", q.take())
show("KV", nats.kv("probe"))
`

// TestDocsReferenceTypes requires a "### Type" section naming each
// attribute of the type as `.attr`.
func TestDocsReferenceTypes(t *testing.T) {
	sections := referenceSections(t)
	b := &docBlock{code: typeProbe}
	out := runDocBlock(t, b)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		fields := strings.Fields(line)
		require.NotEmpty(t, fields, "probe output: %q", out)
		typ := fields[0]
		body, ok := sections[typ]
		if !ok {
			t.Errorf("docs/reference.md has no \"### %s\" section", typ)
			continue
		}
		for _, attr := range fields[1:] {
			if !strings.Contains(body, "`."+attr) {
				t.Errorf("docs/reference.md: \"### %s\" does not describe `.%s`", typ, attr)
			}
		}
	}
}

var linkRE = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocsLinks requires every relative link in docs/ and the README to
// name a file in the repository: the docs never point outside it.
func TestDocsLinks(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	for _, file := range docFiles(t) {
		src, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, m := range linkRE.FindAllStringSubmatch(string(src), -1) {
			link := m[1]
			if strings.HasPrefix(link, "#") || strings.Contains(link, "://") {
				continue
			}
			target, _, _ := strings.Cut(link, "#")
			abs, err := filepath.Abs(filepath.Join(filepath.Dir(file), target))
			require.NoError(t, err)
			if !strings.HasPrefix(abs, root+string(filepath.Separator)) {
				t.Errorf("%s: link %q leaves the repository", file, link)
				continue
			}
			if _, err := os.Stat(abs); err != nil {
				t.Errorf("%s: link %q: no such file", file, link)
			}
		}
	}
}
