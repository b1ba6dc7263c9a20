package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// vma is one mapping of /proc/self/smaps.
type vma struct {
	lo, hi       uintptr
	rss, hugeRSS uint64 // bytes
	flags        []string
}

// mappings parses /proc/self/smaps.
func mappings(t *testing.T) []vma {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	require.NoError(t, err)
	defer f.Close()
	var all []vma
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if r := strings.SplitN(fields[0], "-", 2); len(r) == 2 && !strings.HasSuffix(fields[0], ":") {
			lo, err1 := strconv.ParseUint(r[0], 16, 64)
			hi, err2 := strconv.ParseUint(r[1], 16, 64)
			if err1 == nil && err2 == nil {
				all = append(all, vma{lo: uintptr(lo), hi: uintptr(hi)})
			}
			continue
		}
		if len(all) == 0 || len(fields) < 2 {
			continue
		}
		cur := &all[len(all)-1]
		switch fields[0] {
		case "Rss:":
			n, _ := strconv.ParseUint(fields[1], 10, 64)
			cur.rss = n << 10
		case "AnonHugePages:":
			n, _ := strconv.ParseUint(fields[1], 10, 64)
			cur.hugeRSS = n << 10
		case "VmFlags:":
			cur.flags = fields[1:]
		}
	}
	return all
}

// mappingOf returns the mapping that holds addr.
func mappingOf(t *testing.T, all []vma, addr uintptr) vma {
	t.Helper()
	for _, m := range all {
		if m.lo <= addr && addr < m.hi {
			return m
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return vma{}
}

// inOwnProcess runs test t again in a process of its own (this test
// binary, with the variable env set) and reports true once it passed
// there; in that process it reports false, and the test goes on.
func inOwnProcess(t *testing.T, env string) bool {
	t.Helper()
	if os.Getenv(env) != "" {
		return false
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "--- PASS: "+t.Name(), "%s", out)
	return true
}

// TestAdviseHugePages checks that the advice reaches the heap: the
// advised range is a mapping with the hugepage flag, untouched by the
// advice itself, and the heap's next growth lands in it.
func TestAdviseHugePages(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !strings.Contains(string(mode), "[madvise]") {
		t.Skipf("transparent huge pages are not given on advice here (%q)", mode)
	}
	if godebugSet("disablethp") {
		t.Skip("huge pages turned off in the environment")
	}
	// Where the heap's next objects go depends on the pages other tests
	// freed below the advised range (the lowest free pages go first):
	// the check runs in a process of its own, on a heap like coro's at
	// start-up.
	if inOwnProcess(t, "CORO_HUGEPAGES_TEST_CHILD") {
		return
	}
	// Leave freed memory at the top of the heap, as a collection at
	// start-up might: the object advised may begin in it, and must not
	// be cleared (which would touch all of it).
	freed := make([]byte, 8<<20)
	freed[0] = 1
	freed = nil
	runtime.GC()

	advised := false
	lo, hi := freshHeap(readyHeapMax, func(lo, hi uintptr) { advised = adviseHugePages(lo, hi) })
	require.NotZero(t, lo, "no fresh heap")
	require.True(t, advised, "nothing advised")
	assert.Zero(t, lo%hugePage)
	assert.GreaterOrEqual(t, hi-lo, uintptr(4*hugePage))

	m := mappingOf(t, mappings(t), lo)
	assert.Contains(t, m.flags, "hg", "the advised range lacks the hugepage flag")
	assert.LessOrEqual(t, m.lo, lo)
	assert.GreaterOrEqual(t, m.hi, hi, "the advice split the mapping")
	// The advice itself touches none of it (the object was fresh memory,
	// never cleared); what is resident is what the heap has used since.
	assert.Less(t, m.rss, uint64(hi-lo)/2, "the advised range was touched: %d bytes resident", m.rss)

	// The heap's growth comes from advised memory: the lowest free pages
	// go first, and they are this range's (or, run again, an earlier
	// call's).
	keep := make([]*[1024]byte, 0, 32<<10)
	for range cap(keep) {
		b := new([1024]byte)
		b[0] = 1
		keep = append(keep, b)
	}
	all := mappings(t)
	in, huge := 0, uint64(0)
	for _, b := range keep {
		if m := mappingOf(t, all, uintptr(unsafe.Pointer(b))); slices.Contains(m.flags, "hg") {
			in++
		}
	}
	for _, m := range all {
		if slices.Contains(m.flags, "hg") {
			huge += m.hugeRSS
		}
	}
	assert.Greater(t, in, len(keep)/2, "only %d of %d new objects are in advised memory", in, len(keep))
	t.Logf("advised %d MiB; %d of %d new objects in advised memory; resident in huge pages: %d MiB",
		(hi-lo)>>20, in, len(keep), huge>>20)
}

// TestNoFreshHeapUnderMemoryLimit: a process held to a memory limit
// (GOMEMLIMIT) gets no fresh heap, which would pass the limit for a
// moment and be resident ahead of need once prefaulted.
func TestNoFreshHeapUnderMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 40))
	lo, hi := freshHeap(readyHeapMax, func(lo, hi uintptr) { t.Error("prepared fresh heap") })
	assert.Zero(t, lo)
	assert.Zero(t, hi)
}

