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

// TestPrefaultHeap checks that the heap's growth finds its pages
// resident: as objects fill the fresh range, the pages just above the
// highest of them are resident before anything allocates there; no more
// than the window is resident ahead of the heap; and no object's content
// changed.
func TestPrefaultHeap(t *testing.T) {
	if !prefaultWanted() {
		t.Skip("prefaulting turned off in the environment")
	}
	// Where the heap's next objects go depends on the pages other tests
	// freed below the fresh range (the lowest free pages go first): the
	// check runs in a process of its own, on a heap like coro's at
	// start-up.
	if inOwnProcess(t, "CORO_PREFAULT_TEST_CHILD") {
		return
	}
	lo, hi := freshHeap(readyHeapMax, func(lo, hi uintptr) {})
	if lo == 0 {
		t.Skip("no fresh heap here (address space limited, or strict overcommit)")
	}
	require.Zero(t, resident(t, lo, hi), "making the fresh range touched it")
	go prefaultHeap(lo, hi)

	const mib = 1 << 20
	var keep []*[1024]byte
	top := lo // the highest object in the range, so far
	for step := range 48 {
		for range mib / 1024 {
			b := new([1024]byte)
			for i := range b {
				b[i] = byte((len(keep) + i) % 251)
			}
			keep = append(keep, b)
			if a := uintptr(unsafe.Pointer(b)); a >= lo && a < hi {
				top = max(top, a+1024)
			}
		}
		// The pages above the heap's top become resident by themselves
		// (the window is at least 2 MiB, and how far the heap has grown
		// is known to some hundreds of KiB).
		const above = 256 << 10
		deadline := time.Now().Add(30 * time.Second)
		for resident(t, top, top+above) < above/os.Getpagesize() {
			require.True(t, time.Now().Before(deadline), "step %d: the pages above the heap's top are not resident", step)
			time.Sleep(time.Millisecond)
		}
	}
	require.Greater(t, top, lo+32*mib, "the heap did not grow through the fresh range")
	// What is resident beyond the heap's top is at most the window, the
	// step being made and the estimate's error, given the time to make
	// more.
	runtime.GC()
	time.Sleep(200 * time.Millisecond)
	ahead := uintptr(resident(t, top, hi) * os.Getpagesize())
	assert.LessOrEqual(t, ahead, uintptr(prefaultMaxWindow+prefaultStep+4*mib), "%d MiB resident ahead of the heap", ahead>>20)
	for n, b := range keep {
		for i := range b {
			if b[i] != byte((n+i)%251) {
				t.Fatalf("object %d, byte %d changed", n, i)
			}
		}
	}
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
