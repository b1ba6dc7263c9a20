package starlark_test

// coro patch (ORIGIN item 10): builtins looping over an iterable charge a
// step per element, so the step limit and Cancel stop them.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/lib/json"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/starlark/syntax"
)

func TestBuiltinLoopsCountSteps(t *testing.T) {
	const huge = "range(1 << 62)"
	for _, expr := range []string{
		"list(" + huge + ")",
		"tuple(" + huge + ")",
		"sorted(" + huge + ")",
		"reversed(" + huge + ")",
		"enumerate(" + huge + ")",
		"zip(" + huge + ")",
		"zip(" + huge + ", " + huge + ", " + huge + ")",
		"set(" + huge + ")",
		"dict(zip(" + huge + ", " + huge + "))",
		"{}.update(zip(" + huge + ", " + huge + "))",
		"min(" + huge + ")",
		"max(" + huge + ", key=lambda x: x)",
		"all(range(1, 1 << 62))",
		"any([0] * 100000 + [1])",
		`"".join([str(i) for i in range(10)] + ["x"] * 1000000)`,
		"[].extend(" + huge + ")",
		"set().union(" + huge + ")",
		"set([1]).difference(" + huge + ")",
		"set([1]).intersection(" + huge + ")",
		"set([-1]).issubset(" + huge + ")",
		"set(range(1 << 62, 0, -1)).issuperset(" + huge + ")",
		"set([1]).symmetric_difference(" + huge + ")",
		"set().update(" + huge + ")",
		"json.encode(" + huge + ")",
		"(lambda *a: a)(*" + huge + ")",
		"def f():\n    l = []\n    l += " + huge + "\nf()",
	} {
		thread := &starlark.Thread{}
		thread.SetMaxExecutionSteps(100_000)
		src := expr
		if !strings.Contains(src, "\n") {
			src = "x = " + expr
		}
		_, err := starlark.ExecFile(thread, "steps.star", src, starlark.StringDict{"json": json.Module})
		if err == nil || !strings.Contains(err.Error(), "too many steps") {
			t.Errorf("%s: got %v, want the step limit", expr, err)
		}
	}
}

// A length with no memory behind it is not reserved up front: bytes()
// fails at the first value out of range instead of panicking.
func TestHugeLengthIsNotReserved(t *testing.T) {
	_, err := starlark.ExecFile(&starlark.Thread{}, "len.star", "bytes(range(1 << 62))", nil)
	if err == nil || !strings.Contains(err.Error(), "at index 256") {
		t.Errorf("got %v, want an error at index 256", err)
	}
}

