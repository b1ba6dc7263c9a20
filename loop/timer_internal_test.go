package loop

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The timer heap pops timers by (when, seq) whatever the pushes and
// removals before, and keeps each timer's index true.
func TestTimerHeapOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h timerHeap
	var live []*timer
	seq := uint64(0)
	check := func() {
		for i := range h {
			require.Equal(t, i, h[i].t.index)
			if i > 0 {
				require.False(t, h[i].before(&h[(i-1)/4]), "entry %d precedes its parent", i)
			}
		}
	}
	for round := 0; round < 2000; round++ {
		switch op := r.IntN(10); {
		case op < 6:
			seq++
			tm := &timer{when: time.Duration(r.IntN(50)), seq: seq}
			h.push(tm)
			live = append(live, tm)
		case op < 8 && len(live) > 0:
			k := r.IntN(len(live))
			h.remove(live[k].index)
			require.Equal(t, -1, live[k].index)
			live = slices.Delete(live, k, k+1)
		case len(h) > 0:
			got := h.pop()
			want := slices.MinFunc(live, func(a, b *timer) int {
				if a.when != b.when {
					return int(a.when - b.when)
				}
				return int(a.seq) - int(b.seq)
			})
			require.Same(t, want, got)
			require.Equal(t, -1, got.index)
			live = slices.DeleteFunc(live, func(x *timer) bool { return x == got })
		}
		check()
	}
}
