package compile

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/corolang/coro/starlark/resolve"
	"github.com/corolang/coro/starlark/syntax"
)

// TestPlusFolding ensures that the compiler generates optimized code for
// n-ary addition of strings, lists, and tuples.
func TestPlusFolding(t *testing.T) {
	isPredeclared := func(name string) bool { return name == "x" }
	isUniversal := func(name string) bool { return false }
	for i, test := range []struct {
		src  string // source expression
		want string // disassembled code
	}{
		{
			// string folding
			`"a" + "b" + "c" + "d"`,
			`constant "abcd"; return`,
		},
		{
			// string folding with variable:
			`"a" + "b" + x + "c" + "d"`,
			`constant "ab"; predeclared x; plus; constant "cd"; plus; return`,
		},
		{
			// list folding
			`[1] + [2] + [3]`,
			`constant 1; constant 2; constant 3; makelist<3>; return`,
		},
		{
			// list folding with variable
			`[1] + [2] + x + [3]`,
			`constant 1; constant 2; makelist<2>; ` +
				`predeclared x; plus; ` +
				`constant 3; makelist<1>; plus; ` +
				`return`,
		},
		{
			// tuple folding
			`() + (1,) + (2, 3)`,
			`constant 1; constant 2; constant 3; maketuple<3>; return`,
		},
		{
			// tuple folding with variable
			`() + (1,) + x + (2, 3)`,
			`constant 1; maketuple<1>; predeclared x; plus; ` +
				`constant 2; constant 3; maketuple<2>; plus; ` +
				`return`,
		},
	} {
		expr, err := syntax.ParseExpr("in.star", test.src, 0)
		if err != nil {
			t.Errorf("#%d: %v", i, err)
			continue
		}
		locals, err := resolve.Expr(expr, isPredeclared, isUniversal)
		if err != nil {
			t.Errorf("#%d: %v", i, err)
			continue
		}
		got := disassemble(Expr(syntax.LegacyFileOptions(), expr, "<expr>", locals).Toplevel)
		if test.want != got {
			t.Errorf("expression <<%s>> generated <<%s>>, want <<%s>>",
				test.src, got, test.want)
		}
	}
}

// disassemble is a trivial disassembler tailored to the accumulator test.
func disassemble(f *Funcode) string {
	out := new(bytes.Buffer)
	insns := f.Insns()
	for pc := uint32(0); pc < uint32(len(insns)); pc = insns[pc].Next {
		op, arg := insns[pc].Op, insns[pc].Arg
		if out.Len() > 0 {
			out.WriteString("; ")
		}
		fmt.Fprintf(out, "%s", op)
		if op >= OpcodeArgMin {
			switch op {
			case CONSTANT:
				switch x := f.Prog.Constants[arg].(type) {
				case string:
					fmt.Fprintf(out, " %q", x)
				default:
					fmt.Fprintf(out, " %v", x)
				}
			case LOCAL:
				fmt.Fprintf(out, " %s", f.Locals[arg].Name)
			case PREDECLARED:
				fmt.Fprintf(out, " %s", f.Prog.Names[arg])
			case ATTR, ATTR_METHOD:
				fmt.Fprintf(out, "<%s>", f.Prog.Names[arg])
			default:
				fmt.Fprintf(out, "<%d>", arg)
			}
		}
	}
	return out.String()
}

// TestInsns: Insns decodes every instruction of Code at its address,
// arguments of several bytes too (constant indexes past 127), jumps land
// on instructions, the Next addresses chain to the end of Code, and a
// jump's next instruction is past the NOPs that pad its argument.
func TestInsns(t *testing.T) {
	src := "[x"
	for i := 0; i < 200; i++ {
		src += fmt.Sprintf(`, "c%d"`, i)
	}
	src += "] if x else 0"
	expr, err := syntax.ParseExpr("in.star", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	locals, err := resolve.Expr(expr, func(name string) bool { return name == "x" }, func(string) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	f := Expr(syntax.LegacyFileOptions(), expr, "<expr>", locals).Toplevel
	got := disassemble(f)
	for _, want := range []string{`constant "c127"; constant "c128"`, `constant "c199"; makelist<201>`} {
		if !bytes.Contains([]byte(got), []byte(want)) {
			t.Errorf("disassembly lacks %s:\n%s", want, got)
		}
	}
	insns, pc, jumps := f.Insns(), uint32(0), 0
	for pc < uint32(len(f.Code)) {
		in := insns[pc]
		if in.Op != Opcode(f.Code[pc]) || in.Next <= pc {
			t.Fatalf("at %d: %+v (code byte %d)", pc, in, f.Code[pc])
		}
		if in.Op == CJMP || in.Op == JMP {
			jumps++
			if in.Arg >= uint32(len(f.Code)) || insns[in.Arg].Next == 0 {
				t.Errorf("jump at %d to %d: not to an instruction", pc, in.Arg)
			}
			// The padding of a jump's argument is not run.
			if in.Next < pc+5 {
				t.Errorf("jump at %d: next instruction at %d, within its padding", pc, in.Next)
			}
		}
		pc = in.Next
	}
	if pc != uint32(len(f.Code)) || jumps == 0 {
		t.Errorf("ended at %d of %d, %d jumps", pc, len(f.Code), jumps)
	}
}

// TestMethodCallCode: a call x.f(...) loads the method with its receiver
// and calls it as one (ATTR_METHOD, CALL_METHOD; coro patch, ORIGIN 77);
// one with *args or **kwargs, and an attribute not called, keep ATTR.
func TestMethodCallCode(t *testing.T) {
	isPredeclared := func(name string) bool { return name == "x" || name == "a" }
	isUniversal := func(name string) bool { return false }
	for _, test := range []struct{ src, want string }{
		{`x.f()`, `predeclared x; attr_method<f>; call_method<0>; return`},
		{`x.f(a, k=1)`, `predeclared x; attr_method<f>; predeclared a; constant "k"; constant 1; call_method<257>; return`},
		{`x.f(x.g(a))`, `predeclared x; attr_method<f>; predeclared x; attr_method<g>; predeclared a; call_method<256>; call_method<256>; return`},
		{`x.f(*a)`, `predeclared x; attr<f>; predeclared a; call_var<0>; return`},
		{`x.f(**a)`, `predeclared x; attr<f>; predeclared a; call_kw <0>; return`},
		{`x.f`, `predeclared x; attr<f>; return`},
	} {
		expr, err := syntax.ParseExpr("in.star", test.src, 0)
		if err != nil {
			t.Fatal(err)
		}
		locals, err := resolve.Expr(expr, isPredeclared, isUniversal)
		if err != nil {
			t.Fatal(err)
		}
		fn := Expr(syntax.LegacyFileOptions(), expr, "<expr>", locals).Toplevel
		if got := disassemble(fn); got != test.want {
			t.Errorf("%s compiled to <<%s>>, want <<%s>>", test.src, got, test.want)
		}
		if test.src == `x.f(x.g(a))` && fn.MaxStack != 5 {
			t.Errorf("%s: MaxStack = %d, want 5 (two methods, their receivers, an argument)", test.src, fn.MaxStack)
		}
	}
}
