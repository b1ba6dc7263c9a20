package loop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/corolang/coro/starlark"
	"golang.org/x/sys/unix"
)

// permission errors name the flag (command) and option (embedding) that
// would allow the operation.

// CheckNet fails unless scripts may use the network.
func (e *Engine) CheckNet(fn string) error {
	if e.opts.Permissions.Net {
		return nil
	}
	return Errorf(KindPermission, "%s: network access denied (allow with --allow-net, or Permissions.Net)", fn)
}

// CheckRun fails unless scripts may start processes.
func (e *Engine) CheckRun(fn string) error {
	if e.opts.Permissions.Run {
		return nil
	}
	return Errorf(KindPermission, "%s: running processes denied (allow with --allow-run, or Permissions.Run)", fn)
}

// CheckEnv fails unless scripts may read the environment.
func (e *Engine) CheckEnv(fn string) error {
	if e.opts.Permissions.Env {
		return nil
	}
	return Errorf(KindPermission, "%s: environment access denied (allow with --allow-env, or Permissions.Env)", fn)
}

// CheckSignals fails unless scripts may take the process's signals.
func (e *Engine) CheckSignals(fn string) error {
	if e.opts.Permissions.Signals {
		return nil
	}
	return Errorf(KindPermission, "%s: taking the process's signals denied (the coro command allows it; Permissions.Signals)", fn)
}

// ---- file system grants ----
//
// A path permission is not a check made before the operation: each grant
// (an --allow-read or --allow-write path) is opened once as an os.Root,
// and the operation itself goes through that root, which resolves the
// path one component at a time from the root's descriptor and refuses any
// symbolic link or ".." that would leave it. So the permission holds for
// the path after every link in it is resolved, at the moment of the open:
// a dangling link, a link swapped in, or a directory renamed meanwhile
// cannot lead outside. A grant of "/" is the whole file system: its
// operations use package os directly.

// A grant is one allowed path. A path that did not exist when the grant
// was made is a directory to come (a script given --allow-write=build
// makes build and then writes in it): the path itself may be made, as a
// directory (its missing parents too) or a file, through the nearest
// folder above it that existed; once it is a directory, everything below
// it goes through its own root.
type grant struct {
	real   string // absolute, symbolic links resolved (in the part that existed)
	dir    bool   // the paths below real are granted too: it was a directory, or nothing yet
	anchor string // where operations start: real if it was a directory, else the folder above it that existed
	tail   string // real below anchor ("" when anchor is real): a file's name, or the parts to come
	once   sync.Once
	aroot  *os.Root // anchor, opened at first use
	err    error

	mu   sync.Mutex
	root *os.Root // (tail != "") real, once it is a directory
}

// open opens the grant's anchor the first time it is used.
func (g *grant) open() (*os.Root, error) {
	g.once.Do(func() {
		g.aroot, g.err = os.OpenRoot(g.anchor)
	})
	return g.aroot, g.err
}

// place returns the root and the name below it for name, a path below
// g (as match returns it: "." for real itself).
func (g *grant) place(name string) (*os.Root, string, error) {
	a, err := g.open()
	switch {
	case err != nil:
		return nil, "", err
	case g.tail == "":
		return a, name, nil
	case !g.dir:
		return a, g.tail, nil
	}
	r, err := g.dirRoot(a)
	switch {
	case err == nil:
		return r, name, nil
	case name == ".":
		return a, g.tail, nil // real itself, to be made (or a file)
	case errors.Is(err, fs.ErrNotExist):
		// Nothing there yet: the operation fails as not found, or
		// makes the path (a mkdir with parents).
		return a, g.tail + "/" + name, nil
	}
	return nil, "", err
}

// dirRoot opens real as a directory, part by part from the anchor, once
// it is one. Each part must be the directory it was an instant before
// (Lstat, then the same file opened): a symbolic link put in the place of
// a part to come is not followed.
func (g *grant) dirRoot(a *os.Root) (*os.Root, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.root != nil {
		return g.root, nil
	}
	r := a
	for _, c := range strings.Split(g.tail, "/") {
		next, err := openSubdir(r, c)
		if r != a {
			r.Close()
		}
		if err != nil {
			return nil, err
		}
		r = next
	}
	g.root = r
	return r, nil
}

