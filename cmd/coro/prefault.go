package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Prefaulting the heap's growth.
//
// A script that holds many tasks touches much fresh heap at once (100k
// tasks parked in sleep take ~150 MiB), and the kernel backs fresh memory
// one page at a time, a fault on first touch. On the virtual machines
// coro is measured on a fault costs 12-15 µs, most of it the trip through
// the hypervisor, so faults were about half of the time it took to spawn
// 100k tasks. The loop cannot avoid touching its new memory, but another
// thread can touch it first: what one thread faults in is mapped for all.
//
// So once the heap grows (whenHeapGrows), a goroutine keeps a window
// of fresh heap ahead of the allocator resident: MADV_POPULATE_WRITE
// maps a run of pages in one system call (~1 µs a page against a fault
// each), and an atomic add of zero to one word of each page then sets up
// the hypervisor's side of the mapping, which the advice alone leaves to
// the first access (~7 µs a page; added to zero, no word changes, however
// the heap uses it meanwhile). The loop then finds its pages ready.
// Measured on 100k timers: the spawn phase took 0.6 s before, 0.25 s
// after.
//
// Which pages come next (freshHeap): a large object maps fresh heap that
// nothing has touched and is freed and returned to the system at once
// (so that the runtime's scavenger, which releases free memory it takes
// for resident, does not release the window behind the goroutine's
// back); the page allocator hands out the lowest free pages first, so the
// heap grows through that range in order, once it has filled the free
// pages below it (prefaultHeap). The window is a quarter of the growth
// into the range so far, 2-8 MiB: that much memory, and prefaultSlack,
// may be resident ahead of need, the price of the speed. A heap that
// stops growing is polled less and less often, down to every 64 ms.
//
// CORO_PREFAULT=0 turns it off.

// prefaultWanted reports whether the heap's growth is prefaulted (on
// unless CORO_PREFAULT=0, and never where the runtime may make freed heap
// inaccessible: an access there would fault for good).
func prefaultWanted() bool {
	return os.Getenv("CORO_PREFAULT") != "0" && !godebugSet("harddecommit") && !godebugSet("efence")
}