// coro patch (ORIGIN 32): a host's OnMaxSteps runs only where control
// went back, a loop going round or a function's first instruction, never
// in the middle of a statement. Here the limit is always passed, so
// OnMaxSteps runs at every such point and nowhere else.
func TestOnMaxStepsRunsAtLoopsAndCallsOnly(t *testing.T) {
	thread := &starlark.Thread{}
	var lines []int32
	thread.OnMaxSteps = func(th *starlark.Thread) {
		lines = append(lines, th.CallFrame(0).Pos.Line)
	}
	thread.SetMaxExecutionSteps(1)
	_, err := starlark.ExecFile(thread, "points.star", `
def f():
    a = [1, 2]
    a[0] += a[1] * 3
    return a
def g():
    n = [0]
    for i in range(2):
        n[0] = n[0] + len(f()) + i
        n[0] += 1
g()
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The frame's position is that of the instruction run last: a
	// function's def line at its entry, the end of the loop's body as it
	// goes round. The module's entry (2), g's (6), then per iteration f's
	// entry (2) and the loop going round after line 10: never inside
	// lines 3-4 or 9-10.
	want := []int32{2, 6, 2, 10, 2, 10}
	if len(lines) != len(want) {
		t.Fatalf("OnMaxSteps ran at lines %v, want %v", lines, want)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Fatalf("OnMaxSteps ran at lines %v, want %v", lines, want)
		}
	}
}

// coro patch (ORIGIN 33): a value whose parts are shared has a text
// exponentially longer than its memory (here 100 list cells, 30 GB of
// text). Writing it charges a step per value, so the step limit (and a
// host's time slice, a Cancel) stops str, repr, print, fail and format;
// upstream wrote until the process ran out of memory.
const sharedParts = "def grow():\n    x = [0] * 10\n    for i in range(9):\n        x = [x] * 10\n    return x\nx = grow()\n"

func TestReprOfSharedPartsCountsSteps(t *testing.T) {
	for _, expr := range []string{
		"str(x)", "repr(x)", "print(x)", "fail(x)", `"{}".format(x)`, `"{!r}".format(x)`,
		"str({1: x})", "str((x, x))", "str([{1: x}])",
		`"%s" % (x,)`, `"%r" % (x,)`, `"%.3s" % (x,)`, `"%-5s" % (x,)`,
	} {
		thread := &starlark.Thread{Print: func(*starlark.Thread, string) {}}
		thread.SetMaxExecutionSteps(100_000)
		_, err := starlark.ExecFile(thread, "repr.star", sharedParts+"y = "+expr+"\n", nil)
		if err == nil || !strings.Contains(err.Error(), "too many steps") {
			t.Errorf("%s: got %v, want the step limit", expr, err)
		}
	}
}

// Whatever the steps, the text stops at a bound (1 GiB, lowered here),
// with an error where the caller can report one; x.String(), from Go,
// stops just past it.
func TestReprOfSharedPartsIsBounded(t *testing.T) {
	defer starlark.SetMaxReprLen(1 << 16)()
	for _, expr := range []string{"str(x)", `"%s" % (x,)`, `"%.3s" % (x,)`, `"{}".format(x)`, "print(x)"} {
		_, err := starlark.ExecFile(&starlark.Thread{Print: func(*starlark.Thread, string) {}}, "repr.star", sharedParts+"y = "+expr+"\n", nil)
		if err == nil || !strings.Contains(err.Error(), "text of value too long (more than 65536 bytes)") {
			t.Errorf("%s: got %v, want text too long", expr, err)
		}
	}
	globals, err := starlark.ExecFile(&starlark.Thread{}, "repr.star", sharedParts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := globals["x"].String(); len(s) < 1<<16 || len(s) > 1<<16+64 {
		t.Errorf("x.String() is %d bytes, want it stopped just past 65536", len(s))
	}
	if _, err := starlark.Format(nil, globals["x"], ">5"); err == nil || !strings.Contains(err.Error(), "text of value too long") {
		t.Errorf("Format: got %v, want text too long", err)
	}
	// A value that fits is written whole, as before.
	globals, err = starlark.ExecFile(&starlark.Thread{}, "repr.star", "y = str([[1, 'a'], {2: (None,)}, set([3])])", nil)
	if err != nil || globals["y"] != starlark.String(`[[1, "a"], {2: (None,)}, set([3])]`) {
		t.Errorf("got %v, %v", globals["y"], err)
	}
}

// While a long repr lets the host run other work (OnMaxSteps, where coro
// switches tasks), the lists and dicts being written count as iterated:
// changing one fails, as during a for loop.
func TestReprHoldsWhatItWrites(t *testing.T) {
	elems := make([]starlark.Value, 1000)
	for i := range elems {
		elems[i] = starlark.MakeInt(i)
	}
	l, d := starlark.NewList(elems), starlark.NewDict(1)
	d.SetKey(starlark.MakeInt(1), l)
	var appendErr, setErr error
	thread := &starlark.Thread{}
	thread.OnMaxSteps = func(th *starlark.Thread) {
		if appendErr == nil {
			appendErr = l.Append(starlark.None)
			setErr = d.SetKey(starlark.MakeInt(2), starlark.None)
		}
		th.SetMaxExecutionSteps(th.ExecutionSteps() + 100)
	}
	thread.SetMaxExecutionSteps(100)
	if _, err := starlark.Call(thread, starlark.Universe["str"], starlark.Tuple{d}, nil); err != nil {
		t.Fatal(err)
	}
	if appendErr == nil || !strings.Contains(appendErr.Error(), "during iteration") {
		t.Errorf("append during repr: got %v, want an iteration error", appendErr)
	}
	if setErr == nil || !strings.Contains(setErr.Error(), "during iteration") {
		t.Errorf("insert during repr: got %v, want an iteration error", setErr)
	}
	if l.Len() != 1000 || d.Len() != 1 {
		t.Errorf("len(l) = %d, len(d) = %d; want 1000 and 1", l.Len(), d.Len())
	}
	// Once written, they may change again.
	if err := l.Append(starlark.None); err != nil {
		t.Errorf("append after repr: %v", err)
	}
}

// counted is a leaf that counts how often it is hashed or compared.
type counted struct{ n *int }

func (c counted) String() string        { return "counted" }
func (c counted) Type() string          { return "counted" }
func (c counted) Freeze()               {}
func (c counted) Truth() starlark.Bool  { return true }
func (c counted) Hash() (uint32, error) { *c.n++; return 7, nil }
func (c counted) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	*c.n++
	return op == syntax.EQL || op == syntax.LE || op == syntax.GE, nil
}

// sharedTuple is levels tuples deep, each level (a, b) * 5 of the two
// tuples of the level below, which start as distinct one-leaf tuples. A
// pair of elements is never the pair just before it, so only remembering
// what was compared keeps a comparison from visiting 10**levels leaves.
func sharedTuple(levels int, leaf starlark.Value) starlark.Tuple {
	a, b := starlark.Tuple{leaf}, starlark.Tuple{leaf, leaf}
	for range levels {
		var na, nb starlark.Tuple
		for range 5 {
			na = append(na, a, b)
			nb = append(nb, b, a)
		}
		a, b = na, nb
	}
	return a
}

// Hashing a tuple whose parts are shared hashes each distinct tuple once
// (ORIGIN 34): the work is bounded by the memory the value has, not by
// its paths. So is a struct's.
func TestHashOfSharedPartsIsLinear(t *testing.T) {
	var n int
	x := sharedTuple(6, counted{&n})
	if _, err := x.Hash(); err != nil {
		t.Fatal(err)
	}
	if n > 200 {
		t.Fatalf("hashing 6 levels of shared tuples hashed the leaf %d times", n)
	}
	deep := sharedTuple(40, starlark.MakeInt(1))
	d := starlark.NewDict(1)
	if err := d.SetKey(deep, starlark.None); err != nil {
		t.Fatal(err)
	}

	n = 0
	s := starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{"leaf": counted{&n}})
	for range 30 {
		s = starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{"a": s, "b": s})
	}
	if _, err := s.Hash(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Hash(); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("hashing a struct of 30 levels twice hashed the leaf %d times, want 1", n)
	}
}

// Comparing tuples whose parts are shared compares each pair of distinct
// tuples once (ORIGIN 34), with or without a thread: a dict lookup
// compares keys without one.
func TestCompareOfSharedTuplesIsPolynomial(t *testing.T) {
	var n int
	x, y := sharedTuple(6, counted{&n}), sharedTuple(6, counted{&n})
	for _, op := range []syntax.Token{syntax.EQL, syntax.NEQ, syntax.LE, syntax.LT} {
		n = 0
		got, err := starlark.Compare(op, x, y)
		if err != nil || got != (op == syntax.EQL || op == syntax.LE) {
			t.Errorf("x %s y = %v, %v", op, got, err)
		}
		if n > 1000 {
			t.Errorf("x %s y compared the leaf %d times", op, n)
		}
	}
	n = 0
	d := starlark.NewDict(1)
	if err := d.SetKey(x, starlark.True); err != nil {
		t.Fatal(err)
	}
	if v, found, err := d.Get(y); err != nil || !found || v != starlark.True {
		t.Errorf("d[y] = %v, %v, %v", v, found, err)
	}
	if n > 1000 {
		t.Errorf("a lookup compared the leaf %d times", n)
	}
	// What is remembered keeps its depth: a pair found equal deep inside
	// may still be too deep to compare from higher up.
	// sharedTuple(8) is 9 tuples and a leaf deep, CompareLimit (10).
	deepX, deepY := sharedTuple(9, starlark.MakeInt(1)), sharedTuple(9, starlark.MakeInt(1))
	if _, err := starlark.Equal(deepX, deepY); err == nil || !strings.Contains(err.Error(), "maximum recursion") {
		t.Errorf("comparing 11 levels: got %v, want the depth limit", err)
	}
	if eq, err := starlark.Equal(deepX[0], deepY[0]); err != nil || !eq {
		t.Errorf("comparing 10 levels: got %v, %v", eq, err)
	}
}

// sharedLists is the list form of sharedTuple, built in Starlark, twice.
const sharedLists = `
def grow():
    a, b = [0], [0, 0]
    for i in range(7):
        a, b = [a, b] * 5, [b, a] * 5
    return a
x, y = grow(), grow()
`

// Comparing containers charges a step per pair of elements (ORIGIN 34),
// so the step limit (and Cancel) stops a comparison of lists whose parts
// are shared, 10**7 pairs here.
func TestCompareOfSharedListsCountsSteps(t *testing.T) {
	for _, expr := range []string{
		"x == y", "x != y", "x < y", "x >= y", "(x,) == (y,)", "{1: x} == {1: y}",
		"x in [y]", "x not in (y,)", "[y].index(x)", "[y].remove(x)",
		"sorted([x, y])", "max(x, y)", "min([x, y])",
	} {
		thread := &starlark.Thread{}
		thread.SetMaxExecutionSteps(100_000)
		_, err := starlark.ExecFile(thread, "compare.star", sharedLists+"z = "+expr+"\n", nil)
		if err == nil || !strings.Contains(err.Error(), "too many steps") {
			t.Errorf("%s: got %v, want the step limit", expr, err)
		}
	}
	// Identical neighbours are compared once: x = [x] * 10, nine times.
	thread := &starlark.Thread{}
	thread.SetMaxExecutionSteps(100_000)
	globals, err := starlark.ExecFile(thread, "compare.star", sharedParts+"y = grow()\nz = x[0] == y[0]\n", nil)
	if err != nil || globals["z"] != starlark.True {
		t.Errorf("x[0] == y[0]: got %v, %v", globals["z"], err)
	}
}

// While a long comparison lets the host run other work, the lists and
// dicts being compared count as iterated.
func TestCompareHoldsWhatItCompares(t *testing.T) {
	elems := make([]starlark.Value, 1000)
	for i := range elems {
		elems[i] = starlark.MakeInt(i)
	}
	l1, l2 := starlark.NewList(elems), starlark.NewList(append([]starlark.Value(nil), elems...))
	d1, d2 := starlark.NewDict(1), starlark.NewDict(1)
	d1.SetKey(starlark.MakeInt(1), l1)
	d2.SetKey(starlark.MakeInt(1), l2)
	var appendErr, setErr error
	thread := &starlark.Thread{}
	thread.OnMaxSteps = func(th *starlark.Thread) {
		if appendErr == nil {
			appendErr = l2.Append(starlark.None)
			setErr = d1.SetKey(starlark.MakeInt(2), starlark.None)
		}
		th.SetMaxExecutionSteps(th.ExecutionSteps() + 100)
	}
	thread.SetMaxExecutionSteps(100)
	globals := starlark.StringDict{"d1": d1, "d2": d2}
	v, err := starlark.Eval(thread, "compare.star", "d1 == d2", globals)
	if err != nil || v != starlark.True {
		t.Fatalf("d1 == d2: %v, %v", v, err)
	}
	if appendErr == nil || !strings.Contains(appendErr.Error(), "during iteration") {
		t.Errorf("append during comparison: got %v, want an iteration error", appendErr)
	}
	if setErr == nil || !strings.Contains(setErr.Error(), "during iteration") {
		t.Errorf("insert during comparison: got %v, want an iteration error", setErr)
	}
	if err := l2.Append(starlark.None); err != nil {
		t.Errorf("append after comparison: %v", err)
	}
}

// A frozen struct may be hashed by many goroutines at once; the hash it
// keeps is written atomically (run under -race).
func TestStructHashIsSharedSafely(t *testing.T) {
	s := starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{"a": starlark.MakeInt(1)})
	s.Freeze()
	hashes := make(chan uint32, 2)
	for range 2 {
		go func() {
			h, _ := s.Hash()
			hashes <- h
		}()
	}
	if h1, h2 := <-hashes, <-hashes; h1 != h2 {
		t.Errorf("hashes %d and %d differ", h1, h2)
	}
}

// Dict and set operations compare keys with the thread (ORIGIN 36): each
// pair of elements compared within two equal tuple keys costs a step,
// so the step limit (and Cancel) stops a lookup, insertion or deletion
// whose key comparison is long. x and y are equal tuples of 100,000
// elements: each comparison of them is 100,000 steps.
func TestKeyComparisonsCountSteps(t *testing.T) {
	keys, err := starlark.ExecFile(&starlark.Thread{}, "keys.star", "x = tuple(range(100000))\ny = tuple(range(100000))\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"d[y]", "y in d", "d.get(y)", "d.setdefault(y)", "d.pop(y)", "d[y] = 2",
		"{x: 1, y: 2}", "dict([(x, 1), (y, 2)])", "d.update([(y, 2)])", "d.update({y: 2})",
		"d | {y: 2}", "d == {y: 1}", "def f(e):\n    e |= {y: 2}\nf(d)",
		"y in s", "set([x, y])", "s.add(y)", "s.remove(y)", "s.discard(y)", "s.update([y])",
		"s | t", "s & t", "s - t", "s ^ t", "s == t", "s <= t", "s >= t",
		"s.union([y])", "s.difference([y])", "s.intersection([y])", "s.symmetric_difference([y])",
		"s.issubset([y])", "s.issuperset([y])",
	} {
		thread := &starlark.Thread{}
		thread.SetMaxExecutionSteps(50_000)
		src := "d = {x: 1}\ns = set([x])\nt = set([y])\n" + stmt + "\n"
		_, err := starlark.ExecFile(thread, "keys.star", src, keys)
		if err == nil || !strings.Contains(err.Error(), "too many steps") {
			t.Errorf("%s: got %v, want the step limit", stmt, err)
		}
	}
}

// While a dict or a set compares keys with a thread, the host may run
// other work (OnMaxSteps); the table counts as iterated meanwhile, and an
// insertion checks again, once its comparison is done, that the table
// may still change.
func TestKeyComparisonHoldsTheTable(t *testing.T) {
	keys, err := starlark.ExecFile(&starlark.Thread{}, "keys.star", "x = tuple(range(1000))\ny = tuple(range(1000))\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := starlark.NewDict(1)
	if err := d.SetKey(keys["x"], starlark.MakeInt(1)); err != nil {
		t.Fatal(err)
	}
	var setErr error
	thread := &starlark.Thread{}
	thread.OnMaxSteps = func(th *starlark.Thread) {
		if setErr == nil {
			setErr = d.SetKey(starlark.MakeInt(2), starlark.None)
		}
		th.SetMaxExecutionSteps(th.ExecutionSteps() + 100)
	}
	thread.SetMaxExecutionSteps(100)
	globals := starlark.StringDict{"d": d, "y": keys["y"]}
	if v, err := starlark.Eval(thread, "lookup.star", "d[y]", globals); err != nil || v != starlark.MakeInt(1) {
		t.Fatalf("d[y]: %v, %v", v, err)
	}
	if setErr == nil || !strings.Contains(setErr.Error(), "during iteration") {
		t.Errorf("insert during a lookup: got %v, want an iteration error", setErr)
	}
	if err := d.SetKey(starlark.MakeInt(2), starlark.None); err != nil {
		t.Errorf("insert after the lookup: %v", err)
	}

	// Frozen while an insertion compares keys: the insertion fails.
	thread = &starlark.Thread{}
	thread.OnMaxSteps = func(th *starlark.Thread) {
		d.Freeze()
		th.SetMaxExecutionSteps(th.ExecutionSteps() + 100)
	}
	thread.SetMaxExecutionSteps(100)
	if _, err := starlark.ExecFile(thread, "insert.star", "d[y] = 3\n", globals); err == nil || !strings.Contains(err.Error(), "frozen") {
		t.Errorf("d[y] = 3 while d is frozen: got %v, want a frozen error", err)
	}
	if v, _, _ := d.Get(keys["x"]); v != starlark.MakeInt(1) {
		t.Errorf("d[x] = %v after the refused insertion, want 1", v)
	}
}

// x |= y walks y's entries, a step each; y counts as iterated meanwhile
// (ORIGIN 52), so a task that runs at a step cannot change it under the
// walk: an insertion into a growing dict moves its entries.
func TestDictUnionHoldsItsOperand(t *testing.T) {
	y := starlark.NewDict(0)
	for i := range 2000 {
		y.SetKey(starlark.MakeInt(i), starlark.None)
	}
	var setErr error
	thread := &starlark.Thread{}
	thread.OnMaxSteps = func(th *starlark.Thread) {
		if setErr == nil {
			setErr = y.SetKey(starlark.MakeInt(-1), starlark.None)
		}
		th.SetMaxExecutionSteps(th.ExecutionSteps() + 100)
	}
	thread.SetMaxExecutionSteps(100)
	globals, err := starlark.ExecFile(thread, "union.star", `
def f():
    x = {}
    x |= y
    z = dict(y)
    z |= z
    return x, z
x, z = f()
`, starlark.StringDict{"y": y})
	if err != nil {
		t.Fatal(err)
	}
	if setErr == nil || !strings.Contains(setErr.Error(), "during iteration") {
		t.Errorf("insert into y during x |= y: got %v, want an iteration error", setErr)
	}
	if n := globals["x"].(*starlark.Dict).Len(); n != 2000 {
		t.Errorf("x |= y has %d entries, want 2000", n)
	}
	if eq, err := starlark.Equal(globals["z"], y); err != nil || !eq {
		t.Errorf("z |= z changed z: %v", err)
	}
}

// sharedStruct is sharedTuple with a struct around each level's tuple,
// as coro's Result wraps a task's value.
func sharedStruct(levels int, leaf starlark.Value) *starlarkstruct.Struct {
	wrap := func(v starlark.Value) *starlarkstruct.Struct {
		return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{"value": v})
	}
	a, b := wrap(leaf), wrap(leaf)
	for range levels {
		var na, nb starlark.Tuple
		for range 5 {
			na = append(na, a, b)
			nb = append(nb, b, a)
		}
		a, b = wrap(na), wrap(nb)
	}
	return a
}

// A struct compares its fields with the comparison's Comparer (ORIGIN
// 37): what it learns spans the fields and the structs within, so
// structs whose parts are shared compare in polynomial time, and with a
// thread each field costs a step.
func TestCompareOfSharedStructsIsPolynomial(t *testing.T) {
	var n int
	x, y := sharedStruct(4, counted{&n}), sharedStruct(4, counted{&n})
	for _, op := range []syntax.Token{syntax.EQL, syntax.NEQ} {
		n = 0
		got, err := starlark.Compare(op, x, y)
		if err != nil || got != (op == syntax.EQL) {
			t.Errorf("x %s y = %v, %v", op, got, err)
		}
		if n > 1000 {
			t.Errorf("x %s y compared the leaf %d times", op, n)
		}
	}
	// With a thread: a struct field holding a tuple of 100,000 elements
	// is compared a step per pair of elements.
	keys, err := starlark.ExecFile(&starlark.Thread{}, "tuples.star", "x = tuple(range(100000))\ny = tuple(range(100000))\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	globals := starlark.StringDict{
		"x": starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{"value": keys["x"]}),
		"y": starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{"value": keys["y"]}),
	}
	thread := &starlark.Thread{}
	thread.SetMaxExecutionSteps(50_000)
	if _, err := starlark.Eval(thread, "compare.star", "x == y", globals); err == nil || !strings.Contains(err.Error(), "too many steps") {
		t.Errorf("x == y: got %v, want the step limit", err)
	}
}

// A comparison allocates nothing unless a value needs it: handing the
// Comparer to a struct (ComparableWith) once made every Comparer escape
// to the heap, an allocation per == in every script (ORIGIN 37).
func TestCompareDoesNotAllocate(t *testing.T) {
	var x, y starlark.Value = starlark.String("abc"), starlark.String("abd")
	var tx, ty starlark.Value = starlark.Tuple{x, starlark.MakeInt(1)}, starlark.Tuple{x, starlark.MakeInt(1)}
	allocs := testing.AllocsPerRun(100, func() {
		starlark.Compare(syntax.EQL, x, y)
		starlark.Compare(syntax.LT, tx, ty)
	})
	if allocs != 0 {
		t.Errorf("comparing strings and tuples allocated %v times", allocs)
	}
}

// Every comparison of a sort charges a step (ORIGIN 48), so the step
// limit and Cancel reach the sort itself, not only its copy: 20,000
// elements cost 20,000 steps to copy and some 260,000 to sort. A
// failed comparison ends the sort at once.
func TestSortComparisonsCountSteps(t *testing.T) {
	const src = "x = [i * 7919 % 20011 for i in range(20000)]\ns = [str(i) for i in x]\n"
	for _, expr := range []string{
		"sorted(x)",
		"sorted(x, reverse=True)",
		"sorted(s)",
		"sorted(x, key=abs)",
	} {
		thread := &starlark.Thread{}
		globals, err := starlark.ExecFile(thread, "data.star", src, nil)
		if err != nil {
			t.Fatal(err)
		}
		steps := thread.ExecutionSteps()
		thread.SetMaxExecutionSteps(steps + 100_000)
		_, err = starlark.ExecFile(thread, "sort.star", "y = "+expr, globals)
		if err == nil || !strings.Contains(err.Error(), "too many steps") {
			t.Errorf("%s: got %v after %d steps, want the step limit", expr, err, thread.ExecutionSteps()-steps)
		}
	}
	thread := &starlark.Thread{}
	globals, err := starlark.ExecFile(thread, "data.star", `x = [1, "a"] * 100000`, nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := thread.ExecutionSteps()
	_, err = starlark.ExecFile(thread, "sort.star", `sorted(x)`, globals)
	if err == nil || err.Error() != "string < int not implemented" {
		t.Errorf("got %v, want string < int not implemented", err)
	}
	// The copy costs 200,000 steps, the sort one.
	if n := thread.ExecutionSteps() - steps; n > 200_100 {
		t.Errorf("a failed sort took %d steps, want it to stop at the first failure", n)
	}
}

// nestedList is [[...[]...]], n lists deep.
func nestedList(n int) *starlark.List {
	x := starlark.NewList(nil)
	for i := 1; i < n; i++ {
		x = starlark.NewList([]starlark.Value{x})
	}
	return x
}

// The text of a list nested 100,000 deep is right and costs a step a
// list. (The cost of the cycle check, O(1) a level since ORIGIN 49, where
// scanning the path took 4.5 s at this depth, is measured by
// BenchmarkReprDeepList: tests time nothing.)
func TestReprOfDeepListIsLinear(t *testing.T) {
	x := nestedList(100_000)
	thread := &starlark.Thread{}
	v, err := starlark.Call(thread, starlark.Universe["repr"], starlark.Tuple{x}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000); string(v.(starlark.String)) != want {
		t.Errorf("repr of a nested list is wrong")
	}
	if n := thread.ExecutionSteps(); n > 100_010 {
		t.Errorf("repr took %d steps, want a step a list", n)
	}
}

// Past the first levels the path of the cycle check is a set; cycles
// are found there as before, and values met again off the path are
// written in full.
func TestReprFindsDeepCycles(t *testing.T) {
	// a = [[...[a]...]], 41 lists round.
	a := starlark.NewList(nil)
	b := a
	for i := 0; i < 40; i++ {
		c := starlark.NewList(nil)
		b.Append(c)
		b = c
	}
	b.Append(a)
	want := strings.Repeat("[", 41) + "[...]" + strings.Repeat("]", 41)
	if got := a.String(); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// top = [[...[inner, inner]...], inner, top]: inner is not on the path.
	inner := starlark.NewList([]starlark.Value{starlark.MakeInt(1)})
	chain := nestedList(1)
	chain.Append(inner)
	chain.Append(inner)
	for i := 0; i < 30; i++ {
		chain = starlark.NewList([]starlark.Value{chain})
	}
	top := starlark.NewList([]starlark.Value{chain, inner})
	top.Append(top)
	want = strings.Repeat("[", 32) + "[1], [1]" + strings.Repeat("]", 31) + ", [1], [...]]"
	if got := top.String(); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// d = {"k": [{"k": [... {"z": d, "w": [d, e]}]}]}, e the innermost dict.
	d := starlark.NewDict(1)
	e := d
	for i := 0; i < 40; i++ {
		f := starlark.NewDict(1)
		e.SetKey(starlark.String("k"), starlark.NewList([]starlark.Value{f}))
		e = f
	}
	e.SetKey(starlark.String("z"), d)
	e.SetKey(starlark.String("w"), starlark.NewList([]starlark.Value{d, e}))
	want = strings.Repeat(`{"k": [`, 40) + `{"z": {...}, "w": [{...}, {...}]}` + strings.Repeat("]}", 40)
	if got := d.String(); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// A value's text nests at most maxReprDepth deep (ORIGIN 49): each level
// is a Go call, and without a bound a deep enough list would overflow the
// goroutine's stack, a fatal error.
func TestReprDepthIsBounded(t *testing.T) {
	defer starlark.SetMaxReprDepth(50)()
	for _, n := range []int{50, 51} {
		for _, x := range []starlark.Value{
			nestedList(n),
			starlark.Tuple{nestedList(n - 1)},
		} {
			_, err := starlark.Call(&starlark.Thread{}, starlark.Universe["str"], starlark.Tuple{x}, nil)
			if n == 50 && err != nil {
				t.Errorf("depth %d: %v", n, err)
			}
			if want := "str: text of value nested more than 50 deep"; n == 51 && (err == nil || err.Error() != want) {
				t.Errorf("depth %d: got %v, want %s", n, err, want)
			}
		}
	}
}

// A list nested 1,000,000 deep fails to print, fast, rather than
// crashing the process.
func TestReprOfVeryDeepListFails(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a million lists")
	}
	x := nestedList(1_000_000)
	for _, fn := range []string{"str", "repr"} {
		_, err := starlark.Call(&starlark.Thread{}, starlark.Universe[fn], starlark.Tuple{x}, nil)
		if err == nil || !strings.Contains(err.Error(), "nested more than") {
			t.Errorf("%s: got %v, want the depth limit", fn, err)
		}
	}
	if s := x.String(); !strings.Contains(s, "[...]") || len(s) > 300_000 {
		t.Errorf("x.String() is %d bytes, want the text cut at the depth limit", len(s))
	}
}

// BenchmarkReprDeepList writes the text of a list nested 100,000 deep
// (ORIGIN 49: linear in the depth; scanning the path took 4.5 s).
func BenchmarkReprDeepList(b *testing.B) {
	x := nestedList(100_000)
	thread := &starlark.Thread{}
	for b.Loop() {
		if _, err := starlark.Call(thread, starlark.Universe["repr"], starlark.Tuple{x}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// The text of % and str.format is bounded as a whole (1 GiB, lowered
// here), where each conversion was: a 12 KB format of "%1000000d"s made
// 1.2 GB. A bound known from the widths fails before anything is
// written; writing costs a step per conversion and per 256 bytes
// (Thread.StepBytes), so the step limit stops a long one (coro patch,
// ORIGIN 58).
func TestFormattingIsBounded(t *testing.T) {
	defer starlark.SetMaxReprLen(1 << 16)()
	const want = "formatted text too long (more than 65536 bytes)"
	for _, expr := range []string{
		`("%1000d" * 100) % tuple(range(100))`,
		`("%.1000f" * 100) % ((1.5,) * 100)`,
		`("%(a).1000d" * 100) % {"a": 1}`,
		`("%s" * 100) % (("x" * 1000,) * 100)`,
		`("%s" * 100) % ((["x" * 1000],) * 100)`,
		`("{0}" * 100).format("x" * 1000)`,
		`("{0!r}" * 100).format("x" * 1000)`,
	} {
		thread := &starlark.Thread{}
		_, err := starlark.ExecFile(thread, "format.star", "y = "+expr+"\n", nil)
		if err == nil || !strings.Contains(err.Error(), want) && !strings.Contains(err.Error(), "text of value too long") {
			t.Errorf("%s: got %v, want %q", expr, err, want)
		}
	}
	// Known from the widths: nothing is formatted (each of the 100
	// conversions would be a step).
	thread := &starlark.Thread{}
	args := starlark.StringDict{"f": starlark.String(strings.Repeat("%1000d", 100)), "t": make(starlark.Tuple, 100)}
	for i := range args["t"].(starlark.Tuple) {
		args["t"].(starlark.Tuple)[i] = starlark.MakeInt(i)
	}
	v, err := starlark.Eval(thread, "format.star", `f % t`, args)
	if err == nil || thread.ExecutionSteps() > 10 {
		t.Errorf("got %.40s, %v after %d steps, want the bound before any", v, err, thread.ExecutionSteps())
	}
	// A text that fits is written whole.
	globals, err := starlark.ExecFile(&starlark.Thread{}, "format.star", `y = ("%1000d|" * 60) % tuple(range(60)) + "{0}{0}".format("ab")`, nil)
	if y, _ := globals["y"].(starlark.String); err != nil || len(y) != 60060+4 || !strings.HasSuffix(string(y), "  59|abab") {
		t.Errorf("got %d bytes, %v", len(y), err)
	}

	// 10 MB of text costs over 39,000 steps, and the step limit
	// stops it.
	const big = `("%100000d" * 100) % tuple(range(100))`
	defer starlark.SetMaxReprLen(1 << 30)()
	thread = &starlark.Thread{}
	if _, err := starlark.Eval(thread, "format.star", big, nil); err != nil {
		t.Fatal(err)
	} else if steps := thread.ExecutionSteps(); steps < 10_000_000/starlark.BytesPerStep {
		t.Errorf("10 MB of text cost %d steps", steps)
	}
	for _, expr := range []string{big, `("{0}" * 100).format("x" * 100000)`} {
		thread = &starlark.Thread{}
		thread.SetMaxExecutionSteps(10_000)
		if _, err := starlark.Eval(thread, "format.star", expr, nil); err == nil || !strings.Contains(err.Error(), "too many steps") {
			t.Errorf("%s: got %v, want the step limit", expr, err)
		}
	}
}

// The literal of a long string or bytes is written in pieces (ORIGIN
// 62): the same text as Quote's, whatever falls at a piece's edge (a
// rune of several bytes, a byte that is not UTF-8, an escape), each
// piece charged to the thread, so the step limit stops it, and the text
// bounded as any value's.
func TestReprOfLongStringIsWrittenInPieces(t *testing.T) {
	var b strings.Builder
	for b.Len() < 300<<10 {
		b.WriteString("plain text, \"quoted\" \\ é€😀\n\t\xff\xe2\x82 ")
		b.WriteString(strings.Repeat("x", b.Len()%7))
	}
	s := b.String()
	for _, tc := range []struct{ expr, want string }{
		{"repr(s)", syntax.Quote(s, false)},
		{"repr(b)", syntax.Quote(s, true)},
		{"str([s, b])", "[" + syntax.Quote(s, false) + ", " + syntax.Quote(s, true) + "]"},
		{`"%r" % s`, syntax.Quote(s, false)},
	} {
		predeclared := starlark.StringDict{"s": starlark.String(s), "b": starlark.Bytes(s)}
		v, err := starlark.Eval(&starlark.Thread{}, "repr.star", tc.expr, predeclared)
		if err != nil || v != starlark.String(tc.want) {
			t.Errorf("%s: got %d bytes (%v), want Quote's %d", tc.expr, starlark.Len(v), err, len(tc.want))
		}
	}

	// 10 MB of literal is over 39,000 steps.
	predeclared := starlark.StringDict{"s": starlark.String(strings.Repeat("x", 10_000_000))}
	for _, expr := range []string{"repr(s)", "str([s])", `"%r" % s`} {
		thread := &starlark.Thread{}
		thread.SetMaxExecutionSteps(10_000)
		if _, err := starlark.Eval(thread, "repr.star", expr, predeclared); err == nil || !strings.Contains(err.Error(), "too many steps") {
			t.Errorf("%s: got %v, want the step limit", expr, err)
		}
	}

	defer starlark.SetMaxReprLen(1 << 17)()
	for _, expr := range []string{"repr(s)", "str([s])"} {
		if _, err := starlark.Eval(&starlark.Thread{}, "repr.star", expr, predeclared); err == nil || !strings.Contains(err.Error(), "text of value too long (more than 131072 bytes)") {
			t.Errorf("%s: got %v, want text too long", expr, err)
		}
	}
}

// str.join of a list or tuple of strings is written in one allocation,
// asked for once at its full size (ORIGIN 62), and the bytes it writes
// are charged to the thread, so the step limit stops a long join of few
// elements.
func TestJoinReservesAndCountsBytes(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`",".join([big] * 30)`, "str.join 3000029"},
		{`",".join(tuple([big] * 30))`, "str.join 3000029"},
		{`",".join([big, 1])`, ""}, // fails at the int, before any allocation is asked
	} {
		var asked []string
		thread := &starlark.Thread{Host: allocChecker(func(what string, n uint64) error {
			asked = append(asked, fmt.Sprintf("%s %d", what, n))
			return nil
		})}
		predeclared := starlark.StringDict{"big": starlark.String(strings.Repeat("x", 100000))}
		v, err := starlark.Eval(thread, "join.star", tc.src, predeclared)
		if got := strings.Join(asked, "; "); got != tc.want {
			t.Errorf("%s: asked %q, want %q", tc.src, got, tc.want)
		}
		if tc.want != "" && (err != nil || starlark.Len(v) != 3000029) {
			t.Errorf("%s: got %d bytes, %v", tc.src, starlark.Len(v), err)
		}
	}

	thread := &starlark.Thread{}
	thread.SetMaxExecutionSteps(10_000)
	predeclared := starlark.StringDict{"big": starlark.String(strings.Repeat("x", 1_000_000))}
	if _, err := starlark.Eval(thread, "join.star", `"".join([big] * 10)`, predeclared); err == nil || !strings.Contains(err.Error(), "too many steps") {
		t.Errorf("got %v, want the step limit", err)
	}
}

// str.join's text stops at the bound of one value's text (1 GiB, lowered
// here): refused at once for a list or tuple, whose length is added up
// first, and as it grows for another iterable (ORIGIN 62).
func TestJoinIsBounded(t *testing.T) {
	defer starlark.SetMaxReprLen(1 << 16)()
	const want = "join: text too long (more than 65536 bytes)"
	for _, expr := range []string{
		`",".join(["x" * 1000] * 100)`,
		`",".join(tuple(["x" * 1000] * 100))`,
		`",".join({("x" * 1000 + str(i)): 1 for i in range(100)})`,
	} {
		thread := &starlark.Thread{}
		_, err := starlark.Eval(thread, "join.star", expr, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", expr, err, want)
		}
	}
	// A text that fits is written whole.
	if v, err := starlark.Eval(&starlark.Thread{}, "join.star", `",".join(["x" * 1000] * 60)`, nil); err != nil || starlark.Len(v) != 60059 {
		t.Errorf("got %d bytes, %v", starlark.Len(v), err)
	}
}

// coro patch (ORIGIN 73): a while loop whose code records no position of
// its own (while True: pass) runs at the while statement, where it was
// said to run at its function's def line.
func TestWhileLoopRunsAtItsLine(t *testing.T) {
	thread := &starlark.Thread{}
	var lines []int32
	thread.OnMaxSteps = func(th *starlark.Thread) {
		if lines = append(lines, th.CallFrame(0).Pos.Line); len(lines) == 3 {
			th.Cancel("enough")
		}
		th.SetMaxExecutionSteps(th.ExecutionSteps() + 1)
	}
	thread.SetMaxExecutionSteps(1)
	_, err := starlark.ExecFileOptions(&syntax.FileOptions{While: true}, thread, "spin.star", `
def spin():
    x = 1
    while True:
        pass
spin()
`, nil)
	if err == nil || !strings.Contains(err.Error(), "enough") {
		t.Fatalf("got %v, want the cancellation", err)
	}
	if fmt.Sprint(lines) != "[2 2 4]" {
		t.Fatalf("OnMaxSteps ran at lines %v, want [2 2 4] (the module, spin, the loop)", lines)
	}
}
