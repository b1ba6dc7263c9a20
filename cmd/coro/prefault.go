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
// heap grows through that range in order, by about as much as its pages
// in use grow. The window is a quarter of the growth so far, 2-8 MiB:
// that much memory may be resident ahead of need, the price of the
// speed. A heap that stops growing is polled less and less often, down
// to every 64 ms.
//
// CORO_PREFAULT=0 turns it off.

// prefaultWanted reports whether the heap's growth is prefaulted (on
// unless CORO_PREFAULT=0, and never where the runtime may make freed heap
// inaccessible: an access there would fault for good).
func prefaultWanted() bool {
	if os.Getenv("CORO_PREFAULT") == "0" {
		return false
	}
	d := os.Getenv("GODEBUG")
	return !strings.Contains(d, "harddecommit=1") && !strings.Contains(d, "efence=1")
}

// readyHeapMax is the most heap address space readied (advised for huge
// pages, prefaulted): enough for ~150k parked tasks; growth beyond it
// gets ordinary pages, faulted in by the allocator.
const readyHeapMax = 256 << 20

const (
	madvPopulateWrite = 23 // MADV_POPULATE_WRITE (Linux 5.14)
	prefaultStep      = 1 << 20
	prefaultMinWindow = 2 << 20
	prefaultMaxWindow = 8 << 20
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
func prefaultHeap(lo, hi uintptr) {
	start := heapInUse()
	next := lo
	pause := time.Millisecond
	for next < hi {
		grown := heapInUse()
		grown -= min(start, grown)
		window := min(max(grown/4, prefaultMinWindow), prefaultMaxWindow)
		if want := min(lo+grown+window, hi); next < want {
			end := min(next+prefaultStep, want)
			if !prefault(next, end) {
				return
			}
			next, pause = end, time.Millisecond
			continue
		}
		// Poll while the heap grows, less often the longer it does not
		// (at least every 64 ms: a heap that grows again may not be
		// collected before it has grown much).
		time.Sleep(pause)
		pause = min(2*pause, 64*time.Millisecond)
	}
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
	type sentinel struct{ _ *int }
	var arm func()
	arm = func() {
		runtime.AddCleanup(new(sentinel), func(struct{}) {
			if heapLive() >= readyHeapAt {
				go f()
				return
			}
			arm()
		}, struct{}{})
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
func prefault(lo, hi uintptr) bool {
	switch madvise(lo, hi, madvPopulateWrite) {
	case 0:
	case unix.EINVAL, unix.EINTR, unix.EAGAIN:
		// The advice is unknown (an older kernel) or was cut short:
		// the touch below does its work, at a fault a page. The range
		// is heap the runtime mapped for reading and writing.
	default:
		// Not mapped as expected (ENOMEM, EFAULT), or the advice is
		// forbidden here (EPERM): touch nothing.
		return false
	}
	touchPages(lo, hi, uintptr(os.Getpagesize()))
	return true
}

// madvise gives advice for the pages of [lo, hi). The range stays two
// uintptrs: it may be free heap, where a Go pointer would be invalid.
func madvise(lo, hi uintptr, advice int) unix.Errno {
	_, _, errno := unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, uintptr(advice))
	return errno
}

// heapInUse is the bytes of heap pages in use: objects, the unused rest
// of their spans, and goroutine stacks.
func heapInUse() uintptr {
	samples := [...]metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
	}
	metrics.Read(samples[:])
	var n uint64
	for _, s := range samples {
		n += s.Value.Uint64()
	}
	return uintptr(n)
}

// freshHeap maps up to size bytes of fresh heap that nothing has touched,
// calls prepare with its range (aligned to huge pages), frees it, so that
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
	// Under a limit on address space (ulimit -v) the object might pass
	// it, and the runtime treats that as fatal too.
	var as unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_AS, &as) != nil || as.Cur != unix.RLIM_INFINITY {
		return 0, 0
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
	hi = (base + size) &^ (hugePage - 1)
	prepare(lo, hi)
	block = strings.Builder{}
	debug.FreeOSMemory()
	return lo, hi
}
