package main

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Huge pages for the heap.
//
// A script that holds many tasks touches much fresh heap at once: 100k
// tasks parked in sleep take ~150 MiB. The kernel backs fresh memory one
// 4 KiB page at a time, a fault each, and on the virtual machines coro
// runs on a fault costs ~10 µs: they were three quarters of the time it
// takes to spawn 100k tasks. Backed by 2 MiB transparent huge pages, the
// same memory takes 512 times fewer faults; the spawn phase of 100k tasks
// falls from ~0.45 s to ~0.17 s.
//
// Go does not ask for huge pages for its heap (Go 1.21.0 did, and later
// releases stopped), and most kernels give them only where asked
// (transparent_hugepage/enabled is "madvise"). Advice must come before a
// page's first touch, and the runtime maps heap address space only as
// the heap grows, replacing any advice given to it earlier. So the
// advice goes to fresh heap that nothing has touched, the range the
// heap's next growth comes from (freshHeap, prefault.go). Its pages are
// never touched here: RSS grows only as the heap does, in 2 MiB steps
// instead of 4 KiB ones.
//
// The cost: a heap that shrinks after a peak may keep more of it
// resident, since khugepaged may refill a partly released huge page;
// readyHeapMax bounds that.
//
// It is off unless CORO_HUGEPAGES=1 asks for it. On the virtual machines
// coro is measured on, memory a process frees goes back to the host a
// few seconds later (free page reporting, which reports free blocks of 2
// MiB, exactly what a huge page takes), and touching it again costs a
// fault on the host too. Run back to back, spawning 100k tasks took 0.2 s
// with huge pages against 0.27 s without; run as programs usually are,
// after other work (the benchmark harness runs its peers in between), it
// took 0.38-0.45 s with them against 0.24-0.27 s without, and 100k
// timers 1.42 s against 1.23 s. Go's own GODEBUG=disablethp=1 keeps it
// off even when asked.

const hugePage = 2 << 20

// hugePagesWanted reports whether the run asked for huge pages
// (CORO_HUGEPAGES=1).
func hugePagesWanted() bool { return os.Getenv("CORO_HUGEPAGES") == "1" }

// adviseHugePages advises the heap range [lo, hi), fresh and untouched
// (freshHeap), to use transparent huge pages when the system gives them
// on advice, and reports whether it did.
func adviseHugePages(lo, hi uintptr) bool {
	if godebugSet("disablethp") {
		return false
	}
	// "always" needs no advice and "never" ignores it.
	if mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || !strings.Contains(string(mode), "[madvise]") {
		return false
	}
	return madvise(lo, hi, unix.MADV_HUGEPAGE) == 0
}
