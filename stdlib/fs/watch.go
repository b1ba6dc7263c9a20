package fs

import (
	"path/filepath"
	"strings"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/fsnotify/fsnotify"
)

// watchCapacity is how many events a watch channel buffers; a receiver
// that falls further behind loses the oldest (as the kernel's own queue
// does when it overflows).
const watchCapacity = 128

// watch(path) returns a channel receiving an event (.path, .op) for each
// change: op is "create", "write", "remove" or "rename". Closing the
// channel stops the watch.
//
// Watching a file watches its directory and keeps the events about the
// file: editors and config deployers replace a file by renaming a new one
// over it, which a watch on the file itself would not survive. Such a
// replacement arrives as a "create" (or "rename") of the path.
func watch(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	p, _, e, err := pathArg(th, b, args, kwargs, false)
	if err != nil {
		return nil, err
	}
	// Setting up a watch is a stat, an open and two inotify calls, none
	// of which waits for a disk: done on the loop, so an interrupted call
	// cannot leak a watcher. The directory is opened through the read
	// grant's root and watched by descriptor (/proc/self/fd/N), so the
	// watch is on what the permission allowed, whatever is renamed
	// meanwhile; event paths are spelled from the script's path.
	fi, err := p.Stat()
	if err != nil {
		return nil, ioError(b.Name(), err)
	}
	wv := &watcher{prefix: p.Path}
	d, base, err := p.Dir(!fi.IsDir())
	if err != nil {
		return nil, ioError(b.Name(), err)
	}
	defer d.Close()
	if !fi.IsDir() {
		wv.prefix, wv.only = filepath.Dir(p.Path), base
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, loop.Errorf(loop.KindIO, "%s: %v", b.Name(), err)
	}
	wv.w, wv.fdPath = w, loop.FdPath(d)
	if err := w.Add(wv.fdPath); err != nil {
		w.Close()
		return nil, ioError(b.Name(), p.Err(err))
	}
	c := e.NewChannel(watchCapacity)
	e.Keep(c, c.Receiving)
	c.OnClose(func() {
		e.Unkeep(c)
		// Off the loop: closing an inotify descriptor waits for the
		// kernel (an RCU grace period), which can take a good fraction
		// of a second on a busy machine.
		go w.Close()
	})
	go wv.pump(e, c)
	return c, nil
}

// A watcher is one fs.watch: the fsnotify watcher on fdPath (the watched
// directory by descriptor), the script's spelling of that directory, and
// when a file is watched, its name (events about its siblings are dropped).
type watcher struct {
	w      *fsnotify.Watcher
	fdPath string
	prefix string
	only   string
}

// pump forwards the watcher's events to the loop until the watcher is
// closed (by closing the channel, or when the engine closes).
func (wv *watcher) pump(e *loop.Engine, c *loop.Channel) {
	ctx := e.Context()
	for {
		select {
		case <-ctx.Done():
			wv.w.Close()
			return
		case err, ok := <-wv.w.Errors:
			if !ok {
				return
			}
			_ = err // an overflowed kernel queue: the events are lost either way
		case ev, ok := <-wv.w.Events:
			if !ok {
				return
			}
			rel, ok := strings.CutPrefix(ev.Name, wv.fdPath)
			if !ok {
				continue
			}
			rel = strings.TrimPrefix(rel, "/")
			if wv.only != "" && rel != wv.only {
				continue
			}
			name := wv.prefix
			if rel != "" {
				name = strings.TrimSuffix(name, "/") + "/" + rel
			}
			for _, op := range ops(ev.Op) {
				event := starlarkstruct.FromStringDict(starlark.String("event"), starlark.StringDict{
					"path": starlark.String(name),
					"op":   starlark.String(op),
				})
				e.Post(func() { c.SendDropOldest(event) })
			}
		}
	}
}

// ops names the operations in an fsnotify event (one event may carry
// several); permission changes are not reported.
func ops(op fsnotify.Op) []string {
	var out []string
	if op.Has(fsnotify.Create) {
		out = append(out, "create")
	}
	if op.Has(fsnotify.Write) {
		out = append(out, "write")
	}
	if op.Has(fsnotify.Remove) {
		out = append(out, "remove")
	}
	if op.Has(fsnotify.Rename) {
		out = append(out, "rename")
	}
	return out
}
