// Copyright 2017 The Bazel Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package starlark

import (
	"fmt"
	"hash/maphash"
	"math/big"
	"os"
	"unsafe"

	"github.com/corolang/coro/starlark/syntax"
)

// hashtable is used to represent Starlark dict and set values.
// It is a hash table whose key/value entries form a doubly-linked list
// in the order the entries were inserted.
//
// A large table grows incrementally, as Go's maps did before Swiss
// tables (coro patch, ORIGIN 52): when it is overloaded, it allocates
// a table twice the size and keeps the old one (oldTable), and each
// insertion or deletion then moves a few of the old table's buckets
// (moveSome). A key whose old bucket has not moved yet is in the old
// table (chain). Upstream rehashed every entry in the one insertion
// that found the table overloaded: for a dict of millions of entries,
// a Go call of a second, deaf to the step limit and to Cancel.
//
// Initialized instances of hashtable must not be copied.
type hashtable struct {
	// (coro patch, ORIGIN 52: bucket0 first, so that its link, which
	// tells a grow under way, shares a cache line with the fields after
	// it.)
	bucket0   [1]bucket // inline allocation for small maps.
	table     []bucket  // len is zero or a power of two
	len       uint32
	itercount uint32  // number of active iterators (ignored if frozen)
	head      *entry  // insertion order doubly-linked list; may be nil
	tailLink  **entry // address of nil link at end of list (perhaps &head)
	moved     uint32  // buckets of oldTable moved to table (coro patch, ORIGIN 52)
	frozen    bool

	_ noCopy // triggers vet copylock check on this type.
}

// noCopy is zero-sized type that triggers vet's copylock check.
// See https://github.com/golang/go/issues/8005#issuecomment-190753527.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

const bucketSize = 8

type bucket struct {
	entries [bucketSize]entry
	next    *bucket // linked list of buckets
}

type entry struct {
	hash       uint32 // nonzero => in use
	key, value Value
	next       *entry  // insertion order doubly-linked list; may be nil
	prevLink   **entry // address of link to this entry (perhaps &head)
}

func (ht *hashtable) init(size int) {
	if size < 0 {
		panic("size < 0")
	}
	nb := 1
	for overloaded(size, nb) {
		nb = nb << 1
	}
	if nb < 2 {
		ht.table = ht.bucket0[:1]
	} else {
		ht.table = make([]bucket, nb)
	}
	ht.tailLink = &ht.head
}

func (ht *hashtable) freeze() {
	if !ht.frozen {
		ht.frozen = true
		// A frozen table never changes again, so a grow under way
		// would never end: finish it (coro patch, ORIGIN 52). Not while
		// the table is iterated or held (a lookup comparing keys with
		// a thread may be what froze it): they point into its buckets.
		// Such a table keeps both (lookups need no move).
		if ht.itercount == 0 {
			ht.moveAll()
		}
		for e := ht.head; e != nil; e = e.next {
			e.key.Freeze()
			e.value.Freeze()
		}
	}
}

func (ht *hashtable) insert(thread *Thread, k, v Value) error {
	if err := ht.checkMutable("insert into"); err != nil {
		return err
	}
	if ht.table == nil {
		ht.init(1)
	}
	h, err := k.Hash()
	if err != nil {
		return err
	}
	if h == 0 {
		h = 1 // zero is reserved
	}
	if ht.growing() {
		ht.moveSome() // coro patch, ORIGIN 52
	}

	c := Comparer{thread: thread}
retry:
	var insert *entry

	// Inspect each bucket in the bucket list.
	p := &ht.table[h&(uint32(len(ht.table)-1))]
	if ht.growing() {
		p = ht.chain(h) // coro patch, ORIGIN 52
	}
	for {
		for i := range p.entries {
			e := &p.entries[i]
			if e.hash != h {
				if e.hash == 0 {
					// Found empty entry; make a note.
					insert = e
				}
				continue
			}
			if eq, err := ht.keyEqual(&c, "insert into", k, e.key); err != nil {
				return err // e.g. excessively recursive tuple
			} else if !eq {
				continue
			}
			// Key already present; update value.
			e.value = v
			return nil
		}
		if p.next == nil {
			break
		}
		p = p.next
	}

	// Key not found.  p points to the last bucket.

	// Does the number of elements exceed the buckets' load factor?
	if overloaded(int(ht.len), len(ht.table)) {
		ht.grow()
		goto retry
	}

	if insert == nil {
		// No space in existing buckets.  Add a new one to the bucket list.
		b := new(bucket)
		p.next = b
		insert = &b.entries[0]
	}

	// Insert key/value pair.
	insert.hash = h
	insert.key = k
	insert.value = v

	// Append entry to doubly-linked list.
	insert.prevLink = ht.tailLink
	*ht.tailLink = insert
	ht.tailLink = &insert.next

	ht.len++

	return nil
}