// godebugSet reports whether GODEBUG sets the runtime setting name to
// anything but 0 (the runtime takes any other number as on).
func godebugSet(name string) bool {
	for kv := range strings.SplitSeq(os.Getenv("GODEBUG"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name && strings.TrimLeft(v, "0") != "" {
			return true
		}
	}
	return false
}

// readyHeapMax is the most heap address space readied (advised for huge
// pages, prefaulted): enough for ~150k parked tasks; growth beyond it
// gets ordinary pages, faulted in by the allocator.
const readyHeapMax = 256 << 20

// heapChunk is the unit in which the runtime maps heap address space,
// aligned to it (pallocChunkBytes): the rest of the chunk that holds a
// mapped byte is mapped too.
const heapChunk = 4 << 20

const (
	madvPopulateWrite = 23 // MADV_POPULATE_WRITE (Linux 5.14)
	prefaultStep      = 1 << 20
	touchRun          = 64 << 10 // see prefault
	prefaultMinWindow = 2 << 20
	prefaultMaxWindow = 8 << 20
	prefaultSlack     = 4 << 20 // see prefaultHeap
)

// readyHeap readies the heap's growth, once it grows (whenHeapGrows): it
// maps fresh heap, advises huge pages for it when asked (hugepages.go),
// and prefaults it unless asked not to.
func readyHeap() {
	huge, pre := hugePagesWanted(), prefaultWanted()
	if !huge && !pre {
		return
	}
	lo, hi := freshHeap(readyHeapMax, func(lo, hi uintptr) {
		if huge {
			adviseHugePages(lo, hi)
		}
	})
	if lo != 0 && pre {
		prefaultHeap(lo, hi)
	}
}

// prefaultHeap keeps the heap's next growth resident ahead of the
// allocator, within the fresh range [lo, hi) it grows through, until the
// heap has grown through it.
//
// How far the heap has reached into the range is bounded from below:
// every page in use lies below the allocator's frontier, so once the
// pages in use outnumber the heap's pages outside the range (in use or
// free, counted at the start), the excess is in the range. Free pages
// below it are filled first; counting them keeps the window from
// running ahead of a heap that grows into them, where the pages it made
// resident would stay so for good (the runtime takes the range for
// returned to the system, and never returns them again). The bound is
// taken prefaultSlack higher: each processor keeps a few hundred KiB of
// free pages for itself wherever they were, and the heap often reaches
// into the range a little before the pages below it are all used.
func prefaultHeap(lo, hi uintptr) {
	outside := heapOutside(lo, hi)
	page := uintptr(os.Getpagesize())
	next := lo
	pause := time.Millisecond
	idle := 0
	for next < hi {
		reached := heapReached(lo, outside)
		window := min(max((reached-lo)/4, prefaultMinWindow), prefaultMaxWindow)
		if want := min(reached+window, hi) &^ (page - 1); next < want {
			end := min(next+prefaultStep, want)
			if !prefault(next, end) {
				return
			}
			next, pause, idle = end, time.Millisecond, 0
			continue
		}
		if idle++; idle >= prefaultIdlePolls {
			// The heap has stopped growing: sleep until it is
			// collected, as a heap that grows again soon is.
			awaitCollection()
			pause, idle = time.Millisecond, 0
			continue
		}
		// Poll while the heap grows, less often the longer it does not
		// (at least every 64 ms: a heap that grows again may not be
		// collected before it has grown much).
		time.Sleep(pause)
		pause = min(2*pause, 64*time.Millisecond)
	}
}

// prefaultIdlePolls is how many polls in a row that find the heap no
// larger send prefaultHeap to sleep until the next collection: ~0.3 s of
// polls. Polling on, every 64 ms, a server idle after a burst of tasks
// woke ~130 times a second (the runtime's monitor with it); an idle
// program collects only every two minutes.
const prefaultIdlePolls = 10

// awaitCollection blocks until the next garbage collection has run; a
// variable so that a test sees prefaultHeap go to sleep.
var awaitCollection = func() {
	done := make(chan struct{})
	afterCollection(func() { close(done) })
	<-done
}

// afterCollection runs f, on the runtime's cleanup goroutine, once the
// next collection has run: f is the cleanup of an object made only to
// be collected.
func afterCollection(f func()) {
	// A pointer field keeps the object out of the tiny allocator, whose
	// blocks hold several objects and are freed together.
	type sentinel struct{ _ *int }
	runtime.AddCleanup(new(sentinel), func(f func()) { f() }, f)
}

// heapReached is how far, at least, the heap has reached into the fresh
// range from lo, outside being its pages outside it (heapOutside): the
// pages in use beyond those (prefaultHeap).
func heapReached(lo, outside uintptr) uintptr {
	used, _ := heapPages()
	return lo + used - min(outside, used)
}

// heapOutside is the bytes of the heap's pages outside the fresh range
// [lo, hi), in use or free, less prefaultSlack (prefaultHeap).
func heapOutside(lo, hi uintptr) uintptr {
	_, total := heapPages()
	return total - min(total, hi-lo+prefaultSlack)
}

// readyHeapAt is the live heap, after a collection, from which the
// heap's growth is readied. A script with this much live holds many
// objects and is likely making more (tasks, data); one below it (a
// computation whose garbage is all collected, a small server) would gain
// nothing and pay a collection, the fresh range's setting up and the
// window's memory. The command's own live heap at start-up is ~1 MiB.
const readyHeapAt = 4 << 20

// whenHeapGrows runs f on a goroutine of its own after the first
// collection that leaves readyHeapAt or more live: off the loop's
// goroutine, early in the heap's growth (100k timers have 6 MiB live
// at their first collection).
func whenHeapGrows(f func()) {
	var arm func()
	arm = func() {
		afterCollection(func() {
			if heapLive() >= readyHeapAt {
				go f()
				return
			}
			arm()
		})
	}
	arm()
}

// heapLive is the bytes of heap objects the last collection left live.
func heapLive() uintptr {
	s := [...]metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s[:])
	return uintptr(s[0].Value.Uint64())
}

