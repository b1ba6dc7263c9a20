package csv_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/csv"
	fsmod "github.com/corolang/coro/stdlib/fs"
	"github.com/corolang/coro/stdlib/internal/pycheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func modules() starlark.StringDict { return starlark.StringDict{"csv": csv.Module()} }

func run(t *testing.T, src string) string {
	t.Helper()
	return pycheck.Run(t, modules(), src)
}

// Python's csv: reader (blank lines left out, as coro skips them),
// DictReader, and writer with lineterminator "\n" (DictWriter's layout
// for dict rows).
const pyCSV = `
import csv as _csv, io as _io
class csv:
    @staticmethod
    def read(text, delimiter=",", header=False):
        f = _io.StringIO(text, newline="")
        if header:
            return list(_csv.DictReader(f, delimiter=delimiter))
        return [r for r in _csv.reader(f, delimiter=delimiter) if r]
    @staticmethod
    def reader(lines, delimiter=",", header=False):
        return csv.read("".join(l if l.endswith("\n") else l + "\n" for l in lines), delimiter, header)
    @staticmethod
    def write(rows, delimiter=",", header=None):
        f = _io.StringIO()
        w = _csv.writer(f, delimiter=delimiter, lineterminator="\n")
        rows = list(rows)
        if header is None and rows and isinstance(rows[0], dict):
            header = list(rows[0])
        if header is not None:
            w.writerow(header)
        for r in rows:
            if isinstance(r, dict):
                if set(r) - set(header):
                    raise ValueError("extra")
                r = [r.get(k, "") for k in header]
            w.writerow(r)
        return f.getvalue()
_types = []
`

func TestMatchesCPython(t *testing.T) {
	var cases []pycheck.Case
	for _, e := range []string{
		`csv.read("a,b,c\n1,2,3\n")`,
		`csv.read("a,b\n1,2")`,
		`csv.read("a,b\r\n1,2\r\n")`,
		`csv.read("")`,
		`csv.read("\n\n")`,
		`csv.read("a,,c\n,\n")`,
		`csv.read("x\n\ny\n")`,
		`csv.read("\"a,b\",\"c\"\"d\",e\n")`,
		`csv.read("\"multi\nline\",2\n")`,
		`csv.read("\"\",x\n")`,
		`csv.read("a b, c ,d \n")`,
		`csv.read("a;b;c\n1;2;3\n", delimiter=";")`,
		`csv.read("a\tb\n1\t2\n", delimiter="\t")`,
		`csv.read("a|\"b|c\"\n", delimiter="|")`,
		`csv.read("é,ü\nñ,ø\n")`,
		`csv.read("a,b\n1\n1,2,3\n")`,
		`csv.read("name,age\nann,30\nbob,4\n", header=True)`,
		`csv.read("name,age\nann\n", header=True)`,
		`csv.read("name,age\n", header=True)`,
		`csv.read("", header=True)`,
		`csv.read("a;b\n1;2\n", delimiter=";", header=True)`,
		`csv.reader(["a,b\n", "1,2\n"])`,
		`csv.reader(["a,b", "1,2"])`,
		`csv.reader(["\"x\n", "y\",z\n"])`,
		`csv.reader(["k,v\n", "a,1\n", "b,2\n"], header=True)`,
		`csv.reader(("a;b", "c;d"), delimiter=";")`,
		`csv.write([["a", "b"], [1, 2.5], [True, None]])`,
		`csv.write([["a,b", "c\"d", "e\nf", " lead", "trail ", "\\."]])`,
		`csv.write([[""], [], ["", ""], [None]])`,
		`csv.write([("x", "y")])`,
		`csv.write([["a;b", "c"]], delimiter=";")`,
		`csv.write([["a\tb", "c d"]], delimiter="\t")`,
		`csv.write([[1, 2]], header=["a", "b"])`,
		`csv.write([{"a": 1, "b": 2}, {"b": 3}, {"a": "x,y"}])`,
		`csv.write([{"b": 1, "a": 2}], header=["a", "b"])`,
		`csv.write([{"c": 1}], header=["a", "b"])`,
		`csv.write([], header=["a", "b"])`,
		`csv.write([])`,
		`csv.write([["é", "ü,ñ"]])`,
	} {
		cases = append(cases, pycheck.C(e))
	}
	pycheck.Compare(t, modules(), `
_types = {"Generator": list}
`, pyCSV, cases)
}

func TestOrderAndExtras(t *testing.T) {
	out := run(t, `
print(csv.read("z,a,m\n1,2,3\n", header=True))
print(csv.read("a,b\n1,2,3,4\n", header=True))
print(csv.write([{"z": 1, "a": 2}]))
`)
	assert.Equal(t, `[{"z": "1", "a": "2", "m": "3"}]
[{"a": "1", "b": "2", None: ["3", "4"]}]
z,a
1,2

`, out)
}

// Rows shorter than the header get None for each name they lack, at most
// as many as the text has bytes (or 65,536): a header of n names over n
// rows of one field made n² values from some 4n bytes, and 12 KB of text
// made 819 MiB of dicts, 120 KB would have made 80 GB. Sparse rows of a
// reasonable header read as before.
func TestMissingFieldsAreBounded(t *testing.T) {
	out := run(t, `
wide = ",".join(["c%d" % i for i in range(3000)]) + "\n" + "x\n" * 3000
print(catch(csv.read, wide, header=True).error)
print(catch(list, csv.reader(wide.splitlines(), header=True)).error)
sparse = "a,b,c,d,e,f,g,h,i,j\n" + "x\n" * 5000 + "1,2,3,4,5,6,7,8,9,10\n" * 10000
rows = csv.read(sparse, header=True)
print(len(rows), rows[0]["j"], rows[-1]["j"], len(list(csv.reader(sparse.splitlines(), header=True))))
dense = "a,b,c\n" + "1\n" * 100000
print(len(csv.read(dense, header=True)))
`)
	assert.Equal(t, "value: csv.read: line 23: too many missing fields: the rows up to here lack 65978 values of the header's 3000 names, more than 65536 (the bytes of text read, and at least 65536)\n"+
		"value: csv.reader: line 23: too many missing fields: the rows up to here lack 65978 values of the header's 3000 names, more than 65536 (the bytes of text read, and at least 65536)\n"+
		"15000 None 10 15000\n"+
		"100000\n", out)
}