func overloaded(elems, buckets int) bool {
	const loadFactor = 6.5 // just a guess
	return elems >= bucketSize && float64(elems) >= loadFactor*float64(buckets)
}

// Growing incrementally (coro patch, ORIGIN 52).
const (
	// minIncrementalGrow is the size of the smallest table whose grow
	// is incremental. A smaller table moves at once, at most 832
	// entries (some tens of microseconds).
	minIncrementalGrow = 256

	// movePerChange is the number of old buckets (each with its chain
	// of overflow buckets) an insertion or deletion moves while a grow
	// is under way. Every move ends before the table is overloaded
	// again: the table of n old buckets grew at the first insertion of
	// a key that found 6.5n entries or more, each earlier insertion
	// having found fewer, so it then held fewer than 6.5n+1 entries.
	// The next grow is due at 6.5·2n = 13n entries, more than 6.5n-1
	// insertions later, and these move 2·(6.5n-1) = 13n-2 >= n buckets
	// (one a change would do: 6.5n-1 >= n for any n >= 1). With two,
	// the old table is gone after n/2 insertions, when the table has
	// grown by some 8%: lookups look at one table again and its memory
	// is freed.
	movePerChange = 2
)

// grow doubles the number of buckets. A small table moves its entries
// at once; a large one starts moving them (coro patch, ORIGIN 52), the
// rest moving with later insertions and deletions (moveSome). Upstream
// re-inserted every entry at once, recomputing hashes.
func (ht *hashtable) grow() {
	ht.moveAll() // there is no move under way (see movePerChange)
	old := ht.table
	ht.table = make([]bucket, len(old)<<1)
	if len(old) < minIncrementalGrow {
		for i := range old {
			ht.moveBucket(old, uint32(i))
		}
		ht.bucket0[0] = bucket{} // clear out unused initial bucket
		return
	}
	ht.bucket0[0].next = &old[0] // see oldTable
}

// oldTable returns the table a grow under way moves from, half the size
// of table, whose buckets below ht.moved have moved; or nil (coro patch, ORIGIN 52). It is kept in the link of bucket0, which
// a table that has grown out of it leaves empty: a field of its own
// would make a dict or a set 576 bytes where it is 512, a size class.
// (bucket0's link is nil while it is the table, as 8 entries fill it
// and the ninth makes the table grow.)
func (ht *hashtable) oldTable() []bucket {
	if !ht.growing() {
		return nil
	}
	return unsafe.Slice(ht.bucket0[0].next, len(ht.table)/2)
}

// growing reports whether a grow is under way (see oldTable).
func (ht *hashtable) growing() bool { return ht.bucket0[0].next != nil }

// chain returns, while a grow is under way, the first bucket of the
// chain that holds the key of hash h if the table has it: the key's old
// bucket until it has moved (coro patch, ORIGIN 52). Otherwise that is
// &ht.table[h&(len(ht.table)-1)], which callers compute inline (chain
// is too large to inline).
func (ht *hashtable) chain(h uint32) *bucket {
	if old := ht.oldTable(); old != nil {
		if i := h & uint32(len(old)-1); i >= ht.moved {
			return &old[i]
		}
	}
	return &ht.table[h&uint32(len(ht.table)-1)]
}

// moveSome moves the next movePerChange buckets of the old table, or
// what is left of them, while a grow is under way. Moving compares no
// keys and calls no Starlark code: it runs at the start of an
// insertion or deletion, so no one holds a pointer into the buckets
// (they would make the change fail).
func (ht *hashtable) moveSome() {
	old := ht.oldTable()
	for range movePerChange {
		ht.moveBucket(old, ht.moved)
		ht.moved++
		if int(ht.moved) == len(old) {
			ht.bucket0[0].next, ht.moved = nil, 0 // done
			return
		}
	}
}

// moveAll ends a grow under way, if any.
func (ht *hashtable) moveAll() {
	for ht.growing() {
		ht.moveSome()
	}
}