// prefault makes the pages of [lo, hi) resident and mapped, reporting
// false if the system refused (the range is then left alone).
//
// The pages are touched touchRun bytes at a time, and the goroutine
// yields between runs: touchPages is an assembly loop, which the
// runtime cannot preempt, and a megabyte of touches takes 2-4 ms here.
// Meanwhile a collection's stop-the-world waited for it, and so did the
// loop, whose allocation had started the collection (Go's scheduler
// trace of 100k timers: the loop's goroutine waited 14-39 ms for a
// processor during the spawn phase, 6-15 ms with the yields; the
// phase's median went from 0.227-0.237 s to 0.221-0.233 s in alternating
// runs).
func prefault(lo, hi uintptr) bool {
	for range 3 {
		switch madvise(lo, hi, madvPopulateWrite) {
		case 0:
			page := uintptr(os.Getpagesize())
			for run := lo; run < hi; run += touchRun {
				touchPages(run, min(run+touchRun, hi), page)
				runtime.Gosched()
			}
			return true
		case unix.EINTR, unix.EAGAIN:
			continue
		}
		// EINVAL: the advice is unknown (Linux before 5.14), or the
		// range is not readable and writable (GODEBUG=harddecommit);
		// ENOMEM: not mapped; EPERM: forbidden here. Pages the advice
		// did not map are never touched: a touch where they are not
		// accessible would be a fatal fault.
		return false
	}
	return false
}

// madvise gives advice for the pages of [lo, hi). The range stays two
// uintptrs: it may be free heap, where a Go pointer would be invalid.
func madvise(lo, hi uintptr, advice int) unix.Errno {
	_, _, errno := unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, uintptr(advice))
	return errno
}

// heapPages is the bytes of heap pages in use (objects, the unused rest
// of their spans, goroutine stacks) and of all the heap's pages, free
// ones included.
func heapPages() (used, total uintptr) {
	samples := [...]metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(samples[:])
	for i, s := range samples {
		if i < 3 {
			used += uintptr(s.Value.Uint64())
		}
		total += uintptr(s.Value.Uint64())
	}
	return used, total
}

// freshHeap maps up to size bytes of fresh heap that nothing has touched,
// calls prepare with its range (from the object's first whole huge page
// to the end of the runtime's chunk that holds its end), frees it, so that
// the heap's next growth comes from it, and returns the range (zero where
// that cannot be done safely). A large object maps the range;
// strings.Builder.Grow does not clear it (make would, if it began in
// pages the heap had freed, touching all of it), so none of it is
// touched but the first byte, written to find it. It is freed at once
// (left to the next collection, its size would set the heap goal, and
// the heap would grow to three times it first), and its pages are
// marked returned to the system, as they are: the runtime's scavenger
// then leaves them alone.
func freshHeap(size uintptr, prepare func(lo, hi uintptr)) (lo, hi uintptr) {
	// Under strict overcommit accounting the object would count against
	// the commit limit, and the runtime treats a failed heap mapping as
	// fatal.
	if mode, err := os.ReadFile("/proc/sys/vm/overcommit_memory"); err != nil || strings.TrimSpace(string(mode)) == "2" {
		return 0, 0
	}
	// Under a limit on address space (ulimit -v) or on writable
	// private memory (ulimit -d), which the heap's address space counts
	// against, never returned, the object might pass it, and the
	// runtime treats that as fatal too.
	for _, which := range []int{unix.RLIMIT_AS, unix.RLIMIT_DATA} {
		var lim unix.Rlimit
		if unix.Getrlimit(which, &lim) != nil || lim.Cur != unix.RLIM_INFINITY {
			return 0, 0
		}
	}
	// Under a memory limit (GOMEMLIMIT) the object would pass it for a
	// moment, and a process held to a limit is one that would rather
	// not have memory resident ahead of need.
	if debug.SetMemoryLimit(-1) != math.MaxInt64 {
		return 0, 0
	}
	var info unix.Sysinfo_t
	if unix.Sysinfo(&info) == nil {
		if ram := uintptr(info.Totalram) * uintptr(info.Unit) / 8; ram < size {
			size = ram
		}
	}
	if size < 4*hugePage {
		return 0, 0
	}
	var block strings.Builder
	block.Grow(int(size))
	block.WriteByte(0)
	base := uintptr(unsafe.Pointer(unsafe.StringData(block.String())))
	lo = (base + hugePage) &^ (hugePage - 1)
	hi = (base + size + heapChunk - 1) &^ (heapChunk - 1)
	prepare(lo, hi)
	block = strings.Builder{}
	debug.FreeOSMemory()
	return lo, hi
}
