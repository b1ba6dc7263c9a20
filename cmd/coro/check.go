package main

// `coro check` (SPEC 14): parse and resolve without running.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/resolve"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/starlark/syntax"
)

const checkUsage = `usage: coro [FLAGS] check [PATHS...]
Parses and resolves .star files without running them, and the modules they
load, and prints every error as file:line:col: message (undefined names,
syntax errors, load()s of missing or broken modules or of names a module
does not define). PATHS are files or directories (searched recursively for
*.star), default ".". In *_test.star files and the modules they load,
assert is predeclared, as under coro test. Under --sandbox a load is followed only where running would
(below the folders of the files checked, or an --allow-read path).
Exit status: 0 no errors, 1 errors, 2 a usage error or a PATH that cannot
be read.
`

// A diag is one error of coro check.
type diag struct {
	pos syntax.Position
	msg string
}

// A checkKey is a file and whether it is checked as test code: a
// *_test.star file, and every module loaded from one, directly or not,
// sees assert, as coro test predeclares it for all the modules its
// engines load. A module loaded both from tests and from other code is
// checked both ways (without assert, loading it outside tests fails).
type checkKey struct {
	path string
	test bool
}

// checkedFile is what checking a file found: whether it is free of
// errors, the names it exports to load(), its errors, and the modules it
// loads (in order, for the order of the report).
type checkedFile struct {
	visiting bool // its loads are being followed (a load back to it is a cycle)
	ok       bool
	readErr  error
	globals  map[string]bool
	diags    []diag
	loads    []checkKey
}

// checker checks files and, through their load statements, the modules
// they load, each once (once as test code, once not).
type checker struct {
	opts        *syntax.FileOptions
	predeclared starlark.StringDict
	// readModule reads a loaded module as load() would, through its
	// grants (engine.ReadModule): under --sandbox a module outside the
	// allowed folders is refused unopened, so that no message shows what
	// it holds.
	readModule func(module, path string) ([]byte, error)
	files      map[checkKey]*checkedFile
	// stack is the files whose loads are being followed, each loaded by
	// the one before it: a cycle's chain for its message.
	stack []checkKey
}

func newChecker(opts *syntax.FileOptions, predeclared starlark.StringDict, readModule func(module, path string) ([]byte, error)) *checker {
	return &checker{opts: opts, predeclared: predeclared, readModule: readModule, files: map[checkKey]*checkedFile{}}
}

func (cf *checkedFile) report(pos syntax.Position, format string, args ...any) {
	cf.diags = append(cf.diags, diag{pos, fmt.Sprintf(format, args...)})
}

// keyOf is how the file at path is checked: as test code if it is a test
// file, or if test code loads it (test).
func keyOf(path string, test bool) checkKey {
	return checkKey{filepath.Clean(path), test || strings.HasSuffix(path, testSuffix)}
}

// rootKey is how a file named on the command line is checked.
func rootKey(path string) checkKey { return keyOf(path, false) }

// check checks path, as named on the command line (read as coro FILE
// reads its script, whatever the sandbox), and what it loads.
func (ck *checker) check(path string) *checkedFile {
	return ck.visit(rootKey(path), func() ([]byte, error) { return readScript(path) })
}

// visit checks the file of key, read by read the first time it is
// reached.
func (ck *checker) visit(key checkKey, read func() ([]byte, error)) *checkedFile {
	path := key.path
	if cf, ok := ck.files[key]; ok {
		return cf
	}
	cf := &checkedFile{visiting: true, ok: true}
	ck.files[key] = cf
	ck.stack = append(ck.stack, key)
	defer func() {
		cf.visiting = false
		ck.stack = ck.stack[:len(ck.stack)-1]
	}()
	src, err := read()
	if err != nil {
		cf.ok, cf.readErr = false, err
		return cf
	}
	f, err := ck.opts.Parse(path, src, 0)
	if err != nil {
		cf.ok = false
		var se syntax.Error
		if errors.As(err, &se) {
			cf.report(se.Pos, "%s", se.Msg)
		} else {
			cf.report(syntax.MakePosition(&path, 1, 1), "%v", err)
		}
		return cf
	}
	isPredeclared := func(name string) bool {
		if name == "assert" && key.test {
			return true // coro test predeclares it
		}
		_, ok := ck.predeclared[name]
		return ok
	}
	isUniversal := func(name string) bool { _, ok := starlark.Universe[name]; return ok }
	if err := resolve.File(f, isPredeclared, isUniversal); err != nil {
		cf.ok = false
		var list resolve.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				cf.report(e.Pos, "%s", e.Msg)
			}
		} else {
			cf.report(syntax.MakePosition(&path, 1, 1), "%v", err)
		}
	}
	ck.checkMembers(cf, f)
	cf.globals = map[string]bool{}
	if m, ok := f.Module.(*resolve.Module); ok {
		for _, b := range m.Globals {
			cf.globals[b.First.Name] = true
		}
	}
	for _, stmt := range f.Stmts {
		load, isLoad := stmt.(*syntax.LoadStmt)
		if !isLoad {
			continue
		}
		module, _ := load.Module.Value.(string)
		target := module
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), module)
		}
		// The module's file, read as load() reads it, as test code if
		// this file is.
		tk := keyOf(target, key.test)
		tf := ck.visit(tk, func() ([]byte, error) { return ck.readModule(module, target) })
		cf.loads = append(cf.loads, tk)
		switch {
		case tf.visiting && tk == key:
			cf.ok = false
			cf.report(load.Load, "load %q: cycle in load graph: %s loads itself", module, tk.path)
		case tf.visiting:
			cf.ok = false
			cf.report(load.Load, "load %q: cycle in load graph: %s", module, ck.cycle(tk))
		case tf.readErr != nil && engine.AsError(tf.readErr).Kind == engine.KindPermission:
			cf.ok = false
			cf.report(load.Load, "%v", tf.readErr) // as running reports it; it names the module
		case tf.readErr != nil:
			cf.ok = false
			cf.report(load.Load, "load %q: %s", module, readErrorText(tf.readErr))
		case !tf.ok:
			cf.ok = false
			cf.report(load.Load, "load %q: %s has errors", module, filepath.Clean(target))
		default:
			for _, name := range load.From {
				if !tf.globals[name.Name] && !strings.HasPrefix(name.Name, "_") {
					cf.ok = false
					cf.report(name.NamePos, "load %q: %s defines no %s", module, filepath.Clean(target), name.Name)
				}
			}
		}
	}
	return cf
}