// moveBucket moves the entries of bucket i of old (the table half the
// size of table) and its chain to buckets i and i+len(old) of the
// table. Those two hold nothing yet: a key goes
// to the new table only once its old bucket has moved (chain). A moved
// entry is at a new address, so the insertion-order list is relinked
// to it: its predecessor's link (or head) and its successor's prevLink
// (or tailLink).
func (ht *hashtable) moveBucket(old []bucket, i uint32) {
	n := uint32(len(old))
	type dest struct {
		b *bucket
		i int // next free entry of b
	}
	dst := [2]dest{{b: &ht.table[i]}, {b: &ht.table[i+n]}}
	for p := &old[i]; p != nil; p = p.next {
		for j := range p.entries {
			e := &p.entries[j]
			if e.hash == 0 {
				continue
			}
			d := &dst[0]
			if e.hash&n != 0 {
				d = &dst[1]
			}
			if d.i == bucketSize {
				b := new(bucket)
				d.b.next = b
				*d = dest{b: b}
			}
			ne := &d.b.entries[d.i]
			d.i++
			// (Field by field: *ne = *e copies with the slower bulk
			// write barrier while the GC runs.)
			ne.hash, ne.key, ne.value, ne.next, ne.prevLink = e.hash, e.key, e.value, e.next, e.prevLink
			*ne.prevLink = ne
			if ne.next == nil {
				ht.tailLink = &ne.next
			} else {
				ne.next.prevLink = &ne.next
			}
		}
	}
	// The moved entries stay as they were (clearing them costs a write
	// barrier per pointer while the GC runs): no one reads a moved
	// bucket, and the old table goes when the move ends. Its overflow
	// buckets go now.
	old[i].next = nil
}

func (ht *hashtable) lookup(thread *Thread, k Value) (v Value, found bool, err error) {
	h, err := k.Hash()
	if err != nil {
		return nil, false, err // unhashable
	}
	if h == 0 {
		h = 1 // zero is reserved
	}
	if ht.table == nil {
		return None, false, nil // empty
	}

	// Inspect each bucket in the bucket list.
	c := Comparer{thread: thread}
	p := &ht.table[h&(uint32(len(ht.table)-1))]
	if ht.growing() {
		p = ht.chain(h) // coro patch, ORIGIN 52
	}
	for ; p != nil; p = p.next {
		for i := range p.entries {
			e := &p.entries[i]
			if e.hash == h {
				if eq, err := ht.keyEqual(&c, "", k, e.key); err != nil {
					return nil, false, err // e.g. excessively recursive tuple
				} else if eq {
					return e.value, true, nil // found
				}
			}
		}
	}
	return None, false, nil // not found
}

// count returns the number of distinct elements of iter that are elements of ht.
func (ht *hashtable) count(thread *Thread, iter Iterator) (int, error) {
	if ht.table == nil {
		return 0, nil // empty
	}

	var k Value
	count := 0

	// Use a bitset per table entry to record seen elements of ht.
	// Elements are identified by their bucket number and index within the bucket.
	// Each bitset gets one word initially, but may grow.
	storage := make([]big.Word, len(ht.table))
	bitsets := make([]big.Int, len(ht.table))
	for i := range bitsets {
		bitsets[i].SetBits(storage[i : i+1 : i+1])
	}
	c := Comparer{thread: thread}
	for iter.Next(&k) && count != int(ht.len) {
		h, err := k.Hash()
		if err != nil {
			return 0, err // unhashable
		}
		if h == 0 {
			h = 1 // zero is reserved
		}

		// Inspect each bucket in the bucket list.
		bucketId := h & (uint32(len(ht.table) - 1))
		p := &ht.table[bucketId]
		if ht.growing() {
			// The key's old bucket, until it has moved. The table's
			// buckets its entries go to are empty meanwhile, so the
			// bitsets of those serve (coro patch, ORIGIN 52).
			p = ht.chain(h)
		}
		i := 0
		for ; p != nil; p = p.next {
			for j := range p.entries {
				e := &p.entries[j]
				if e.hash == h {
					if eq, err := ht.keyEqual(&c, "", k, e.key); err != nil {
						return 0, err
					} else if eq {
						bitIndex := i<<3 + j
						if bitsets[bucketId].Bit(bitIndex) == 0 {
							bitsets[bucketId].SetBit(&bitsets[bucketId], bitIndex, 1)
							count++
						}
					}
				}
			}
			i++
		}
	}

	return count, nil
}