// openSubdir opens the directory name in r, refusing anything else
// there, a symbolic link to a directory included.
func openSubdir(r *os.Root, name string) (*os.Root, error) {
	fi, err := r.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: unix.ENOTDIR}
	}
	next, err := r.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	if st, err := next.Stat("."); err != nil || !os.SameFile(fi, st) {
		next.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: unix.ENOTDIR}
	}
	return next, nil
}

// grantSet is the grants of one kind (read or write).
type grantSet struct {
	all    bool // "/" was granted
	grants []*grant
}

func newGrantSet(paths []string) *grantSet {
	s := &grantSet{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		g := newGrant(abs)
		if g.real == "/" {
			s.all = true
			continue
		}
		s.grants = append(s.grants, g)
	}
	return s
}

// newGrant makes the grant of abs: its links resolved, of the part of it
// that exists when one is missing.
func newGrant(abs string) *grant {
	path, tail := abs, ""
	for {
		real, err := filepath.EvalSymlinks(path)
		if err == nil {
			path = real
			break
		}
		parent := filepath.Dir(path)
		if !errors.Is(err, fs.ErrNotExist) || parent == path {
			// Unreadable: a grant of the path as named, of a file until
			// it can be opened, as it was.
			return &grant{real: abs, anchor: filepath.Dir(abs), tail: filepath.Base(abs)}
		}
		tail = filepath.Join(filepath.Base(path), tail)
		path = parent
	}
	g := &grant{real: filepath.Join(path, tail), dir: true, anchor: path, tail: tail}
	if fi, err := os.Stat(path); tail == "" && err == nil && !fi.IsDir() {
		g.dir, g.anchor, g.tail = false, filepath.Dir(path), filepath.Base(path)
	}
	return g
}

// within reports whether everything g grants lies inside what o grants:
// g is o, or o is a directory above g. (The real paths were resolved
// when the grants were made, so neither has a link in it.)
func (g *grant) within(o *grant) bool {
	if g.real == o.real {
		return g.dir == o.dir
	}
	return o.dir && strings.HasPrefix(g.real, o.real+"/")
}

func (s *grantSet) close() {
	for _, g := range s.grants {
		g.once.Do(func() {}) // no root opened after this
		if g.aroot != nil {
			g.aroot.Close()
		}
		g.mu.Lock()
		if g.root != nil {
			g.root.Close()
		}
		g.mu.Unlock()
	}
}

// makeGrants makes the engine's grants (New): a relative path is
// resolved against the working directory then, as an embedder expects of
// the Options it passes, not at the first file operation.
func (e *Engine) makeGrants() {
	p := e.opts.Permissions
	e.readGrants = newGrantSet(p.Read)
	e.writeGrants = newGrantSet(p.Write)
	e.loadGrants = newGrantSet(append(slices.Clip(p.Read), p.Load...))
}

// closeGrants closes the roots of the grants (Engine.Close).
func (e *Engine) closeGrants() {
	e.readGrants.close()
	e.writeGrants.close()
	e.loadGrants.close()
}

// MaxModuleSize is the largest file load() reads, in bytes: a module is
// source text, and a script must not make the engine read a file of any
// size (/dev/zero, a log).
const MaxModuleSize = 16 << 20

// ReadModule reads the file of a load()ed module (path, as module named
// it) through the grants of load(): Permissions.Read and Permissions.Load
// (Options.Modules are found before this). A refused file is not opened,
// so no message can show what it holds. load() reads through it, and so
// do the tools that follow loads without running them (coro check), so
// that they refuse exactly what running would.
func (e *Engine) ReadModule(module, path string) ([]byte, error) {
	p, err := e.placeModule(module, path)
	if err != nil {
		return nil, err
	}
	return readModule(module, p)
}

// loadModule is ReadModule for load() on th: the file is read on the
// blocking pool, the loading task waiting (a module's top level may wait:
// starlark/ORIGIN.md 38), so a slow disk holds up no other task.
func (e *Engine) loadModule(th *starlark.Thread, module, path string) ([]byte, error) {
	p, err := e.placeModule(module, path)
	if err != nil {
		return nil, err
	}
	x := ExecOf(th)
	if x == nil || x.Task == nil {
		return readModule(module, p)
	}
	var src []byte
	_, err = x.Offload(Offload{Why: loadReason(path), Op: "load", Timeout: NoTimeout, Work: func(context.Context) (starlark.Value, error) {
		var err error
		src, err = readModule(module, p)
		return nil, err
	}})
	return src, err
}

