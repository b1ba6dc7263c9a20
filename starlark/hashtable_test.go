// Copyright 2017 The Bazel Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package starlark

import (
	"cmp"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"

	"github.com/corolang/coro/starlark/syntax"
)

func TestHashtable(t *testing.T) {
	makeTestIntsOnce.Do(makeTestInts)
	testHashtable(t, make(map[int]bool))
}

func BenchmarkStringHash(b *testing.B) {
	for len := 1; len <= 1024; len *= 2 {
		buf := make([]byte, len)
		rand.New(rand.NewSource(0)).Read(buf)
		s := string(buf)

		b.Run(fmt.Sprintf("hard-%d", len), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				hashString(s)
			}
		})
		b.Run(fmt.Sprintf("soft-%d", len), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				softHashString(s)
			}
		})
	}
}

func BenchmarkHashtable(b *testing.B) {
	makeTestIntsOnce.Do(makeTestInts)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		testHashtable(b, nil)
	}
}

const testIters = 10000

var (
	// testInts is a zipf-distributed array of Ints and corresponding ints.
	// This removes the cost of generating them on the fly during benchmarking.
	// Without this, Zipf and MakeInt dominate CPU and memory costs, respectively.
	makeTestIntsOnce sync.Once
	testInts         [3 * testIters]struct {
		Int   Int
		goInt int
	}
)

func makeTestInts() {
	zipf := rand.NewZipf(rand.New(rand.NewSource(0)), 1.1, 1.0, 1000.0)
	for i := range &testInts {
		r := int(zipf.Uint64())
		testInts[i].goInt = r
		testInts[i].Int = MakeInt(r)
	}
}

// testHashtable is both a test and a benchmark of hashtable.
// When sane != nil, it acts as a test against the semantics of Go's map.
func testHashtable(tb testing.TB, sane map[int]bool) {
	var i int // index into testInts

	var ht hashtable

	// Insert 10000 random ints into the map.
	for range testIters {
		k := testInts[i]
		i++
		if err := ht.insert(nil, k.Int, None); err != nil {
			tb.Fatal(err)
		}
		if sane != nil {
			sane[k.goInt] = true
		}
	}

	// Do 10000 random lookups in the map.
	for range testIters {
		k := testInts[i]
		i++
		_, found, err := ht.lookup(nil, k.Int)
		if err != nil {
			tb.Fatal(err)
		}
		if sane != nil {
			_, found2 := sane[k.goInt]
			if found != found2 {
				tb.Fatal("sanity check failed")
			}
		}
	}

	// Do 10000 random deletes from the map.
	for range testIters {
		k := testInts[i]
		i++
		_, found, err := ht.delete(nil, k.Int)
		if err != nil {
			tb.Fatal(err)
		}
		if sane != nil {
			_, found2 := sane[k.goInt]
			if found != found2 {
				tb.Fatal("sanity check failed")
			}
			delete(sane, k.goInt)
		}
	}

	if sane != nil {
		if int(ht.len) != len(sane) {
			tb.Fatal("sanity check failed")
		}
	}
}

func TestHashtableCount(t *testing.T) {
	const count = 1000
	ht := new(hashtable)
	for i := range count {
		ht.insert(nil, MakeInt(i), None)
	}

	if c, err := ht.count(nil, rangeValue{start: 0, stop: count, step: 1, len: uint64(count)}.Iterate()); err != nil {
		t.Error(err)
	} else if c != count {
		t.Errorf("count doesn't match: expected %d got %d", count, c)
	}
}

// BenchmarkHashtableLarge inserts 200,000 distinct ints, looks each up
// and deletes each: the table grows through sizes whose grows are
// incremental.
func BenchmarkHashtableLarge(b *testing.B) {
	const n = 200_000
	keys := make([]Value, n)
	for i := range keys {
		keys[i] = MakeInt(i * 7)
	}
	b.ResetTimer()
	for range b.N {
		var ht hashtable
		for _, k := range keys {
			if err := ht.insert(nil, k, None); err != nil {
				b.Fatal(err)
			}
		}
		for _, k := range keys {
			if _, found, err := ht.lookup(nil, k); err != nil || !found {
				b.Fatal(k, found, err)
			}
		}
		for _, k := range keys {
			if _, found, err := ht.delete(nil, k); err != nil || !found {
				b.Fatal(k, found, err)
			}
		}
	}
}

// The tests below check incremental growth (coro patch, ORIGIN 52).

