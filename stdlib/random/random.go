// Package random is the script module `random` (SPEC 13), with the
// functions of Python's random module that scripts use most. Every draw
// comes from the engine's one seeded source (loop.Engine.Rand, which
// select's random choices use too), so a run with --seed N, and every
// coro test run, can be replayed exactly. The sequences differ from
// CPython's (a PCG source, not the Mersenne Twister).
package random

import (
	"fmt"
	mathrand "math/rand/v2"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// Module returns the random module.
func Module() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "random", Members: starlark.StringDict{
		"random":  starlark.NewBuiltin("random.random", random),
		"randint": starlark.NewBuiltin("random.randint", randint),
		"uniform": starlark.NewBuiltin("random.uniform", uniform),
		"choice":  starlark.NewBuiltin("random.choice", choice),
		"shuffle": starlark.NewBuiltin("random.shuffle", shuffle),
		"sample":  starlark.NewBuiltin("random.sample", sample),
		"uuid4":   starlark.NewBuiltin("random.uuid4", uuid4),
	}}
}

// source returns the engine's random source. It belongs to the loop, so
// a thread without a task (a parallel worker) has none.
func source(th *starlark.Thread, fn string) (*mathrand.Rand, error) {
	x := loop.ExecOf(th)
	if x == nil || x.Task == nil {
		return nil, loop.Errorf(loop.KindValue, "%s: no random source here (only in a coro task, not inside parallel: draw the numbers before)", fn)
	}
	return x.Task.Engine().Rand, nil
}

// random is random.random() → a float in [0, 1).
func random(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starutil.Unpack(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	r, err := source(th, b.Name())
	if err != nil {
		return nil, err
	}
	return starlark.Float(r.Float64()), nil
}

// randint is random.randint(a, b) → an int n with a <= n <= b (both
// within 64 bits).
func randint(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var lo, hi int64
	if err := starutil.Unpack(b.Name(), args, kwargs, "a", &lo, "b", &hi); err != nil {
		return nil, err
	}
	if lo > hi {
		return nil, loop.Errorf(loop.KindValue, "%s: empty range: a (%d) > b (%d)", b.Name(), lo, hi)
	}
	r, err := source(th, b.Name())
	if err != nil {
		return nil, err
	}
	span := uint64(hi-lo) + 1 // 0 for the whole int64 range
	var n uint64
	if span == 0 {
		n = r.Uint64()
	} else {
		n = r.Uint64N(span)
	}
	return starlark.MakeInt64(lo + int64(n)), nil
}

// uniform is random.uniform(a, b) → a + (b-a) * random(), as Python.
func uniform(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var av, bv starlark.Value
	if err := starutil.Unpack(b.Name(), args, kwargs, "a", &av, "b", &bv); err != nil {
		return nil, err
	}
	lo, ok1 := starlark.AsFloat(av)
	hi, ok2 := starlark.AsFloat(bv)
	if !ok1 || !ok2 {
		bad := av
		if ok1 {
			bad = bv
		}
		return nil, loop.Errorf(loop.KindValue, "%s: got %s, want int or float", b.Name(), bad.Type())
	}
	r, err := source(th, b.Name())
	if err != nil {
		return nil, err
	}
	return starlark.Float(lo + (hi-lo)*r.Float64()), nil
}

// choice is random.choice(seq) → one element of a non-empty sequence.
func choice(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var seq starlark.Indexable
	if err := starutil.Unpack(b.Name(), args, kwargs, "seq", &seq); err != nil {
		return nil, err
	}
	if seq.Len() == 0 {
		return nil, loop.Errorf(loop.KindValue, "%s: cannot choose from an empty sequence", b.Name())
	}
	r, err := source(th, b.Name())
	if err != nil {
		return nil, err
	}
	return seq.Index(r.IntN(seq.Len())), nil
}

// shuffle is random.shuffle(list): the list's elements put in a random
// order, in place (Fisher-Yates); returns None.
func shuffle(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var l *starlark.List
	if err := starutil.Unpack(b.Name(), args, kwargs, "list", &l); err != nil {
		return nil, err
	}
	r, err := source(th, b.Name())
	if err != nil {
		return nil, err
	}
	if l.Len() > 1 {
		// A frozen list, or one being iterated, fails before any change.
		if err := l.SetIndex(0, l.Index(0)); err != nil {
			return nil, loop.Errorf(loop.KindValue, "%s: %v", b.Name(), err)
		}
	}
	for i := l.Len() - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		vi, vj := l.Index(i), l.Index(j)
		l.SetIndex(i, vj)
		l.SetIndex(j, vi)
	}
	return starlark.None, nil
}

// sample is random.sample(seq, k) → a list of k elements of seq at
// distinct positions, in random order (a partial Fisher-Yates over a map
// of the positions moved, so memory grows with k, not len(seq)).
func sample(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var seq starlark.Indexable
	var k int
	if err := starutil.Unpack(b.Name(), args, kwargs, "seq", &seq, "k", &k); err != nil {
		return nil, err
	}
	n := seq.Len()
	if k < 0 || k > n {
		return nil, loop.Errorf(loop.KindValue, "%s: sample larger than the population or negative (k=%d, len=%d)", b.Name(), k, n)
	}
	r, err := source(th, b.Name())
	if err != nil {
		return nil, err
	}
	moved := map[int]int{}
	at := func(i int) int {
		if v, ok := moved[i]; ok {
			return v
		}
		return i
	}
	// out grows as it goes, a step charged per element (as the
	// interpreter's list(iterable) does), rather than being made with k
	// elements: k is bounded by len(seq), and a range's length is no
	// measure of memory (random.sample(range(1 << 62), 1 << 40) asked for
	// 16 TiB at once); the steps let a long draw end its time slice and
	// be stopped by a timeout, a cancellation or a signal.
	var out []starlark.Value
	for i := 0; i < k; i++ {
		j := i + r.IntN(n-i)
		vi, vj := at(i), at(j)
		moved[j] = vi
		out = append(out, seq.Index(vj))
		if err := th.Step(); err != nil {
			return nil, err
		}
		if seq.Len() != n { // Step let other tasks run: a list may have changed
			return nil, loop.Errorf(loop.KindValue, "%s: the sequence changed size during sampling", b.Name())
		}
	}
	return starlark.NewList(out), nil
}

// uuid4 is random.uuid4() → a random (version 4) UUID as a string, like
// str(uuid.uuid4()) in Python, drawn from the seeded source.
func uuid4(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starutil.Unpack(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	r, err := source(th, b.Name())
	if err != nil {
		return nil, err
	}
	var u [16]byte
	for i := 0; i < 16; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			u[i+j] = byte(v >> (8 * j))
		}
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant RFC 4122
	return starlark.String(fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])), nil
}
