package path_test

import (
	"os"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/pycheck"
	"github.com/corolang/coro/stdlib/path"
	"github.com/stretchr/testify/assert"
)

func modules() starlark.StringDict { return starlark.StringDict{"path": path.Module()} }

// path.split is Python's os.path.split.
func TestSplitMatchesCPython(t *testing.T) {
	var cases []pycheck.Case
	for _, p := range []string{"/a/b/c.txt", "a/b/", "a", "", "/", "//", "///a", "//a//b", "a//b", "/a", "./a", "../a/b", "a/b//"} {
		e := starlark.String(p).String()
		cases = append(cases, pycheck.Case{Star: "path.split(" + e + ")", Py: "os.path.split(" + e + ")"})
	}
	pycheck.Compare(t, modules(), "_types = {}\n", "import os\n_types = []\n", cases)
}

// The rest is Go's path/filepath.
func TestGoSemantics(t *testing.T) {
	wd, _ := os.Getwd()
	out := pycheck.Run(t, modules(), `
print(path.join("a", "b/", "../c", "d.txt"), path.join("/x", "", "y"), path.join(), path.join("a", "/b"))
print(path.base("/a/b/c.txt"), path.base("a/b/"), path.base(""), path.base("/"))
print(path.dir("/a/b/c.txt"), path.dir("a/b/"), path.dir("c.txt"), path.dir(""))
print(path.ext("a/b.tar.gz"), repr(path.ext("a/b")), path.ext(".bashrc"))
print(path.clean("a//b/./c/../d/"), path.clean(""), path.clean("/../a"))
print(path.rel("/a/b", "/a/c/d"), path.rel("a", "a"), path.rel("/a", "/a/b/c"))
print(catch(path.rel, "/a", "b").error)
print(path.abs("x/../y") == `+starlark.String(wd).String()+` + "/y", path.abs("/a/./b"))
print(catch(path.join, "a", 1).error)
print(catch(path.join, "a", sep="/").error)
print(catch(path.base).error)
`)
	assert.Equal(t, `a/c/d.txt /x/y  a/b
c.txt b . /
/a/b a/b . .
.gz "" .bashrc
a/b/d . /a
../c/d . b/c
value: path.rel: "b" cannot be made relative to "/a"
True /a/b
value: path.join: for parameter 2: got int, want string
value: path.join: unexpected keyword argument "sep"
value: path.base: missing argument for p
`, out)
}