// clashKey is an int that shares its hash with the 19 ints next to it,
// so that buckets overflow into chains.
type clashKey int

func (k clashKey) String() string        { return fmt.Sprintf("clash%d", int(k)) }
func (clashKey) Type() string            { return "clashKey" }
func (clashKey) Freeze()                 {}
func (clashKey) Truth() Bool             { return True }
func (k clashKey) Hash() (uint32, error) { return uint32(k/20) * 2654435761, nil }
func (k clashKey) CompareSameType(op syntax.Token, y Value, depth int) (bool, error) {
	return threeway(op, cmp.Compare(k, y.(clashKey))), nil
}

// checkLinks checks ht's insertion-order list against keys and values:
// each entry's prevLink is the link to it, and tailLink is the last
// entry's link.
func checkLinks(t *testing.T, ht *hashtable, keys, values []Value) {
	t.Helper()
	link := &ht.head
	i := 0
	for e := ht.head; e != nil; e = e.next {
		if e.prevLink != link || *e.prevLink != e {
			t.Fatalf("entry %d (%v): prevLink is not the link to it", i, e.key)
		}
		if i >= len(keys) || e.key != keys[i] || e.value != values[i] {
			t.Fatalf("entry %d is %v: %v, want %v: %v", i, e.key, e.value, keys[i], values[i])
		}
		link = &e.next
		i++
	}
	if ht.table == nil && ht.tailLink == nil {
		link = nil // never used
	}
	if i != len(keys) || ht.tailLink != link || int(ht.len) != len(keys) {
		t.Fatalf("list of %d entries (len %d), want %d, or tailLink is not its end", i, ht.len, len(keys))
	}
}

// TestHashtableGrowingModel runs random insertions, updates, deletions
// and lookups on a dict and on a model (a Go map and a slice in
// insertion order), with keys that hash apart and keys that clash, and
// checks the dict against it after every other operation while a grow
// is under way (and every 500th otherwise): its list, lookups of every
// key, ==, count.
func TestHashtableGrowingModel(t *testing.T) {
	var keys []Value
	for i := range 2000 {
		keys = append(keys, MakeInt(i*3), String(fmt.Sprintf("key%d", i)), clashKey(i))
	}
	rng := rand.New(rand.NewSource(1))
	d := new(Dict)
	model := map[int]Value{} // by index in keys
	var order []int          // indexes in keys, in insertion order

	check := func(op int) {
		var ks, vs []Value
		for _, i := range order {
			ks = append(ks, keys[i])
			vs = append(vs, model[i])
		}
		checkLinks(t, &d.ht, ks, vs)
		old, moved := d.ht.oldTable(), d.ht.moved
		for i, k := range keys {
			v, found, err := d.ht.lookup(nil, k)
			want, ok := model[i]
			if err != nil || found != ok || ok && v != want {
				t.Fatalf("op %d: d[%v] = %v, %v, %v; want %v, %v", op, k, v, found, err, want, ok)
			}
		}
		if n, err := d.ht.count(nil, Tuple(keys).Iterate()); err != nil || n != len(model) {
			t.Fatalf("op %d: count = %d, %v; want %d", op, n, err, len(model))
		}
		if len(d.ht.oldTable()) != len(old) || d.ht.moved != moved {
			t.Fatalf("op %d: lookups moved buckets", op)
		}
		fresh := new(Dict)
		for i := range ks {
			fresh.SetKey(ks[i], vs[i])
		}
		for _, pair := range [][2]Value{{d, fresh}, {fresh, d}} {
			if eq, err := Equal(pair[0], pair[1]); err != nil || !eq {
				t.Fatalf("op %d: %v == %v is %v, %v", op, pair[0], pair[1], eq, err)
			}
		}
		if len(model) > 0 {
			// Unequal by one value.
			i := order[rng.Intn(len(order))]
			fresh.SetKey(keys[i], String("other"))
			if eq, err := Equal(d, fresh); err != nil || eq {
				t.Fatalf("op %d: d == fresh with d[%v] changed is %v, %v", op, keys[i], eq, err)
			}
		}
	}

	underWay, grows := 0, 0
	for op := range 18000 {
		// Mostly insertions for the first two thirds, mostly deletions
		// after.
		insert, del := 70, 85
		if op >= 12000 {
			insert, del = 30, 80
		}
		i := rng.Intn(len(keys))
		wasGrowing := d.ht.oldTable() != nil
		size := len(d.ht.table)
		switch r := rng.Intn(100); {
		case r < insert:
			v := MakeInt(op)
			if err := d.SetKey(keys[i], v); err != nil {
				t.Fatal(err)
			}
			if _, ok := model[i]; !ok {
				order = append(order, i)
			}
			model[i] = v
		case r < del:
			v, found, err := d.ht.delete(nil, keys[i])
			want, ok := model[i]
			if err != nil || found != ok || ok && v != want {
				t.Fatalf("op %d: delete %v = %v, %v, %v; want %v, %v", op, keys[i], v, found, err, want, ok)
			}
			if ok {
				delete(model, i)
				for j, x := range order {
					if x == i {
						order = append(order[:j], order[j+1:]...)
						break
					}
				}
			}
		default:
			v, found, err := d.ht.lookup(nil, keys[i])
			want, ok := model[i]
			if err != nil || found != ok || ok && v != want {
				t.Fatalf("op %d: d[%v] = %v, %v, %v; want %v, %v", op, keys[i], v, found, err, want, ok)
			}
		}
		if len(d.ht.table) != size && d.ht.oldTable() != nil {
			grows++
		}
		if wasGrowing || d.ht.oldTable() != nil {
			underWay++
			if underWay%2 == 0 {
				check(op)
			}
		} else if op%500 == 0 {
			check(op)
		}
	}
	check(-1)
	if grows < 2 || underWay < 100 {
		t.Errorf("%d incremental grows, %d changes while one was under way; want more", grows, underWay)
	}
}