// checkMembers reports each use of a member that a predeclared module
// lacks (http.gett, fs.reed): the modules' members are known before the
// script runs, where running found the typo only when the line ran. A
// name the file binds itself (a local http) is not the module.
func (ck *checker) checkMembers(cf *checkedFile, f *syntax.File) {
	syntax.Walk(f, func(n syntax.Node) bool {
		dot, ok := n.(*syntax.DotExpr)
		if !ok {
			return true
		}
		id, ok := dot.X.(*syntax.Ident)
		if !ok {
			return true
		}
		if b, ok := id.Binding.(*resolve.Binding); !ok || b.Scope != resolve.Predeclared {
			return true
		}
		m, ok := ck.predeclared[id.Name].(*starlarkstruct.Module)
		if !ok {
			return true
		}
		if _, ok := m.Members[dot.Name.Name]; !ok {
			cf.ok = false
			cf.report(dot.Name.NamePos, "module %s has no .%s field or method", m.Name, dot.Name.Name)
		}
		return true
	})
}

// cycle spells the cycle a load of k closes, k being followed already:
// "a.star loads b.star loads a.star", as running reports it.
func (ck *checker) cycle(k checkKey) string {
	i := len(ck.stack) - 1
	for i > 0 && ck.stack[i] != k {
		i--
	}
	var b strings.Builder
	for _, s := range ck.stack[i:] {
		b.WriteString(s.path + " loads ")
	}
	b.WriteString(k.path)
	return b.String()
}

// readErrorText is a read error without the path, which the message
// already names.
func readErrorText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// write prints every error, file by file in the order they were reached
// from roots (each file once, though checked both as test code and not),
// each file's by position; it returns how many there were.
func (ck *checker) write(w io.Writer, roots []checkKey) int {
	var order []string
	diags := map[string][]diag{}
	shown := map[string]map[diag]bool{}
	visited := map[checkKey]bool{}
	var walk func(k checkKey)
	walk = func(k checkKey) {
		cf := ck.files[k]
		if visited[k] || cf == nil {
			return
		}
		visited[k] = true
		if shown[k.path] == nil {
			shown[k.path] = map[diag]bool{}
			order = append(order, k.path)
		}
		for _, d := range cf.diags {
			if !shown[k.path][d] { // a syntax error, say, is found both ways
				shown[k.path][d] = true
				diags[k.path] = append(diags[k.path], d)
			}
		}
		for _, l := range cf.loads {
			walk(l)
		}
	}
	for _, k := range roots {
		walk(k)
	}
	n := 0
	for _, path := range order {
		ds := diags[path]
		sort.SliceStable(ds, func(i, j int) bool {
			a, b := ds[i].pos, ds[j].pos
			return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
		})
		for _, d := range ds {
			fmt.Fprintf(w, "%s: %s\n", d.pos, d.msg)
			n++
		}
	}
	return n
}

// runCheck is `coro check`.
func runCheck(c *config, args []string, stdout, stderr io.Writer) int {
	files, code := starFileArgs("check", args, checkUsage, nil, stdout, stderr)
	if code >= 0 {
		return code
	}
	// Under --sandbox, load() may read the folders of the files checked,
	// as coro test allows those of its test files (and coro FILE its
	// script's), and the --allow-read paths.
	for _, file := range files {
		if dir := filepath.Dir(file); !slices.Contains(c.loadDirs, dir) {
			c.loadDirs = append(c.loadDirs, dir)
		}
	}
	probe, err := engine.New(c.options(io.Discard, io.Discard, nil))
	if err != nil {
		fmt.Fprintf(stderr, "coro check: %v\n", err)
		return exitUsage
	}
	defer probe.Close()
	ck := newChecker(probe.FileOptions(), probe.Predeclared(), probe.ReadModule)
	// Test files first: a file named here (found in a folder, say) that a
	// test loads is a module of tests, checked as test code only.
	roots := make([]checkKey, len(files))
	for i, file := range files {
		if roots[i] = rootKey(file); roots[i].test {
			ck.check(file)
		}
	}
	code = exitOK
	for i, file := range files {
		if !roots[i].test {
			if tk := (checkKey{roots[i].path, true}); ck.files[tk] != nil {
				roots[i] = tk
			} else {
				ck.check(file)
			}
		}
		if cf := ck.files[roots[i]]; cf.readErr != nil {
			fmt.Fprintf(stderr, "coro check: %v\n", cf.readErr)
			code = exitUsage
		}
	}
	if ck.write(stdout, roots) > 0 && code == exitOK {
		code = exitError
	}
	return code
}
