package fs

import (
	"bytes"
	"context"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"unsafe"
	"weak"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib/internal/handle"
	"golang.org/x/sys/unix"
)

// watchCapacity is how many events a watch channel buffers; a receiver
// that falls further behind loses the oldest (as the kernel's own queue
// does when it overflows).
const watchCapacity = 128

// watchMask is what a watch asks the kernel for: the changes ops names.
const watchMask = unix.IN_CREATE | unix.IN_MODIFY | unix.IN_DELETE | unix.IN_DELETE_SELF |
	unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_MOVE_SELF | unix.IN_ONLYDIR

// watch(path) returns a channel receiving an event (.path, .op) for each
// change: op is "create", "write", "remove" or "rename". Closing the
// channel stops the watch, and so does dropping it (watcher).
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
	// Setting up a watch is a stat, an open and an inotify call, none of
	// which waits for a disk: done on the loop, so an interrupted call
	// cannot leak a kernel watch. The directory is opened through the
	// read grant's root and watched by descriptor (/proc/self/fd/N), so
	// the watch is on what the permission allowed, whatever is renamed
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
	in, err := inotifyOf(e)
	if err != nil {
		return nil, loop.Errorf(loop.KindIO, "%s: couldn't initialize inotify: %v", b.Name(), err)
	}
	if err := in.add(wv, loop.FdPath(d)); err != nil {
		return nil, ioError(b.Name(), p.Err(err))
	}
	c := e.NewChannel(watchCapacity)
	wv.c, wv.eng, wv.in = weak.Make(c), e, in
	e.Keep(wv, wv.receiving)
	wv.cleanup = handle.WhenDropped(e, c, (*watcher).stop, wv)
	c.OnClose(wv.stop)
	return c, nil
}

// A watcher is one fs.watch: its channel, the directory it watches (dir),
// the script's spelling of that directory, and when a file is watched,
// its name (events about its siblings are not its).
//
// What the engine holds (its inotify instance's directories, its
// keepers) refers to the watcher, and the watcher to its channel only
// weakly: a channel nothing refers to any more (no task waits on it)
// stops its watch when the collector finds it (handle.WhenDropped). Held,
// the kernel's watch stayed until the run ended, and the channel filled
// up with events no one would take.
type watcher struct {
	c       weak.Pointer[loop.Channel]
	eng     *loop.Engine
	in      *inotify
	cleanup runtime.Cleanup
	dir     *watchedDir
	prefix  string
	only    string
}

// receiving is the watch's keeper (loop.Engine.Keep): whether a task
// waits on the channel, for the events the watch may bring.
func (wv *watcher) receiving() bool {
	c := wv.c.Value()
	return c != nil && c.Receiving()
}

// stop ends the watch: its channel was closed, or dropped. Loop only.
func (wv *watcher) stop() {
	wv.cleanup.Stop()
	wv.eng.Unkeep(wv)
	wv.in.remove(wv)
}

// inotify is an engine's one inotify instance, which all its fs.watch
// calls share: the kernel allows a user 128 instances, counted across
// all of their processes, where it allows thousands of watches in one. It
// is made on first use, read on the loop when the engine's reactor
// reports events, and closed when the engine closes. Loop only.
//
// The kernel gives a directory one watch per instance, whatever path
// names it: a second inotify_add_watch of it returns the same watch
// descriptor (wd). So a watchedDir is a wd with the watchers that asked
// for it, and the last of them to close removes the kernel's watch: one
// watcher's close leaves another's of the same directory in place. The
// wd, not a path, says whose an event is: the paths added are
// /proc/self/fd/N, whose N the next open reuses.
type inotify struct {
	fd   int
	dirs map[int32]*watchedDir
	buf  []byte
}

// A watchedDir is a kernel watch and its watchers.
type watchedDir struct {
	wd       int32
	watchers []*watcher
}

type inotifyKey struct{}