// TestHashtableMoveIsBounded: once a large table has begun to grow,
// each insertion (a new key or an update) and each deletion moves at
// most movePerChange old buckets, a lookup none, and each move ends
// before the next grow.
func TestHashtableMoveIsBounded(t *testing.T) {
	var ht hashtable
	// moved returns how many old buckets a change moved, given the
	// move's state before it.
	moved := func(old []bucket, before uint32) int {
		if ht.oldTable() == nil {
			return len(old) - int(before)
		}
		return int(ht.moved - before)
	}
	incremental := 0
	for i := range 400_000 {
		old, before, size := ht.oldTable(), ht.moved, len(ht.table)
		if err := ht.insert(nil, MakeInt(i), None); err != nil {
			t.Fatal(err)
		}
		if len(ht.table) != size && size > 0 {
			if old != nil {
				t.Fatalf("insertion %d: grew again before a move ended", i)
			}
			if size >= minIncrementalGrow {
				if ht.oldTable() == nil || ht.moved != 0 {
					t.Fatalf("insertion %d: a grow from %d buckets moved at once", i, size)
				}
				incremental++
			} else if ht.oldTable() != nil {
				t.Fatalf("insertion %d: a grow from %d buckets is incremental", i, size)
			}
			continue
		}
		if old == nil {
			continue
		}
		if n := moved(old, before); n < 1 || n > movePerChange {
			t.Fatalf("insertion %d moved %d buckets", i, n)
		}
		if i%3 == 0 {
			// An update moves as much.
			old, before = ht.oldTable(), ht.moved
			if old != nil {
				ht.insert(nil, MakeInt(i), True)
				if n := moved(old, before); n < 1 || n > movePerChange {
					t.Fatalf("update %d moved %d buckets", i, n)
				}
			}
		}
		if old, before = ht.oldTable(), ht.moved; old != nil {
			if _, found, _ := ht.lookup(nil, MakeInt(i/2)); !found || ht.moved != before || len(ht.oldTable()) != len(old) {
				t.Fatalf("lookup %d: found %v; moved buckets", i/2, found)
			}
		}
	}
	if incremental < 5 {
		t.Fatalf("%d incremental grows", incremental)
	}

	// Deletions, with a grow under way.
	for i := 400_000; ht.oldTable() == nil; i++ {
		ht.insert(nil, MakeInt(i), None)
	}
	for i := 0; ht.oldTable() != nil; i++ {
		old, before := ht.oldTable(), ht.moved
		if _, found, _ := ht.delete(nil, MakeInt(i)); !found {
			t.Fatalf("delete %d: not found", i)
		}
		if n := moved(old, before); n < 1 || n > movePerChange {
			t.Fatalf("deletion %d moved %d buckets", i, n)
		}
	}
}