// TestNoFreshHeapUnderAddressLimit: under a limit on address space, or
// on writable private memory (which the heap's address space counts
// against), the large object could pass it, which the runtime treats as
// fatal, so nothing is mapped, advised or prefaulted.
func TestNoFreshHeapUnderAddressLimit(t *testing.T) {
	for _, which := range []int{unix.RLIMIT_AS, unix.RLIMIT_DATA} {
		var old unix.Rlimit
		require.NoError(t, unix.Getrlimit(which, &old))
		if old.Cur != unix.RLIM_INFINITY || old.Max != unix.RLIM_INFINITY {
			t.Logf("limit %d already set", which)
			continue
		}
		// Finite, yet far beyond anything this process maps.
		require.NoError(t, unix.Setrlimit(which, &unix.Rlimit{Cur: 1 << 46, Max: old.Max}))
		lo, hi := freshHeap(readyHeapMax, func(lo, hi uintptr) { t.Errorf("limit %d: prepared fresh heap", which) })
		require.NoError(t, unix.Setrlimit(which, &old))
		assert.Zero(t, lo, "limit %d", which)
		assert.Zero(t, hi, "limit %d", which)
	}
}

// TestHugePagesOnlyWhenAsked: coro advises its heap only under
// CORO_HUGEPAGES=1 (on this kind of machine the advice costs more than it
// saves; hugepages.go): a script whose heap grows has no mapping with the
// hugepage flag unless asked.
func TestHugePagesOnlyWhenAsked(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !strings.Contains(string(mode), "[madvise]") {
		t.Skipf("transparent huge pages are not given on advice here (%q)", mode)
	}
	if godebugSet("disablethp") {
		t.Skip("huge pages turned off in the environment")
	}
	script := filepath.Join(t.TempDir(), "grow.star")
	require.NoError(t, os.WriteFile(script, []byte(`
keep = [[i] * 8 for i in range(300000)]
sleep(0.05)  # the advice runs on a goroutine once the collector first ran
keep2 = [[i] * 8 for i in range(300000)]
print(len([l for l in fs.read("/proc/self/smaps").splitlines() if l.startswith("VmFlags:") and " hg" in l]) > 0)
`), 0o644))
	for _, tc := range []struct{ env, want string }{{"", "False\n"}, {"0", "False\n"}, {"1", "True\n"}} {
		cmd := exec.Command(buildCoro(t), script)
		cmd.Env = append(os.Environ(), "CORO_HUGEPAGES="+tc.env)
		var stderr strings.Builder // a slow-loop warning on a loaded machine, say
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "%s", stderr.String())
		assert.Equal(t, tc.want, string(out), "CORO_HUGEPAGES=%q", tc.env)
	}
}