// loadReason is what a task reading a module waits on.
type loadReason string

func (r loadReason) WaitingOn() string { return "load " + string(r) }

func (e *Engine) placeModule(module, path string) (Place, error) {
	p, err := e.place(e.loadGrants, "load", path, false)
	if err != nil {
		if ce, ok := err.(*Error); ok && ce.Kind == KindValue {
			return Place{}, ce // a path no file can have
		}
		return Place{}, Errorf(KindPermission, "load: reading %s denied (allow with --allow-read=PATH, or Permissions.Read or Options.Modules)", module)
	}
	return p, nil
}

// readModule reads the module at p: a regular file of at most
// MaxModuleSize bytes.
func readModule(module string, p Place) ([]byte, error) {
	src, err := p.ReadRegular(MaxModuleSize)
	if err != nil {
		if ce, ok := err.(*Error); ok {
			return nil, ce
		}
		kind := KindIO
		switch {
		case errors.Is(err, fs.ErrNotExist):
			kind = KindNotFound
		case errors.Is(err, ErrNotRegular):
			kind = KindValue
		}
		// The cause stays for errors.As: coro check shows its errno. The
		// message names the path, as fs's errors do, but not Go's name of
		// the system call ("statat"), which the script never made.
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = pe.Path + ": " + pe.Err.Error()
		}
		return nil, &Error{Kind: kind, Msg: fmt.Sprintf("cannot load %s: %s", module, msg), cause: err, GoStack: goStack(1)}
	}
	if len(src) > MaxModuleSize {
		return nil, Errorf(KindValue, "cannot load %s: larger than %d MiB, the limit of a module", module, MaxModuleSize>>20)
	}
	return src, nil
}

// match finds the grant path lies in, and the rest of the path below it.
// The part of the path outside every grant is resolved here (its links
// followed, its ".." taken after them, as the kernel does): a script can
// change nothing there. The part from the grant on is left to the root,
// ".." and all. The widest grant on the way wins, unless the rest climbs
// lexically out of it; then the walk goes on (whatever it finds, the
// operation is confined to the grant it ends in).
//
// The walk is the kernel's: one readlink(2) a part, the folder reached so
// far kept resolved, a link's target put in place of its part (at most
// maxLinks of them, as the kernel's ELOOP; past that a link is a name).
// Resolving each part by filepath.EvalSymlinks of the path up to it made
// the walk quadratic in the number of parts.
func (s *grantSet) match(path string) (*grant, string) {
	if !filepath.IsAbs(path) {
		wd, err := os.Getwd()
		if err != nil {
			return nil, ""
		}
		path = wd + "/" + path
	}
	rest := strings.Split(path, "/")
	cur := "/"
	links := 0
	for {
		for _, g := range s.grants {
			if cur != g.real {
				continue
			}
			if !g.dir {
				if len(nonEmpty(rest)) != 0 {
					continue
				}
				return g, filepath.Base(g.real)
			}
			if climbs(rest) {
				continue // "a/../../b": not below this grant; an outer one may hold it
			}
			r := strings.Join(nonEmpty(rest), "/")
			if r == "" {
				r = "."
			}
			return g, r
		}
		if len(rest) == 0 {
			return nil, ""
		}
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
		case "..":
			cur = filepath.Dir(cur)
		default:
			next := filepath.Join(cur, c)
			target, err := os.Readlink(next)
			if err != nil || target == "" || links == maxLinks {
				cur = next // not a link, or nothing there: the name itself
				continue
			}
			links++
			if filepath.IsAbs(target) {
				cur = "/"
			}
			rest = append(strings.Split(target, "/"), rest...)
		}
	}
}

// maxLinks is how many symbolic links a path's resolution follows, as
// the kernel's (Linux's MAXSYMLINKS).
const maxLinks = 40

// MaxPath is the length from which a path is refused (Linux's PATH_MAX,
// which counts the terminating NUL): the kernel would refuse it with
// ENAMETOOLONG, and the sandbox's walk would resolve it first.
const MaxPath = 4096