// While a grow is under way, iterating a dict stops changes (and with
// them the move); freezing it then keeps both tables, and lookups still
// find every key. Freezing it otherwise ends the move; clear drops it.
func TestHashtableGrowWithIterationFreezeClear(t *testing.T) {
	grown := func() (*Dict, []Value) {
		d := new(Dict)
		var keys []Value
		for i := 0; d.ht.oldTable() == nil || d.ht.moved < 10; i++ {
			k := String(fmt.Sprint(i))
			keys = append(keys, k)
			d.SetKey(k, MakeInt(i))
		}
		return d, keys
	}
	lookups := func(d *Dict, keys []Value) {
		t.Helper()
		for i, k := range keys {
			if v, found, err := d.Get(k); err != nil || !found || v != MakeInt(i) {
				t.Fatalf("d[%v] = %v, %v, %v", k, v, found, err)
			}
		}
	}

	d, keys := grown()
	it := d.Iterate()
	moved := d.ht.moved
	if err := d.SetKey(String("new"), None); err == nil || !strings.Contains(err.Error(), "during iteration") {
		t.Errorf("insertion while iterating: %v", err)
	}
	if _, _, err := d.Delete(keys[0]); err == nil || !strings.Contains(err.Error(), "during iteration") {
		t.Errorf("deletion while iterating: %v", err)
	}
	d.Freeze()
	if d.ht.oldTable() == nil || d.ht.moved != moved {
		t.Fatal("a refused change or Freeze moved buckets while iterating")
	}
	lookups(d, keys)
	var k Value
	for i := 0; it.Next(&k); i++ {
		if k != keys[i] {
			t.Fatalf("iteration: key %d is %v, want %v", i, k, keys[i])
		}
	}
	it.Done()

	d, keys = grown()
	d.Freeze()
	if d.ht.oldTable() != nil {
		t.Error("Freeze left a move under way")
	}
	var values []Value
	for i := range keys {
		values = append(values, MakeInt(i))
	}
	checkLinks(t, &d.ht, keys, values)
	lookups(d, keys)

	d, _ = grown()
	if err := d.Clear(); err != nil || d.ht.oldTable() != nil || d.Len() != 0 || d.ht.head != nil {
		t.Fatalf("Clear: %v; move %v, len %d", err, d.ht.oldTable() != nil, d.Len())
	}
	d.SetKey(String("a"), None)
	if keys := d.Keys(); len(keys) != 1 || keys[0] != String("a") {
		t.Fatalf("after Clear: keys %v", keys)
	}
}

// longestChain returns the most entries in one bucket's chain of ht,
// once its grow, if any, is finished.
func longestChain(ht *hashtable) int {
	ht.freeze()
	most := 0
	for i := range ht.table {
		n := 0
		for p := &ht.table[i]; p != nil; p = p.next {
			for j := range p.entries {
				if p.entries[j].hash != 0 {
					n++
				}
			}
		}
		most = max(most, n)
	}
	return most
}

// Keys that upstream's hashes, the same in every process, put in one
// bucket (ints that share their low 20 bits, short strings whose FNV-1a
// hashes share their low 12 bits, floats between 1 and 2) spread over the
// table like any keys (coro patch, ORIGIN 61): a dict of n of them cost
// O(n²), which a client's JSON could choose. The longest chain is what a
// lookup walks.
func TestHashFloodingKeysSpread(t *testing.T) {
	var ints, strs, floats []Value
	for i := range 20000 {
		ints = append(ints, MakeInt64(int64(i)<<20))
		floats = append(floats, Float(1+float64(i+1)/40000))
	}
	for i := 0; len(strs) < 2000; i++ {
		s := fmt.Sprintf("k%d", i)
		if softHashString(s)&0xfff == 0 {
			strs = append(strs, String(s))
		}
	}
	for _, keys := range [][]Value{ints, strs, floats} {
		var ht hashtable
		for _, k := range keys {
			if err := ht.insert(nil, k, None); err != nil {
				t.Fatal(err)
			}
		}
		if n := longestChain(&ht); n >= 40 {
			t.Errorf("%s keys: one bucket chain holds %d of %d", keys[0].Type(), n, len(keys))
		}
	}
	// Sequential ints keep upstream's spread: 6 or 7 a bucket at most.
	var ht hashtable
	for i := range 100000 {
		if err := ht.insert(nil, MakeInt(i), None); err != nil {
			t.Fatal(err)
		}
	}
	if n := longestChain(&ht); n > 8 {
		t.Errorf("sequential ints: one bucket chain holds %d", n)
	}
}