// Items returns all the items in the map (as key/value pairs) in insertion order.
func (ht *hashtable) items() []Tuple {
	items := make([]Tuple, 0, ht.len)
	array := make([]Value, ht.len*2) // allocate a single backing array
	for e := ht.head; e != nil; e = e.next {
		pair := Tuple(array[:2:2])
		array = array[2:]
		pair[0] = e.key
		pair[1] = e.value
		items = append(items, pair)
	}
	return items
}

func (ht *hashtable) first() (Value, bool) {
	if ht.head != nil {
		return ht.head.key, true
	}
	return None, false
}

func (ht *hashtable) keys() []Value {
	keys := make([]Value, 0, ht.len)
	for e := ht.head; e != nil; e = e.next {
		keys = append(keys, e.key)
	}
	return keys
}

func (ht *hashtable) delete(thread *Thread, k Value) (v Value, found bool, err error) {
	if err := ht.checkMutable("delete from"); err != nil {
		return nil, false, err
	}
	if ht.table == nil {
		return None, false, nil // empty
	}
	h, err := k.Hash()
	if err != nil {
		return nil, false, err // unhashable
	}
	if h == 0 {
		h = 1 // zero is reserved
	}
	if ht.growing() {
		ht.moveSome() // coro patch, ORIGIN 52
	}

	// Inspect each bucket in the bucket list.
	c := Comparer{thread: thread}
	p := &ht.table[h&(uint32(len(ht.table)-1))]
	if ht.growing() {
		p = ht.chain(h) // coro patch, ORIGIN 52
	}
	for ; p != nil; p = p.next {
		for i := range p.entries {
			e := &p.entries[i]
			if e.hash == h {
				if eq, err := ht.keyEqual(&c, "delete from", k, e.key); err != nil {
					return nil, false, err
				} else if eq {
					// Remove e from doubly-linked list.
					*e.prevLink = e.next
					if e.next == nil {
						ht.tailLink = e.prevLink // deletion of last entry
					} else {
						e.next.prevLink = e.prevLink
					}

					v := e.value
					*e = entry{}
					ht.len--
					return v, true, nil // found
				}
			}
		}
	}

	// TODO(adonovan): opt: remove completely empty bucket from bucket list.

	return None, false, nil // not found
}

// keyEqual reports whether k equals key, the key of an entry with k's
// hash, for a lookup (verb "") or for an insertion or deletion (verb as
// checkMutable takes it) that compares with c (coro patch, ORIGIN 36).
//
// With a thread, comparing two tuples costs a step per element pair, so
// a time slice can end inside the comparison and other tasks run. The
// table is held meanwhile (hold): they cannot change it under the
// caller, which is walking its buckets. They may still freeze it or
// start iterating it, so an insertion or deletion checks again that it
// may change the table.
func (ht *hashtable) keyEqual(c *Comparer, verb string, k, key Value) (bool, error) {
	if k, ok := k.(String); ok {
		return k == key, nil // fast path for an important special case
	}
	if eq, fast := compareSmallInts(syntax.EQL, k, key); fast {
		return eq, nil
	}
	if c.thread == nil {
		return c.compare(syntax.EQL, k, key, CompareLimit)
	}
	release := ht.hold()
	eq, err := c.compare(syntax.EQL, k, key, CompareLimit)
	release()
	if err == nil && verb != "" {
		err = ht.checkMutable(verb)
	}
	return eq, err
}

// checkMutable reports an error if the hash table should not be mutated.
// verb+" dict" should describe the operation.
// hold marks the table as iterated until the returned function runs, as
// holdList does for a list (the table of a dict or a set).
func (ht *hashtable) hold() func() {
	if ht.frozen {
		return func() {}
	}
	ht.itercount++
	return func() { ht.itercount-- }
}

func (ht *hashtable) checkMutable(verb string) error {
	if ht.frozen {
		return fmt.Errorf("cannot %s frozen hash table", verb)
	}
	if ht.itercount > 0 {
		return fmt.Errorf("cannot %s hash table during iteration", verb)
	}
	return nil
}

func (ht *hashtable) clear() error {
	if err := ht.checkMutable("clear"); err != nil {
		return err
	}
	if ht.table != nil {
		for i := range ht.table {
			ht.table[i] = bucket{}
		}
	}
	ht.bucket0[0].next, ht.moved = nil, 0 // drop a move under way (coro patch, ORIGIN 52)
	ht.head = nil
	ht.tailLink = &ht.head
	ht.len = 0
	return nil
}

