package loop

import "sync/atomic"

// A waitList is a FIFO of registrations: what a source (a channel's
// senders or receivers, a task's, future's or timer's waiters, a lock's
// queue) keeps of the wakers that wait on it. Every wait queue of the
// loop and of the sync module is one, so that what follows holds for
// all of them.
//
// Removing a registration costs O(1) amortised. A wait that ends
// otherwise than through a source (a select whose other case won, a
// timeout, a cancellation) must leave that source's queue, and finding
// its entry was a scan of the whole queue: with N workers in
// select(jobs, quit), each job woke one and scanned quit's N entries
// (16k workers, 32k jobs: 5 s), and N timed waits expiring together
// took N²/2 steps. Instead, the entry of a waker that accepts nothing
// more (spent: a Waiter that fired) is left in place, dead, and only
// counted; taking and scanning skip dead entries (a waker is asked
// Accepts before it is given anything, which select's exactly-one rests
// on anyway), and once the removals counted since the last compaction
// pass half the entries, the dead ones are dropped in one pass that
// keeps the order of the rest. A compaction visits at most twice as
// many entries as removals paid for it, and after a removal at most
// half the entries are dead.
//
// Leaving an entry behind is sound only because a spent waker stays
// spent: a Waiter is never made to accept again while an entry of it may
// be left in some queue (getWaiter's pool and retryWait take back only
// waiters whose every entry was taken). A waker that still accepts (a
// registration given up before its wait ended) is removed at once, by a
// scan.
type waitList[E registration] struct {
	items []E
	head  int32 // items[:head] were taken
	dead  int32 // lazy removals since the last compaction
}

// A registration is an entry of a waitList: a wakerEntry, or one that
// holds more (a channel's sudog).
type registration interface{ wakerEntry | sudog }

// A wakerEntry is a waker registered for case index of its wait.
type wakerEntry struct {
	w     Waker
	index int
}

// entry returns the wakerEntry of e (a type switch the compiler
// resolves cheaply, where a method of E would be an indirect call).
func entry[E registration](e *E) *wakerEntry {
	if s, ok := any(e).(*sudog); ok {
		return &s.wakerEntry
	}
	return any(e).(*wakerEntry)
}

// live reports whether e's waker still wants an outcome for it.
func live[E registration](e *E) bool {
	we := entry(e)
	return we.w.Accepts(we.index)
}

// spent reports whether w will accept nothing more, so that its entries
// may be left for compaction. Only the loop's one-shot wakers say so; any
// other is removed eagerly.
func spent(w Waker) bool {
	switch w := w.(type) {
	case *Waiter:
		return w.fired
	case *joinGroup:
		return w.w.fired
	}
	return false
}

// visits, if set (by a test), counts the entries that waitList
// operations look at: the measure of their cost TestWaitListWorkIsLinear
// asserts, where a clock would measure the machine.
var visits *atomic.Int64

func visited(n int) {
	if v := visits; v != nil {
		v.Add(int64(n))
	}
}

// init makes the list start with buf's room (a Task's first watcher).
func (q *waitList[E]) init(buf []E) { q.items, q.head, q.dead = buf[:0], 0, 0 }

// len returns the number of entries held, dead ones included.
func (q *waitList[E]) len() int { return len(q.items) - int(q.head) }

// push appends e. The taken entries at the front are reused once they
// are at least half the array (moving the rest costs no more than the
// takes that freed them), else the array grows.
func (q *waitList[E]) push(e E) {
	if len(q.items) == cap(q.items) && q.head > 0 && int(q.head) >= len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		visited(n)
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, e)
}

// pop removes and returns the first entry that is live, dropping dead
// ones before it.
func (q *waitList[E]) pop() (e E, ok bool) {
	if int(q.head) < len(q.items) { // inlined: most pops find nobody
		e, ok = q.take()
	}
	return e, ok
}

// take is pop of a list that holds entries.
func (q *waitList[E]) take() (E, bool) {
	var zero E
	for int(q.head) < len(q.items) {
		e := q.items[q.head]
		q.items[q.head] = zero
		q.head++
		visited(1)
		if int(q.head) == len(q.items) {
			q.items, q.head, q.dead = q.items[:0], 0, 0
		}
		if we := entry(&e); we.w.Accepts(we.index) { // live, inlined
			return e, true
		}
	}
	return zero, false
}

// remove drops an entry of w, lazily if w is spent (else every entry of
// w, at once). The waits that end otherwise than through the list call
// it once for each entry they made (Dequeue), so each call counts one.
// An entry at either end, the usual case (a select's entry alone in its
// queue, or the latest), goes at once.
func (q *waitList[E]) remove(w Waker) {
	n := q.len()
	switch {
	case n == 0:
		return // the usual end of a wait woken through this list
	case !spent(w):
		q.removeNow(w)
		return
	case entry(&q.items[len(q.items)-1]).w == w:
		var zero E
		q.items[len(q.items)-1] = zero
		q.items = q.items[:len(q.items)-1]
	case entry(&q.items[q.head]).w == w:
		var zero E
		q.items[q.head] = zero
		q.head++
	default:
		q.dead++
	}
	if q.len() == 0 {
		q.items, q.head, q.dead = q.items[:0], 0, 0
	} else if int(q.dead) > q.len()/2 {
		q.compact()
	}
}

// removeNow drops every entry of w at once, and the dead ones with them.
func (q *waitList[E]) removeNow(w Waker) {
	q.filter(func(e *E) bool { return entry(e).w != w && live(e) })
}

// compact drops the dead entries.
func (q *waitList[E]) compact() { q.filter(live[E]) }

// filter keeps the entries for which keep is true, in order, at the
// front of the array; an array mostly empty now is let go for a smaller
// one (a burst of waiters that timed out leaves no large array behind).
func (q *waitList[E]) filter(keep func(*E) bool) {
	rest := q.items[q.head:]
	visited(len(rest))
	out, fresh := q.items[:0], false
	if c := cap(q.items); c > 64 && 4*len(rest) < c {
		out, fresh = make([]E, 0, 2*len(rest)), true
	}
	for i := range rest {
		if keep(&rest[i]) {
			out = append(out, rest[i]) // in place, never past rest[i]
		}
	}
	if !fresh {
		clear(q.items[len(out):])
	}
	q.items, q.head, q.dead = out, 0, 0
}

// waiting reports whether some entry is live.
func (q *waitList[E]) waiting() bool {
	for i := int(q.head); i < len(q.items); i++ {
		visited(1)
		if live(&q.items[i]) {
			return true
		}
	}
	return false
}

// takeAll empties the list and returns its entries, for a broadcast to
// complete; reuse may give the array back once it has.
func (q *waitList[E]) takeAll() []E {
	all := q.items[q.head:]
	q.items, q.head, q.dead = nil, 0, 0
	visited(len(all))
	return all
}

// reuse keeps all, the array takeAll returned, for the next
// registrations if it is small (a connection's reader registers once
// per message) and none came meanwhile; a large one (an event thousands
// waited on) is let go.
func (q *waitList[E]) reuse(all []E) {
	if q.items == nil && cap(all) <= 8 {
		clear(all)
		q.items = all[:0]
	}
}