// inotifyOf returns e's inotify instance, making it on first use.
func inotifyOf(e *loop.Engine) (*inotify, error) {
	in := e.Local(inotifyKey{}, func() any { return &inotify{fd: -1} }).(*inotify)
	if in.fd >= 0 {
		return in, nil
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	if _, err := e.WatchFD(fd, in.ready); err != nil {
		unix.Close(fd)
		return nil, err
	}
	in.fd, in.dirs = fd, map[int32]*watchedDir{}
	in.buf = make([]byte, 64<<10)
	// The loop is done with the descriptor by the time the engine's
	// context ends (Close, after its last run). Closing it waits for the
	// kernel (an RCU grace period), which can take a good fraction of a
	// second on a busy machine: AfterFunc runs it on a goroutine.
	context.AfterFunc(e.Context(), func() { unix.Close(fd) })
	return in, nil
}

// add registers wv for the directory at path.
func (in *inotify) add(wv *watcher, path string) error {
	wd, err := unix.InotifyAddWatch(in.fd, path, watchMask)
	if err != nil {
		return err
	}
	d := in.dirs[int32(wd)]
	if d == nil {
		d = &watchedDir{wd: int32(wd)}
		in.dirs[d.wd] = d
	}
	d.watchers = append(d.watchers, wv)
	wv.dir = d
	return nil
}

// remove unregisters wv; the last watcher of a directory removes the
// kernel's watch.
func (in *inotify) remove(wv *watcher) {
	d := wv.dir
	if i := slices.Index(d.watchers, wv); i >= 0 {
		d.watchers = slices.Delete(d.watchers, i, i+1)
	}
	if len(d.watchers) == 0 && in.dirs[d.wd] == d {
		in.forget(d)
	}
}

// forget removes the kernel's watch of d; its watchers get no more
// events. (Where the kernel removed it already, the directory being
// gone, inotify_rm_watch fails, to no harm.)
func (in *inotify) forget(d *watchedDir) {
	delete(in.dirs, d.wd)
	unix.InotifyRmWatch(in.fd, uint32(d.wd))
}

// ready runs on the loop when the reactor reports the instance readable:
// it reads every event queued (the reactor is edge-triggered) and hands
// each to the watchers of its directory.
func (in *inotify) ready(loop.IOEvents) {
	for {
		n, err := unix.Read(in.fd, in.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return // EAGAIN: all read
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&in.buf[off]))
			name := in.buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			in.dispatch(ev.Wd, ev.Mask, string(bytes.TrimRight(name, "\x00")))
		}
	}
}

// dispatch hands one event, about the entry rel of directory wd (rel ""
// for the directory itself), to that directory's watchers. An overflowed
// kernel queue (wd -1) loses its events either way.
func (in *inotify) dispatch(wd int32, mask uint32, rel string) {
	d := in.dirs[wd]
	if d == nil {
		return // a watch removed, its last events still queued
	}
	if mask&unix.IN_IGNORED != 0 {
		delete(in.dirs, wd) // the kernel removed the watch (the directory is gone)
		return
	}
	if mask&unix.IN_MOVE_SELF != 0 {
		// The directory moved: its path no longer names it, so the
		// watch ends, as fsnotify's did, after this "rename".
		defer in.forget(d)
	}
	for _, wv := range d.watchers {
		if wv.only != "" && rel != wv.only {
			continue
		}
		c := wv.c.Value()
		if c == nil {
			continue // dropped; its cleanup is on its way
		}
		name := wv.prefix
		if rel != "" {
			name = strings.TrimSuffix(name, "/") + "/" + rel
		}
		for _, op := range ops(mask) {
			c.SendDropOldest(starlarkstruct.FromStringDict(starlark.String("event"), starlark.StringDict{
				"path": starlark.String(name),
				"op":   starlark.String(op),
			}))
		}
	}
}

// ops names the operations in an inotify event's mask (one event may
// carry several).
func ops(mask uint32) []string {
	var out []string
	if mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
		out = append(out, "create")
	}
	if mask&unix.IN_MODIFY != 0 {
		out = append(out, "write")
	}
	if mask&(unix.IN_DELETE|unix.IN_DELETE_SELF) != 0 {
		out = append(out, "remove")
	}
	if mask&(unix.IN_MOVED_FROM|unix.IN_MOVE_SELF) != 0 {
		out = append(out, "rename")
	}
	return out
}