// climbs reports whether parts, taken lexically, go above where they
// start ("x/../.."). The root would refuse them; the walk goes on instead.
// (A link inside may still lead out: the root refuses that.)
func climbs(parts []string) bool {
	depth := 0
	for _, p := range parts {
		switch p {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// nonEmpty drops empty and "." components (not ".."). It reuses parts.
func nonEmpty(parts []string) []string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" && p != "." {
			out = append(out, p)
		}
	}
	return out
}

// A Place is a path a script named, resolved to the grant it lies in:
// operations on it run inside that grant's root. A Place with no root is
// unconfined (a grant of "/"); its operations are package os's.
type Place struct {
	Path  string // as the script named it: every error names this
	fn    string // the builtin, for permission errors
	root  *os.Root
	name  string // below root
	write bool
	g     *grant // the grant root belongs to
}

// PlaceRead resolves path for reading, or fails with `permission`.
func (e *Engine) PlaceRead(fn, path string) (Place, error) {
	return e.place(e.readGrants, fn, path, false)
}

// PlaceWrite resolves path for writing (creating, removing, renaming), or
// fails with `permission`.
func (e *Engine) PlaceWrite(fn, path string) (Place, error) {
	return e.place(e.writeGrants, fn, path, true)
}

// PlaceReadWrite resolves path for an operation that reads and writes
// (fs.open's "r+", "w+", "a+"). The operation goes through one root, so
// one grant must allow both: the path's read and write grants are the
// same path, or one lies inside the other and the operation goes through
// the inner one. Two disjoint grants are refused, whatever links join
// them: the operation would be confined to only one, and a link from a
// read grant into a write grant (or back) reached a file only the other
// allows, where every other operation refuses a link leaving its grant.
func (e *Engine) PlaceReadWrite(fn, path string) (Place, error) {
	r, err := e.PlaceRead(fn, path)
	if err != nil {
		return Place{}, err
	}
	w, err := e.PlaceWrite(fn, path)
	if err != nil {
		return Place{}, err
	}
	switch {
	case r.root == nil: // every path may be read
		return w, nil
	case w.root == nil:
		r.write = true
		return r, nil
	case w.g.within(r.g):
		return w, nil
	case r.g.within(w.g):
		r.write = true
		return r, nil
	}
	return Place{}, Errorf(KindPermission, "%s: reading and writing %s denied: it is not under one path allowed for both (allow with --allow-read=PATH and --allow-write=PATH, or Permissions.Read and Permissions.Write)", fn, path)
}

func (e *Engine) place(s *grantSet, fn, path string, write bool) (Place, error) {
	// Every path a script names passes here (fs, proc's cwd, net's unix
	// sockets and certificate files): checked once for all of them.
	if err := CheckNUL(fn, "path", path); err != nil {
		return Place{}, err
	}
	if len(path) >= MaxPath {
		return Place{}, Errorf(KindValue, "%s: path %s: file name too long (the limit is %d bytes)", fn, QuoteArg(path), MaxPath-1)
	}
	if s.all {
		return Place{Path: path, fn: fn, name: path, write: write}, nil
	}
	if path == "" {
		return Place{}, Errorf(KindValue, "%s: empty path", fn)
	}
	g, name := s.match(path)
	if g == nil {
		return Place{}, deniedError(fn, path, write)
	}
	root, name, err := g.place(name)
	if err != nil {
		return Place{}, Errorf(KindPermission, "%s: %s: the allowed path %s cannot be opened: %v", fn, path, g.real, unwrapPath(err))
	}
	return Place{Path: path, fn: fn, root: root, name: name, write: write, g: g}, nil
}

func deniedError(fn, path string, write bool) error {
	if write {
		return Errorf(KindPermission, "%s: writing %s denied (allow with --allow-write=PATH, or Permissions.Write)", fn, path)
	}
	return Errorf(KindPermission, "%s: reading %s denied (allow with --allow-read=PATH, or Permissions.Read)", fn, path)
}

// Confined reports whether operations on p run inside a root.
func (p Place) Confined() bool { return p.root != nil }

// Err converts an error of an operation on p: a path that left the root
// becomes a `permission` error; any other keeps package os's error, with
// the script's path in it instead of the name below the root (no path
// the script did not name appears).
func (p Place) Err(err error) error {
	if err == nil {
		return nil
	}
	if p.root != nil && escapes(err) {
		what, flag, opt := "reading", "--allow-read=PATH", "Permissions.Read"
		if p.write {
			what, flag, opt = "writing", "--allow-write=PATH", "Permissions.Write"
		}
		return Errorf(KindPermission, "%s: %s %s denied: a symbolic link or \"..\" in it leads outside the allowed path (allow with %s, or %s)", p.fn, what, p.Path, flag, opt)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: p.Path, Err: pe.Err}
	}
	return err
}