// Malformed input is a value error naming the line and the column; so
// are bad arguments.
func TestErrors(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{`csv.read('a,"b\n')`, `value: csv.read: line 1, column 6: extraneous or missing " in quoted-field`},
		{`csv.read('x\na,b"c\n')`, `value: csv.read: line 2, column 4: bare " in non-quoted-field`},
		{`csv.read('a,"b"c\n')`, `value: csv.read: line 1, column 5: extraneous or missing " in quoted-field`},
		{`list(csv.reader(["ok\n", 'a, "b"\n']))`, `value: csv.reader: line 2, column 4: bare " in non-quoted-field`},
		{`list(csv.reader(["ok", 3]))`, `value: csv.reader: line 2 of the input: got int, want string or bytes`},
		{`csv.reader(3)`, `value: csv.reader: for parameter lines: got int, want an iterable of lines (a list, file.lines())`},
		{`csv.reader("a,b")`, `value: csv.reader: for parameter lines: got string, want an iterable of lines (a list, file.lines())`},
		{`csv.read("a", delimiter=",,")`, `value: csv.read: the delimiter must be one character other than a quote or a line break, not ",,"`},
		{`csv.read("a", delimiter='"')`, `the delimiter must be one character`},
		{`csv.read(1)`, `value: csv.read: for parameter text: got int, want string or bytes`},
		{`csv.write([{"z": 1}], header=["a"])`, `value: csv.write: row 0 has the field "z", which is not in the header`},
		{`csv.write(["ab"])`, `value: csv.write: row 0 is a string, want a list, tuple or dict`},
		{`csv.write([1])`, `value: csv.write: row 0 is a int, want a list, tuple or dict`},
		{`csv.write([], header="ab")`, `value: csv.write: for parameter header: got string, want a list of names`},
	} {
		out := run(t, "print(catch(lambda: "+c.expr+").error)")
		assert.Contains(t, out, c.want, c.expr)
	}
}

// csv.reader streams: a generator of lines is consumed one line per row,
// as rows are taken, and a failure in it reaches the consumer.
func TestReaderStreams(t *testing.T) {
	out := run(t, `
log = []
def lines():
    for i in range(5):
        log.append("line %d" % i)
        emit("%d,x\n" % i)
r = csv.reader(generator(lines))
for row in r:
    log.append("row " + row[0])
    if row[0] == "2":
        break
print(log)
def bad():
    emit("a,b\n")
    fail("disk on fire")
print(catch(lambda: list(csv.reader(generator(bad)))).error)
`)
	assert.Equal(t, "[\"line 0\", \"row 0\", \"line 1\", \"row 1\", \"line 2\", \"row 2\"]\nerror: disk on fire\n", out)
}

// A File is read through its lines(), a large file in bounded memory
// (the rows are counted, not kept).
func TestReaderFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big.csv")
	var b strings.Builder
	b.WriteString("id,name,note\n")
	for i := 0; i < 50000; i++ {
		fmt.Fprintf(&b, "%d,name %d,\"a, quoted\nnote\"\n", i, i)
	}
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	mods := modules()
	mods["fs"] = fsmod.Module()
	out := pycheck.Run(t, mods, fmt.Sprintf(`
n = 0
last = None
for row in csv.reader(fs.open(%q), header=True):
    n += 1
    last = row
print(n, last)
print(len(csv.read(fs.read(%q))))
`, p, p))
	assert.Equal(t, "50000 {\"id\": \"49999\", \"name\": \"name 49999\", \"note\": \"a, quoted\\nnote\"}\n50001\n", out)
}

// csv.write round-trips through csv.read, large outputs included (built
// on the loop, which it gives to other tasks every so often).
func TestWriteLarge(t *testing.T) {
	out := run(t, `
rows = [[str(i), "x,y", 'q"q', "line\nbreak"] for i in range(100000)]
ticks = [0]
def ticker():
    for i in range(1000000):
        ticks[0] += 1
        sleep(0)
t = spawn(ticker)
text = csv.write(rows)
t.cancel()
print(len(text), csv.read(text) == rows, ticks[0] > 1)
`)
	assert.Equal(t, "3188890 True True\n", out)
}

// A row or a header may be a range: what it costs grows with what is
// written, not with the range's length (csv.write([range(1 << 62)])
// failed making a slice of that length, and range(1 << 40) would have
// taken terabytes at once), and a long one is stopped by a timeout, a
// step charged per field.
func TestWriteRanges(t *testing.T) {
	out := run(t, `
print(csv.write([range(3), range(2)], header=range(3)).replace("\n", "|"))
print(catch(timeout, 0.05, csv.write, [range(1 << 62)]).error)
print(catch(timeout, 0.05, csv.write, [], header=range(1 << 62)).error)
`)
	assert.Equal(t, "0,1,2|0,1,2|0,1|\ntimeout: deadline of 0.05s exceeded\ntimeout: deadline of 0.05s exceeded\n", out)
}
