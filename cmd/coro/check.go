package main

// `coro check` (SPEC 14): parse and resolve without running.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/resolve"
	"github.com/corolang/coro/starlark/syntax"
)

const checkUsage = `usage: coro [FLAGS] check [PATHS...]
Parses and resolves .star files without running them, and the modules they
load, and prints every error as file:line:col: message (undefined names,
syntax errors, load()s of missing or broken modules or of names a module
does not define). PATHS are files or directories (searched recursively for
*.star), default ".". In *_test.star files assert is predeclared, as under
coro test. Under --sandbox a load is followed only where running would
(below the folders of the files checked, or an --allow-read path).
Exit status: 0 no errors, 1 errors, 2 a usage error or a PATH that cannot
be read.
`

// A diag is one error of coro check.
type diag struct {
	pos syntax.Position
	msg string
}

// checkedFile is what checking a file found: whether it is free of
// errors, and the names it exports to load().
type checkedFile struct {
	visiting bool // its loads are being followed (a load back to it is a cycle)
	ok       bool
	readErr  error
	globals  map[string]bool
}

// checker checks files and, through their load statements, the modules
// they load, each once.
type checker struct {
	opts        *syntax.FileOptions
	predeclared starlark.StringDict
	// readModule reads a loaded module as load() would, through its
	// grants (engine.ReadModule): under --sandbox a module outside the
	// allowed folders is refused unopened, so that no message shows what
	// it holds.
	readModule func(module, path string) ([]byte, error)
	files      map[string]*checkedFile
	order      []string
	diags      map[string][]diag
}

func newChecker(opts *syntax.FileOptions, predeclared starlark.StringDict, readModule func(module, path string) ([]byte, error)) *checker {
	return &checker{opts: opts, predeclared: predeclared, readModule: readModule, files: map[string]*checkedFile{}, diags: map[string][]diag{}}
}

func (ck *checker) report(file string, pos syntax.Position, format string, args ...any) {
	ck.diags[file] = append(ck.diags[file], diag{pos, fmt.Sprintf(format, args...)})
}

// check checks path, as named on the command line (read as coro FILE
// reads its script, whatever the sandbox), and what it loads.
func (ck *checker) check(path string) *checkedFile {
	return ck.visit(path, func() ([]byte, error) { return os.ReadFile(path) })
}

// checkLoad checks path, the file of a module a load() statement names,
// read as load() reads it, and what it loads.
func (ck *checker) checkLoad(module, path string) *checkedFile {
	return ck.visit(path, func() ([]byte, error) { return ck.readModule(module, path) })
}

// visit checks path, read by read the first time it is reached.
func (ck *checker) visit(path string, read func() ([]byte, error)) *checkedFile {
	path = filepath.Clean(path)
	if cf, ok := ck.files[path]; ok {
		return cf
	}
	cf := &checkedFile{visiting: true, ok: true}
	ck.files[path] = cf
	ck.order = append(ck.order, path)
	defer func() { cf.visiting = false }()
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
			ck.report(path, se.Pos, "%s", se.Msg)
		} else {
			ck.report(path, syntax.MakePosition(&path, 1, 1), "%v", err)
		}
		return cf
	}
	isPredeclared := func(name string) bool {
		if name == "assert" && strings.HasSuffix(path, testSuffix) {
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
				ck.report(path, e.Pos, "%s", e.Msg)
			}
		} else {
			ck.report(path, syntax.MakePosition(&path, 1, 1), "%v", err)
		}
	}
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
		tf := ck.checkLoad(module, target)
		switch {
		case tf.visiting:
			cf.ok = false
			ck.report(path, load.Load, "load %q: cycle in load graph: %s loads itself", module, filepath.Clean(target))
		case tf.readErr != nil && engine.AsError(tf.readErr).Kind == engine.KindPermission:
			cf.ok = false
			ck.report(path, load.Load, "%v", tf.readErr) // as running reports it; it names the module
		case tf.readErr != nil:
			cf.ok = false
			ck.report(path, load.Load, "load %q: %s", module, readErrorText(tf.readErr))
		case !tf.ok:
			cf.ok = false
			ck.report(path, load.Load, "load %q: %s has errors", module, filepath.Clean(target))
		default:
			for _, name := range load.From {
				if !tf.globals[name.Name] && !strings.HasPrefix(name.Name, "_") {
					cf.ok = false
					ck.report(path, name.NamePos, "load %q: %s defines no %s", module, filepath.Clean(target), name.Name)
				}
			}
		}
	}
	return cf
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

// write prints every error, file by file in the order they were reached,
// each file's by position; it returns how many there were.
func (ck *checker) write(w io.Writer) int {
	n := 0
	for _, path := range ck.order {
		ds := ck.diags[path]
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
	files, ok := starFileArgs("check", args, checkUsage, nil, stderr)
	if !ok {
		return exitUsage
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
	code := exitOK
	for _, file := range files {
		if cf := ck.check(file); cf.readErr != nil {
			fmt.Fprintf(stderr, "coro check: %v\n", cf.readErr)
			code = exitUsage
		}
	}
	if ck.write(stdout) > 0 && code == exitOK {
		code = exitError
	}
	return code
}
