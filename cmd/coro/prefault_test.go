package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// resident counts the resident pages of [lo, hi) (mincore), lo rounded
// down to a page.
func resident(t *testing.T, lo, hi uintptr) int {
	t.Helper()
	page := uintptr(os.Getpagesize())
	lo &^= page - 1
	vec := make([]byte, (hi-lo+page-1)/page)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, lo, hi-lo, uintptr(unsafe.Pointer(&vec[0])))
	require.Zero(t, errno)
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// TestTouchPages: touching a page maps it and changes none of its bytes.
func TestTouchPages(t *testing.T) {
	page := os.Getpagesize()
	b, err := unix.Mmap(-1, 0, 64*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	require.NoError(t, err)
	defer unix.Munmap(b)
	lo := uintptr(unsafe.Pointer(&b[0]))
	for i := range 8 * page {
		b[i] = byte(i%251 + 1)
	}
	require.Equal(t, 8, resident(t, lo, lo+uintptr(len(b))))

	touchPages(lo, lo+uintptr(len(b)), uintptr(page))
	if runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64" {
		assert.Equal(t, 64, resident(t, lo, lo+uintptr(len(b))))
	}
	for i := range 8 * page {
		if b[i] != byte(i%251+1) {
			t.Fatalf("byte %d changed to %d", i, b[i])
		}
	}
	for i := 8 * page; i < len(b); i++ {
		require.Zero(t, b[i])
	}
}

// prefaultChild reports whether this process is the one to run the
// calling prefault test: in a process of its own (inOwnProcess), where
// the heap's next objects go is not decided by the pages other tests
// freed below the fresh range (the lowest free pages go first). It skips
// where prefaulting is off.
func prefaultChild(t *testing.T) bool {
	t.Helper()
	if !prefaultWanted() {
		t.Skip("prefaulting turned off in the environment")
	}
	return !inOwnProcess(t, "CORO_PREFAULT_TEST_CHILD")
}

// freshRange is freshHeap's range, or a skip where there is none.
func freshRange(t *testing.T) (lo, hi uintptr) {
	t.Helper()
	lo, hi = freshHeap(readyHeapMax, func(lo, hi uintptr) {})
	if lo == 0 {
		t.Skip("no fresh heap here (address space limited, or strict overcommit)")
	}
	return lo, hi
}

// awaitResident waits until the MiB above reached, how far the heap has
// surely reached into the fresh range from lo, is resident.
func awaitResident(t *testing.T, step int, lo, reached uintptr) {
	t.Helper()
	const mib = 1 << 20
	deadline := time.Now().Add(30 * time.Second)
	for resident(t, reached, reached+mib) < mib/os.Getpagesize() {
		require.True(t, time.Now().Before(deadline), "step %d: the MiB above %d MiB into the range is not resident", step, (reached-lo)>>20)
		time.Sleep(time.Millisecond)
	}
}

// TestPrefaultHeap checks that the heap's growth finds its pages
// resident: as objects fill the fresh range, the pages above how far the
// heap has surely reached are made resident before anything allocates
// there, and no object's content changed.
func TestPrefaultHeap(t *testing.T) {
	if !prefaultChild(t) {
		return
	}
	lo, hi := freshRange(t)
	// Nothing touched it but, perhaps, an allocation or two meanwhile.
	require.Less(t, resident(t, lo, hi), 64, "making the fresh range touched it")
	outside := heapOutside(lo, hi)
	go prefaultHeap(lo, hi)

	const mib = 1 << 20
	var keep []*[1024]byte
	for step := range 64 {
		for range mib / 1024 {
			b := new([1024]byte)
			for i := range b {
				b[i] = byte((len(keep) + i) % 251)
			}
			keep = append(keep, b)
		}
		// The heap has surely reached this far into the range (every
		// page in use lies below its frontier); the pages above it
		// become resident by themselves.
		awaitResident(t, step, lo, heapReached(lo, outside))
	}
	in := 0
	for n, b := range keep {
		for i := range b {
			if b[i] != byte((n+i)%251) {
				t.Fatalf("object %d, byte %d changed", n, i)
			}
		}
		if a := uintptr(unsafe.Pointer(b)); a >= lo && a < hi {
			in++
		}
	}
	require.Greater(t, in, len(keep)/4, "the heap did not grow through the fresh range")
}

// TestPrefaultHeapSleepsWhileIdle: once the heap stops growing,
// prefaultHeap stops polling and waits for a collection; a heap that
// grows again (and so is collected) finds its growth prefaulted again.
func TestPrefaultHeapSleepsWhileIdle(t *testing.T) {
	if !prefaultChild(t) {
		return
	}
	lo, hi := freshRange(t)
	asleep := make(chan struct{}, 1)
	wait := awaitCollection
	awaitCollection = func() {
		select {
		case asleep <- struct{}{}:
		default:
		}
		wait()
	}
	outside := heapOutside(lo, hi)
	go prefaultHeap(lo, hi)
	select {
	case <-asleep:
	case <-time.After(30 * time.Second):
		t.Fatal("prefaultHeap went on polling a heap that does not grow")
	}
	// The heap grows again, and is collected as it does: that wakes it,
	// and the pages above how far the heap has surely reached become
	// resident.
	const mib = 1 << 20
	var keep []*[1024]byte
	for step := range 32 {
		for range mib / 1024 {
			keep = append(keep, new([1024]byte))
		}
		runtime.GC()
		reached := heapReached(lo, outside)
		if reached+mib > hi {
			break
		}
		awaitResident(t, step, lo, reached)
	}
	runtime.KeepAlive(keep)
}