// addAll inserts other's entries, a step each with thread (coro patch,
// ORIGIN 36). other counts as iterated meanwhile (ORIGIN 52): a task
// that runs at a step must not change it under the walk (an insertion
// may move its entries). Adding a table to itself changes nothing, and
// its insertions would move the entries being walked.
func (ht *hashtable) addAll(thread *Thread, other *hashtable) error {
	if other == ht {
		return ht.checkMutable("insert into")
	}
	defer other.hold()()
	for e := other.head; e != nil; e = e.next {
		if err := thread.Step(); err != nil {
			return err
		}
		if err := ht.insert(thread, e.key, e.value); err != nil {
			return err
		}
	}
	return nil
}

// dump is provided as an aid to debugging.
func (ht *hashtable) dump() {
	fmt.Fprintf(os.Stderr, "hashtable %p len=%d head=%p tailLink=%p",
		ht, ht.len, ht.head, ht.tailLink)
	if ht.tailLink != nil {
		fmt.Fprintf(os.Stderr, " *tailLink=%p", *ht.tailLink)
	}
	fmt.Fprintln(os.Stderr)
	old := ht.oldTable() // (ORIGIN 52)
	if old != nil {
		fmt.Fprintf(os.Stderr, "grow under way: %d of %d old buckets moved\n", ht.moved, len(old))
	}
	for j := range len(ht.table) + len(old) {
		fmt.Fprintf(os.Stderr, "bucket chain %d\n", j)
		var p *bucket
		if j < len(ht.table) {
			p = &ht.table[j]
		} else {
			p = &old[j-len(ht.table)]
		}
		for ; p != nil; p = p.next {
			fmt.Fprintf(os.Stderr, "bucket %p\n", p)
			for i := range p.entries {
				e := &p.entries[i]
				fmt.Fprintf(os.Stderr, "\tentry %d @ %p hash=%d key=%v value=%v\n",
					i, e, e.hash, e.key, e.value)
				fmt.Fprintf(os.Stderr, "\t\tnext=%p &next=%p prev=%p",
					e.next, &e.next, e.prevLink)
				if e.prevLink != nil {
					fmt.Fprintf(os.Stderr, " *prev=%p", *e.prevLink)
				}
				fmt.Fprintln(os.Stderr)
			}
		}
	}
}

func (ht *hashtable) iterate() *keyIterator {
	if !ht.frozen {
		ht.itercount++
	}
	return &keyIterator{ht: ht, e: ht.head}
}

type keyIterator struct {
	ht *hashtable
	e  *entry
}

func (it *keyIterator) Next(k *Value) bool {
	if it.e != nil {
		*k = it.e.key
		it.e = it.e.next
		return true
	}
	return false
}

func (it *keyIterator) Done() {
	if !it.ht.frozen {
		it.ht.itercount--
	}
}

// entries is a go1.23 iterator over the entries of the hash table.
func (ht *hashtable) entries(yield func(k, v Value) bool) {
	if !ht.frozen {
		ht.itercount++
		defer func() { ht.itercount-- }()
	}
	for e := ht.head; e != nil && yield(e.key, e.value); e = e.next {
	}
}

var seed = maphash.MakeSeed()

// hashString computes the hash of s, with the process's seed: the Go
// runtime's hash, which uses the AES instructions on amd64 and arm64
// machines. (coro patch, ORIGIN 61: upstream hashed strings shorter than
// 12 bytes with FNV-1a, the same in every process, so a client could
// send JSON object keys that all fell in one bucket chain of a dict;
// maphash measured no slower on them.)
func hashString(s string) uint32 {
	return fold(maphash.String(seed, s))
}

// wordSeed is the seed of hashWord, made from seed.
var wordSeed = maphash.Comparable(seed, uint64(0x9e3779b97f4a7c15))

// hashWord hashes a 64-bit word with the process's seed (coro patch,
// ORIGIN 61): an int's, or a float's bits. The word, xored with the
// seed, goes through MurmurHash3's finalizer, a bijection in which every
// bit of the input moves every bit of the output: which words share a
// bucket cannot be told without the seed. (maphash.Comparable made a
// table of ints 40-70% slower.)
func hashWord(w uint64) uint32 {
	w ^= wordSeed
	w ^= w >> 33
	w *= 0xff51afd7ed558ccd
	w ^= w >> 33
	w *= 0xc4ceb9fe1a85ec53
	w ^= w >> 33
	return fold(w)
}

// fold makes a 64-bit hash 32 bits.
func fold(h uint64) uint32 { return uint32(h>>32) ^ uint32(h) }

// softHashString computes the 32-bit FNV-1a hash of s in software.
func softHashString(s string) uint32 {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