// escapes reports whether err is os.Root's refusal of a path leaving it.
func escapes(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// OpenFile opens the file (os.OpenFile).
func (p Place) OpenFile(flag int, perm os.FileMode) (*os.File, error) {
	if p.root == nil {
		return os.OpenFile(p.name, flag, perm)
	}
	f, err := p.root.OpenFile(p.name, flag, perm)
	return f, p.Err(err)
}

// ReadFile reads the whole file.
func (p Place) ReadFile() ([]byte, error) {
	if p.root == nil {
		return os.ReadFile(p.name)
	}
	d, err := p.root.ReadFile(p.name)
	return d, p.Err(err)
}

// ErrNotRegular is what ReadRegular refuses (errors.Is; the error says
// what the file is instead).
var ErrNotRegular = errors.New("not a regular file")

// notRegular is ErrNotRegular, saying what the file is: "a FIFO".
type notRegular string

func (n notRegular) Error() string        { return "is " + string(n) + ", not a regular file" }
func (n notRegular) Is(target error) bool { return target == ErrNotRegular }

func notRegularError(path string, m fs.FileMode) error {
	what := "a special file"
	switch {
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a FIFO"
	case m&fs.ModeDevice != 0:
		what = "a device"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	}
	return &fs.PathError{Op: "read", Path: path, Err: notRegular(what)}
}

// ReadRegular reads the regular file at p, at most limit+1 bytes (more
// than limit: the caller says the file is too large), for files that
// are read whole and must be files (a module, a certificate). Anything
// else is refused, ErrNotRegular, without being read: a FIFO, whose open
// waits for a writer and whose reads may never end; a device (/dev/zero
// has no end); a directory; a socket. It is looked at before the open,
// which does not wait (O_NONBLOCK: a FIFO swapped in meanwhile does not
// hold it), and again by descriptor after.
func (p Place) ReadRegular(limit int64) ([]byte, error) {
	fi, err := p.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegularError(p.Path, fi.Mode())
	}
	f, err := p.OpenFile(os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, p.Err(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegularError(p.Path, fi.Mode())
	}
	var b bytes.Buffer
	b.Grow(int(min(fi.Size(), limit)) + bytes.MinRead) // one read for a file of the size it said
	_, err = b.ReadFrom(io.LimitReader(f, limit+1))
	return b.Bytes(), p.Err(err)
}

// Stat is os.Stat.
func (p Place) Stat() (fs.FileInfo, error) {
	if p.root == nil {
		return os.Stat(p.name)
	}
	fi, err := p.root.Stat(p.name)
	return fi, p.Err(err)
}

// Mkdir is os.Mkdir, or os.MkdirAll if parents.
func (p Place) Mkdir(perm os.FileMode, parents bool) error {
	switch {
	case p.root == nil && parents:
		return os.MkdirAll(p.name, perm)
	case p.root == nil:
		return os.Mkdir(p.name, perm)
	case parents:
		return p.Err(p.root.MkdirAll(p.name, perm))
	}
	return p.Err(p.root.Mkdir(p.name, perm))
}

// Remove is os.Remove. An allowed folder itself is refused (what is in
// it may go): the grant holds it open as its root, which cannot remove
// itself (Root.Remove(".") said only "invalid argument").
func (p Place) Remove() error {
	if p.root == nil {
		return os.Remove(p.name)
	}
	if err := p.grantItself("removing", "removed"); err != nil {
		return err
	}
	return p.Err(p.root.Remove(p.name))
}

// grantItself refuses an operation (doing, done: "removing", "removed")
// on an allowed folder itself rather than on what is in it: the grant
// holds it open as its root, which cannot remove or rename itself.
func (p Place) grantItself(doing, done string) error {
	if p.root != nil && p.name == "." {
		return Errorf(KindPermission, "%s: %s %s denied: it is an allowed path itself (what is in it may be %s)", p.fn, doing, p.Path, done)
	}
	return nil
}

// Dir opens the directory p names, or with parent the folder p lies in,
// for operations by descriptor (an inotify watch, a child's working
// directory, a socket's bind): /proc/self/fd/N then names that very
// directory, whatever is renamed meanwhile. The second result is the last
// component of p (with parent).
func (p Place) Dir(parent bool) (*os.File, string, error) {
	name, base := p.name, ""
	if parent {
		name, base = filepath.Dir(p.name), filepath.Base(p.name)
		if base == ".." || base == "." || base == "/" {
			return nil, "", &fs.PathError{Op: "open", Path: p.Path, Err: unix.EINVAL}
		}
	}
	var f *os.File
	var err error
	if p.root == nil {
		f, err = os.OpenFile(name, os.O_RDONLY|unix.O_DIRECTORY, 0)
	} else {
		f, err = p.root.OpenFile(name, os.O_RDONLY|unix.O_DIRECTORY, 0)
	}
	if err != nil {
		return nil, "", p.Err(err)
	}
	return f, base, nil
}

// FdPath is the name of an open file by descriptor (/proc/self/fd/N).
func FdPath(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }

// Rename renames from to to; both must be write places. Within one root
// it is Root.Rename; across roots each side's folder is opened through
// its root and renameat(2) joins them.
func Rename(from, to Place) error {
	if err := from.grantItself("renaming", "renamed"); err != nil {
		return err
	}
	if err := to.grantItself("replacing", "replaced"); err != nil {
		return err
	}
	switch {
	case from.root == nil && to.root == nil:
		return os.Rename(from.name, to.name)
	case from.root != nil && from.root == to.root:
		err := from.root.Rename(from.name, to.name)
		if escapes(err) {
			return renameEscaped(from, to, err)
		}
		return renameErr(from, to, err)
	}
	fd, fbase, err := from.Dir(true)
	if err != nil {
		return err
	}
	defer fd.Close()
	td, tbase, err := to.Dir(true)
	if err != nil {
		return err
	}
	defer td.Close()
	return renameErr(from, to, unix.Renameat(int(fd.Fd()), fbase, int(td.Fd()), tbase))
}

// renameEscaped names the side of a rename within one root that left
// it: Root.Rename's error names both paths, not which one escaped. The
// rename has failed already; only the message depends on this look at
// from's folder (it resolves first, so if it stays inside, to escaped),
// and both paths are the script's own.
func renameEscaped(from, to Place, err error) error {
	d, _, derr := from.Dir(true)
	if d != nil {
		d.Close()
	}
	var ce *Error
	if derr != nil && errors.As(derr, &ce) && ce.Kind == KindPermission {
		return ce
	}
	return to.Err(err)
}

func renameErr(from, to Place, err error) error {
	if err == nil {
		return nil
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	return &os.LinkError{Op: "rename", Old: from.Path, New: to.Path, Err: err}
}

// OpenPath opens what p names with O_PATH (for connect(2) by descriptor
// to a unix socket), following symbolic links inside the root only.
func (p Place) OpenPath() (*os.File, error) {
	if p.root == nil {
		return os.OpenFile(p.name, unix.O_PATH, 0)
	}
	name := p.name
	for range 40 {
		// O_PATH|O_NOFOLLOW (what the root adds) opens a final link
		// itself rather than failing: follow it here, inside the root.
		f, err := p.root.OpenFile(name, unix.O_PATH, 0)
		if err != nil {
			return nil, p.Err(err)
		}
		fi, err := f.Stat()
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			if err != nil {
				f.Close()
			}
			return f, p.Err(err)
		}
		f.Close()
		target, err := p.root.Readlink(name)
		if err != nil {
			return nil, p.Err(err)
		}
		if filepath.IsAbs(target) {
			return nil, p.Err(errors.New("path escapes from parent"))
		}
		name = filepath.Dir(name) + "/" + target // the root takes its ".."
	}
	return nil, &fs.PathError{Op: "open", Path: p.Path, Err: unix.ELOOP}
}

// CheckRead fails unless path lies under a readable path. The operation
// itself must still go through PlaceRead to be safe from links.
func (e *Engine) CheckRead(fn, path string) error {
	_, err := e.PlaceRead(fn, path)
	return err
}

// CheckWrite fails unless path lies under a writable path.
func (e *Engine) CheckWrite(fn, path string) error {
	_, err := e.PlaceWrite(fn, path)
	return err
}