// TestPrefaultHeapFillsHolesFirst: a heap whose growth fills free pages
// below the fresh range first gets no more resident in the range than
// it uses there, the window, a step and the slack (QA: a 120 MiB hole
// left 135 MiB resident in the range for good).
func TestPrefaultHeapFillsHolesFirst(t *testing.T) {
	if !prefaultChild(t) {
		return
	}
	const mib = 1 << 20
	page := uintptr(os.Getpagesize())
	hole := make([]byte, 64*mib)
	for i := uintptr(0); i < uintptr(len(hole)); i += page {
		hole[i] = 1
	}
	pin := make([]byte, mib) // above the hole, so that the fresh range cannot begin in it
	hole = nil
	runtime.GC()
	lo, hi := freshRange(t)
	go prefaultHeap(lo, hi)
	var keep [][]byte
	for range 48 {
		for range mib / 4096 {
			keep = append(keep, make([]byte, 4096))
		}
		time.Sleep(2 * time.Millisecond) // time for the prefaulting to go too far
	}
	time.Sleep(200 * time.Millisecond)
	pages := map[uintptr]bool{} // the range's pages the heap's objects use
	for _, b := range keep {
		if a := uintptr(unsafe.Pointer(&b[0])); a >= lo && a < hi {
			for p := a &^ (page - 1); p < a+uintptr(len(b)); p += page {
				pages[p] = true
			}
		}
	}
	made := uintptr(resident(t, lo, hi)) * page
	extra := made - min(made, uintptr(len(pages))*page)
	assert.LessOrEqual(t, extra, uintptr(prefaultMaxWindow+prefaultStep+prefaultSlack+mib),
		"%d MiB resident in the fresh range beyond the %d MiB its objects use", extra>>20, uintptr(len(pages))*page>>20)
	runtime.KeepAlive(keep)
	runtime.KeepAlive(pin)
}

// TestPrefaultRefused: pages the advice cannot map (not readable and
// writable, as GODEBUG=harddecommit leaves freed heap; not mapped at
// all) are left alone, not touched, which would be a fatal fault.
func TestPrefaultRefused(t *testing.T) {
	page := os.Getpagesize()
	b, err := unix.Mmap(-1, 0, 16*page, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON)
	require.NoError(t, err)
	lo, mid := uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&b[8*page]))
	assert.False(t, prefault(lo, mid), "inaccessible pages")
	_, _, errno := unix.Syscall(unix.SYS_MUNMAP, mid, uintptr(8*page), 0)
	require.Zero(t, errno)
	assert.False(t, prefault(mid, mid+uintptr(8*page)), "unmapped pages")
	_, _, errno = unix.Syscall(unix.SYS_MUNMAP, lo, uintptr(8*page), 0)
	require.Zero(t, errno)
}

// TestPrefaultWanted: prefaulting is on unless CORO_PREFAULT=0 or the
// runtime may make freed heap inaccessible.
func TestPrefaultWanted(t *testing.T) {
	for _, tc := range []struct {
		prefault, godebug string
		want              bool
	}{
		{"", "", true},
		{"1", "", true},
		{"0", "", false},
		{"", "harddecommit=1", false},
		{"", "gctrace=1,efence=1", false},
		{"", "gctrace=1", true},
		{"", "harddecommit=2", false},
		{"", "harddecommit=01", false},
		{"", "efence=2,gctrace=1", false},
		{"", "harddecommit=0", true},
		{"", "harddecommit=00,efence=0", true},
	} {
		t.Setenv("CORO_PREFAULT", tc.prefault)
		t.Setenv("GODEBUG", tc.godebug)
		assert.Equal(t, tc.want, prefaultWanted(), "CORO_PREFAULT=%q GODEBUG=%q", tc.prefault, tc.godebug)
	}
}

// TestWhenHeapGrows: the heap's growth is readied after a collection
// that leaves enough live, not before, and not after one that leaves
// little (the garbage of a computation).
func TestWhenHeapGrows(t *testing.T) {
	// No collection but the test's own.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.GC()
	if heapLive() >= readyHeapAt/2 {
		t.Skipf("the test binary already holds %d KiB live", heapLive()>>10)
	}
	grew := make(chan struct{}, 1)
	whenHeapGrows(func() { grew <- struct{}{} })
	garbage := make([]byte, 2*readyHeapAt)
	garbage[0] = 1
	garbage = nil
	runtime.GC()
	select {
	case <-grew:
		t.Fatal("readied after a collection that left little live")
	case <-time.After(50 * time.Millisecond):
	}
	live := make([]byte, 2*readyHeapAt)
	live[0] = 1
	runtime.GC()
	select {
	case <-grew:
	case <-time.After(10 * time.Second):
		t.Fatal("not readied after a collection that left much live")
	}
	runtime.KeepAlive(live)
}

// BenchmarkSpawnPrefault runs the command on a script that spawns 100k
// tasks parked in sleep (the heap grows by ~150 MiB), with prefaulting
// off and on: one op is one run of the process.
func BenchmarkSpawnPrefault(b *testing.B) {
	bin := buildCoro(b)
	script := filepath.Join(b.TempDir(), "spawn.star")
	require.NoError(b, os.WriteFile(script, []byte(`
def w(i):
    sleep(0.05)
join(*[spawn(w, i) for i in range(100000)])
`), 0o644))
	for _, env := range []string{"0", "1"} {
		b.Run("CORO_PREFAULT="+env, func(b *testing.B) {
			for range b.N {
				cmd := exec.Command(bin, script)
				cmd.Env = append(os.Environ(), "CORO_PREFAULT="+env)
				out, err := cmd.CombinedOutput()
				require.NoError(b, err, "%s", out)
			}
		})
	}
}
