package main

// coro --watch FILE (SPEC 14): run again whenever FILE or a module it
// loads changes.

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/corolang/coro/starlark/syntax"
	"github.com/fsnotify/fsnotify"
)

// watchSettle is how long a change must be followed by no other before
// the run restarts: an editor's save (write a temporary file, rename it
// over the old one) is one change, not three.
const watchSettle = 100 * time.Millisecond

// runWatch runs file, and whenever it or a module it loads changes,
// cancels the run (every task's deferred functions run), prints
// "--- NAME changed: restarting ---" on stderr and runs it again. A run
// that ends by itself (a syntax error included) waits for the next
// change. Only a signal ends the command, with 128+N.
func runWatch(c *config, file string, args []string, stdout, stderr io.Writer) int {
	ctx, stop, signalled, broken := interruptContext(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	stdout, stderr = &pipeGuard{stdout, broken}, &pipeGuard{stderr, broken}
	fw, err := newFileWatcher()
	if err != nil {
		fmt.Fprintf(stderr, "coro: --watch: %v\n", err)
		return exitUsage
	}
	defer fw.close()
	for {
		// What the run may load is read from the files themselves (load
		// statements are static), before it starts: an edit made while
		// it runs is seen.
		for _, p := range loadClosure(file) {
			fw.add(p)
		}
		runCtx, cancelRun := context.WithCancel(ctx)
		done := make(chan int, 1)
		go func() {
			src, err := readScript(file)
			if err != nil {
				fmt.Fprintf(stderr, "coro: %v\n", err)
				done <- exitUsage
				return
			}
			done <- execScript(runCtx, c, file, src, args, stdout, stderr, func() int {
				if s := signalled(); s != 0 {
					return s
				}
				if runCtx.Err() != nil {
					return -1 // cancelled for a restart: quietly
				}
				return 0
			})
		}()
		select {
		case changed := <-fw.changes:
			cancelRun()
			<-done
			fmt.Fprintf(stderr, "--- %s changed: restarting ---\n", changed)
			continue
		case code := <-done:
			cancelRun()
			if s := signalled(); s != 0 {
				return s
			}
			fmt.Fprintf(stderr, "--- exit status %d: waiting for a change ---\n", code)
		case <-ctx.Done():
			cancelRun()
			<-done
			return signalled()
		}
		select {
		case changed := <-fw.changes:
			fmt.Fprintf(stderr, "--- %s changed: restarting ---\n", changed)
		case <-ctx.Done():
			return signalled()
		}
	}
}

// loadClosure returns file and every module it loads, directly or not,
// as load() would find them (relative to the loading file). A file that
// does not parse is listed without what it would load.
func loadClosure(file string) []string {
	var out []string
	seen := map[string]bool{}
	var visit func(p string)
	visit = func(p string) {
		p = filepath.Clean(p)
		if seen[p] {
			return
		}
		seen[p] = true
		out = append(out, p)
		src, err := readScript(p)
		if err != nil {
			return
		}
		f, err := coroDialect().Parse(p, src, 0)
		if err != nil {
			return
		}
		for _, stmt := range f.Stmts {
			if load, ok := stmt.(*syntax.LoadStmt); ok {
				module, _ := load.Module.Value.(string)
				if !filepath.IsAbs(module) {
					module = filepath.Join(filepath.Dir(p), module)
				}
				visit(module)
			}
		}
	}
	visit(file)
	return out
}

// fileWatcher reports changes of a set of files. It watches their
// directories and matches names, so that a file replaced by a rename (how
// many editors save), or removed and created again, is still seen. A
// directory that does not exist (yet, or any more: a checkout, a build
// output) is waited for by watching the nearest one above it that does;
// its making counts as a change of the files below it, which it brings.
type fileWatcher struct {
	w       *fsnotify.Watcher
	changes chan string // the name of a changed file, once it settled
	mu      sync.Mutex
	files   map[string]string // absolute path → the name to show
	dirs    map[string]bool   // the directories watched
	done    chan struct{}
}

func newFileWatcher() (*fileWatcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	fw := &fileWatcher{w: w, changes: make(chan string, 1), files: map[string]string{}, dirs: map[string]bool{}, done: make(chan struct{})}
	go fw.loop()
	return fw, nil
}

// add watches the file at path (shown as path in the restart line).
func (fw *fileWatcher) add(path string) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return
	}
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if _, ok := fw.files[abs]; ok {
		return
	}
	fw.files[abs] = path
	fw.watchDirs()
}

// watchDirs watches the directory of each file or, while it is missing,
// the nearest directory above it that exists. fw.mu is held.
func (fw *fileWatcher) watchDirs() {
	for abs := range fw.files {
		for dir := filepath.Dir(abs); !fw.dirs[dir]; dir = filepath.Dir(dir) {
			if fw.w.Add(dir) == nil {
				fw.dirs[dir] = true
				break
			}
			if dir == filepath.Dir(dir) {
				break // the root: nothing to watch
			}
		}
	}
}

// below returns the name of a file at or below path (a directory made or
// removed), or "". fw.mu is held.
func (fw *fileWatcher) below(path string) string {
	for abs, name := range fw.files {
		if strings.HasPrefix(abs, path+string(filepath.Separator)) {
			return name
		}
	}
	return ""
}

// loop turns the directories' events into changes: the first event for a
// watched file, once watchSettle passed with no further one.
func (fw *fileWatcher) loop() {
	var timer *time.Timer
	var fire <-chan time.Time
	pending := ""
	for {
		select {
		case ev, ok := <-fw.w.Events:
			if !ok {
				return
			}
			if !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Rename) && !ev.Has(fsnotify.Remove) {
				continue // Chmod: indexers and backups touch files without changing them
			}
			fw.mu.Lock()
			path := filepath.Clean(ev.Name)
			name, ok := fw.files[path]
			if !ok {
				// A directory on the way to a file, made or removed
				// (inotify drops the watch of one removed): watch
				// what is there now.
				if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
					delete(fw.dirs, path)
				}
				if name = fw.below(path); name != "" {
					fw.watchDirs()
					ok = true
				}
			}
			fw.mu.Unlock()
			if !ok {
				continue
			}
			if pending == "" {
				pending = name
			}
			if timer == nil {
				timer = time.NewTimer(watchSettle)
			} else {
				timer.Reset(watchSettle)
			}
			fire = timer.C
		case <-fire:
			fire = nil
			select {
			case fw.changes <- pending:
			default: // a change is already waiting to be taken: one restart
			}
			pending = ""
		case <-fw.w.Errors:
		case <-fw.done:
			return
		}
	}
}

func (fw *fileWatcher) close() {
	close(fw.done)
	fw.w.Close()
}
