package compile

import (
	"strings"
	"testing"

	"github.com/corolang/coro/starlark/resolve"
	"github.com/corolang/coro/starlark/syntax"
)

// TestFused: the loops scripts write become superinstructions of the
// expected shapes, every other address keeps its instruction, and no
// fusion swallows the target of a jump.
func TestFused(t *testing.T) {
	const src = `
total = 0
def f(n):
    i = 0
    s = 0
    while i < n:
        i += 1
        s = s + i
    return s - 1
for x in [1, 2]:
    total += x
`
	opts := &syntax.FileOptions{While: true, TopLevelControl: true, GlobalReassign: true}
	f, err := opts.Parse("in.star", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := resolve.File(f, func(string) bool { return false }, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	module := f.Module.(*resolve.Module)
	prog := File(f.Options, f.Stmts, syntax.Start(f.Stmts[0]), "<toplevel>", module.Locals, module.Globals)
	shapes := map[string]string{}
	for _, fn := range append(prog.Functions, prog.Toplevel) {
		insns, fusions := fn.Fused()
		plain := fn.Insns()
		targets := map[uint32]bool{}
		for pc := uint32(0); pc < uint32(len(plain)); pc = plain[pc].Next {
			if op := plain[pc].Op; op == JMP || op == CJMP || op == ITERJMP {
				targets[plain[pc].Arg] = true
			}
		}
		var got []string
		for pc := uint32(0); pc < uint32(len(insns)); pc = insns[pc].Next {
			if insns[pc].Op != FUSED {
				if insns[pc] != plain[pc] {
					t.Errorf("%s at %d: %+v, want %+v", fn.Name, pc, insns[pc], plain[pc])
				}
				continue
			}
			fu := fusions[insns[pc].Arg]
			if fu.X.Op != plain[pc].Op || fu.X.Arg != plain[pc].Arg || fu.XNext != plain[pc].Next {
				t.Errorf("%s at %d: fusion starts with %s<%d>, code with %s<%d>", fn.Name, pc, fu.X.Op, fu.X.Arg, plain[pc].Op, plain[pc].Arg)
			}
			// Walk the run it stands for: its length, and no target inside.
			q, steps := pc, uint64(0)
			for ; q != fu.Next; q = plain[q].Next {
				if q != pc && targets[q] {
					t.Errorf("%s: fusion at %d spans the jump target %d", fn.Name, pc, q)
				}
				if q >= uint32(len(plain)) {
					t.Fatalf("%s: fusion at %d runs off the code", fn.Name, pc)
				}
				steps++
			}
			if steps != fu.Steps {
				t.Errorf("%s: fusion at %d has %d steps, its run %d", fn.Name, pc, fu.Steps, steps)
			}
			got = append(got, strings.Join([]string{fu.X.Op.String(), fu.Y.Op.String(), fu.Bin.String(), fu.Then.String()}, " "))
		}
		shapes[fn.Name] = strings.Join(got, "; ")
	}
	for name, want := range map[string]string{
		// (in the order of the compiler's blocks)
		"f": "local local lt cjmp; " + // while i < n
			"local constant minus nop; " + // return s - 1
			"local constant inplace_add setlocal; " + // i += 1
			"local local plus setlocal", // s = s + i
		"<toplevel>": "global global inplace_add setglobal", // total += x (not [1, 2]: loads alone are not fused)
	} {
		if shapes[name] != want {
			t.Errorf("%s fused as\n\t%s\nwant\n\t%s", name, shapes[name], want)
		}
	}
}
