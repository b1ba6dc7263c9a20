package starlark

// This file defines the bytecode interpreter.

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/corolang/coro/starlark/internal/compile"
	"github.com/corolang/coro/starlark/internal/spell"
	"github.com/corolang/coro/starlark/syntax"
)

const vmdebug = false // TODO(adonovan): use a bitfield of specific kinds of error.

// TODO(adonovan):
// - optimize position table.
// - opt: record MaxIterStack during compilation and preallocate the stack.

// coro patch: the interpreter's Go frame is kept small. Every Starlark call
// level costs a frame of CallInternal on the goroutine's stack, and a coro
// task parked N calls deep keeps N of them: the rarely used, stack-hungry
// work (error formatting, UNPACK, calls with keywords or *args/**kwargs,
// the in-place operators, LOAD) is in the non-inlined functions after
// CallInternal, whose frames exist only while they run. Upstream's frame
// was 1648 bytes (amd64); see ORIGIN.md for today's.

func (fn *Function) CallInternal(thread *Thread, args Tuple, kwargs []Tuple) (Value, error) {
	// Postcondition: args is not mutated. This is stricter than required by Callable,
	// but allows CALL to avoid a copy.

	f := fn.funcode
	fr := thread.frameAt(0)
	nlocals := len(f.Locals)

	// coro patch (ORIGIN 18): a frame that Thread.Unwind left suspended
	// is resumed here (Thread.Resume), its state restored instead of made.
	resumed := fr.susp
	var space []Value
	var err error
	sp := 0
	var pc uint32
	// coro patch (ORIGIN 78): the iterators of the first two loops
	// active at once sit in this Go frame, not in an allocation of
	// their own; an unwound frame keeps a copy (suspend).
	var iterbuf [2]Iterator
	iterstack := iterbuf[:0] // stack of active iterators
	if resumed == nil {
		if f.Prog.Recursion {
			// prevent stack overflow
			//
			// Each CallInternal recursion (via Call) uses ~1.4KB,
			// but the stack limit is on the order of 1GB, so a
			// maximum of about 700K recursive calls is possible.
			// Limit it to much less here.
			if len(thread.stack) > 100_000 {
				return nil, errStackOverflow
			}
		} else if err := checkRecursion(thread, fn); err != nil {
			return nil, err
		}

		// Allocate space for stack and locals.
		// Logically these do not escape from this frame
		// (See https://github.com/golang/go/issues/20533.)
		//
		// This heap allocation looks expensive, but I was unable to get
		// more than 1% real time improvement in a large alloc-heavy
		// benchmark (in which this alloc was 8% of alloc-bytes)
		// by allocating space for 8 Values in each frame, or
		// by allocating stack by slicing an array held by the Thread
		// that is expanded in chunks of min(k, nspace), for k=256 or 1024.
		//
		// coro patch (ORIGIN 75): the space of the frame's previous call,
		// cleared when it returned, is reused (frame.locals); a fresh one
		// is made only when it is too small.
		if n := nlocals + f.MaxStack; cap(fr.locals) >= n {
			space = fr.locals[:n]
		} else {
			space = make([]Value, n)
		}

		// Digest arguments and set parameters.
		err = setArgs(space[:nlocals:nlocals], fn, args, kwargs)
		if err != nil {
			clear(space) // it may be the frame's spare (frame.locals)
			return nil, thread.evalError(err)
		}
	} else {
		space, sp, pc, iterstack = resumed.space, resumed.sp, resumed.next, resumed.iterstack
	}
	locals := space[:nlocals:nlocals] // local variables, starting with parameters
	stack := space[nlocals:]          // operand stack

	if resumed == nil {
		fr.locals = locals

		if vmdebug {
			fmt.Printf("Entering %s @ %s\n", f.Name, f.Position(0))
			fmt.Printf("%d stack, %d locals\n", len(stack), len(locals))
			defer fmt.Println("Leaving ", f.Name)
		}

		// Spill indicated locals to cells.
		// Each cell is a separate alloc to avoid spurious liveness.
		for _, index := range f.Cells {
			locals[index] = &cell{locals[index]}
		}
	}

	// TODO(adonovan): add static check that beneath this point
	// - there is exactly one return statement
	// - there is no redefinition of 'err'.

	// Use defer so that application panics can pass through
	// interpreter without leaving thread in a bad state.
	defer func() {
		if fr.susp != nil {
			return // unwound: the frame keeps its state (coro patch)
		}
		// ITERPOP the rest of the iterator stack.
		for _, iter := range iterstack {
			iter.Done()
		}

		fr.keepSpace(space)
	}()

	var result Value
	insns, fusions := f.Fused() // coro patch (ORIGIN 28)
	if !fuse {
		insns = f.Insns()
	}
	if resumed != nil {
		// The CALL that unwound has returned: continue after it.
		fr.susp = nil
		thread.beginProfSpan()
		// coro patch (ORIGIN 19): the suspension stays live in this
		// Go frame (reused if the frame unwinds again), so it must not
		// keep the outcome.
		err = resumed.err
		if !resumed.retry {
			stack[sp-1] = resumed.result
		}
		resumed.result, resumed.err = nil, nil
		if err != nil {
			goto done
		}
	}
loop:
	for {
		thread.Steps++
		// coro patch (ORIGIN 32): a host's OnMaxSteps (the end of a time
		// slice, where a task may yield to others) runs only where
		// control went back (pc <= fr.pc: a loop goes round, or this is
		// the function's first instruction), never in the middle of a
		// statement, so `n += 1` between waits is never interrupted.
		// Until then the limit stays passed and is checked again at
		// each instruction. Without OnMaxSteps the limit stops the
		// thread at once, as upstream.
		if thread.Steps >= thread.maxSteps && (pc <= fr.pc || thread.OnMaxSteps == nil) {
			maxStepsReached(thread)
		}
		if reason := thread.cancelReason.Load(); reason != nil {
			err = cancelledError(reason)
			break loop
		}

		fr.pc = pc

		// coro patch (ORIGIN 25): instructions come decoded.
		in := &insns[pc]
		op, arg := in.Op, in.Arg
		pc = in.Next
		if vmdebug {
			fmt.Fprintln(os.Stderr, stack[:sp]) // very verbose!
			compile.PrintOp(f, fr.pc, op, arg)
		}

	dispatch:
		switch op {
		case compile.NOP:
			// nop

		case compile.FUSED:
			// coro patch (ORIGIN 28): a superinstruction, run as one
			// step when it can be, else its first instruction runs.
			fu := &fusions[arg]
			if next, ok := fn.runFusion(fu, locals, stack[sp:]); ok {
				thread.Steps += fu.Steps - 1
				if fu.Then == compile.NOP {
					sp++
				}
				pc = next
				continue
			}
			op, arg, pc = fu.X.Op, fu.X.Arg, fu.XNext
			goto dispatch

		case compile.DUP:
			stack[sp] = stack[sp-1]
			sp++

		case compile.DUP2:
			stack[sp] = stack[sp-2]
			stack[sp+1] = stack[sp-1]
			sp += 2

		case compile.POP:
			sp--
			// coro patch: a popped value (an expression statement's,
			// spawn(f) with its Task dropped) must not stay reachable
			// from the frame: coro reports a failed task once no value
			// refers to it.
			stack[sp] = nil

		case compile.EXCH:
			stack[sp-2], stack[sp-1] = stack[sp-1], stack[sp-2]

		case compile.EQL, compile.NEQ, compile.GT, compile.LT, compile.LE, compile.GE:
			op := syntax.Token(op-compile.EQL) + syntax.EQL
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2
			// coro patch (ORIGIN 26, 74): two small ints or two strings
			// are compared here.
			ok, fast := compareFast(op, x, y)
			if !fast {
				var err2 error
				// coro patch (ORIGIN 34): containers compared charge steps.
				if ok, err2 = compare(thread, op, x, y); err2 != nil {
					err = err2
					break loop
				}
			}
			stack[sp] = Bool(ok)
			sp++

		case compile.PLUS,
			compile.MINUS,
			compile.STAR,
			compile.SLASH,
			compile.SLASHSLASH,
			compile.PERCENT,
			compile.AMP,
			compile.PIPE,
			compile.CIRCUMFLEX,
			compile.LTLT,
			compile.GTGT,
			compile.IN:
			binop := syntax.Token(op-compile.PLUS) + syntax.PLUS
			if op == compile.IN {
				binop = syntax.IN // IN token is out of order
			}
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2
			// coro patch (ORIGIN 26): small ints are added here.
			z, ok := addSmallInts(op, x, y)
			if !ok {
				var err2 error
				if z, err2 = binaryOp(thread, binop, x, y); err2 != nil { // coro patch (ORIGIN 33)
					err = err2
					break loop
				}
			}
			stack[sp] = z
			sp++

		case compile.UPLUS, compile.UMINUS, compile.TILDE:
			var unop syntax.Token
			if op == compile.TILDE {
				unop = syntax.TILDE
			} else {
				unop = syntax.Token(op-compile.UPLUS) + syntax.PLUS
			}
			x := stack[sp-1]
			y, err2 := Unary(unop, x)
			if err2 != nil {
				err = err2
				break loop
			}
			stack[sp-1] = y

		case compile.INPLACE_ADD, compile.INPLACE_PIPE:
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2
			z, ok := addSmallInts(op, x, y) // coro patch (ORIGIN 26)
			if !ok {
				var err2 error
				if z, err2 = inplaceBinary(thread, op, x, y); err2 != nil {
					err = err2
					break loop
				}
			}
			stack[sp] = z
			sp++

		case compile.NONE:
			stack[sp] = None
			sp++

		case compile.TRUE:
			stack[sp] = True
			sp++

		case compile.FALSE:
			stack[sp] = False
			sp++

		case compile.MANDATORY:
			stack[sp] = mandatory{}
			sp++

		case compile.JMP:
			pc = arg

		case compile.CALL, compile.CALL_VAR, compile.CALL_KW, compile.CALL_VAR_KW, compile.CALL_METHOD:
			// coro patch (ORIGIN 77): CALL_METHOD is CALL, after
			// ATTR_METHOD, with the method's receiver (or none) below
			// the arguments.
			callOp := op
			if op == compile.CALL_METHOD {
				callOp = compile.CALL
			}
			var positional Tuple
			var kvpairs []Tuple
			positionalOnly := callOp == compile.CALL && arg&0xff == 0
			if positionalOnly {
				// Positional arguments only, the common case.
				if npos := int(arg >> 8); npos > 0 {
					positional = stack[sp-npos : sp]
					sp -= npos
				}
			} else {
				positional, kvpairs, sp, err = callArgs(thread, callOp, arg, stack, sp)
				if err != nil {
					break loop
				}
			}
			var recv Value
			if op == compile.CALL_METHOD {
				recv = stack[sp-1]
				sp--
			}

			function := stack[sp-1]
			if positionalOnly && len(positional) > 0 {
				// Copy positional arguments into a new array,
				// unless the callee is another Starlark function,
				// in which case it can be trusted not to mutate them,
				// or a builtin that borrows them (coro patch).
				switch c := function.(type) {
				case *Function:
				case *Builtin:
					if !c.borrows {
						positional = cloneArgs(positional)
					}
				default:
					positional = cloneArgs(positional)
				}
			}

			if vmdebug {
				fmt.Printf("VM call %s args=%s kwargs=%s @%s\n",
					function, positional, kvpairs, f.Position(fr.pc))
			}

			thread.endProfSpan()
			var z Value
			var err2 error
			if recv != nil {
				z, err2 = callMethod(thread, function.(*Builtin), recv, positional, kvpairs)
			} else {
				z, err2 = Call(thread, function, positional, kvpairs)
			}
			if err2 == errUnwound {
				// coro patch (ORIGIN 18): the callee unwound the thread
				// (Thread.Unwind): keep what resuming here needs.
				suspend(fr, resumed, space, sp, pc, iterstack, false)
				return nil, errUnwound
			}
			thread.beginProfSpan()
			if err2 != nil {
				err = err2
				break loop
			}
			if vmdebug {
				fmt.Printf("Resuming %s @ %s\n", f.Name, f.Position(0))
			}
			stack[sp-1] = z

		case compile.ITERPUSH:
			x := stack[sp-1]
			sp--
			iter := Iterate(x)
			if iter == nil {
				err = notIterableError(x)
				break loop
			}
			iterstack = append(iterstack, iter)

		case compile.ITERJMP:
			iter := iterstack[len(iterstack)-1]
			var more bool
			if wi, ok := iter.(WaitingIterator); ok {
				// coro patch (ORIGIN 20): NextOn may wait, unwound.
				more, err = wi.NextOn(thread, &stack[sp])
				if err != nil {
					if err == errUnwound {
						suspend(fr, resumed, space, sp, fr.pc, iterstack, true)
						return nil, errUnwound
					}
					break loop
				}
			} else {
				more = iter.Next(&stack[sp])
			}
			if more {
				sp++
			} else {
				pc = arg
			}

		case compile.ITERPOP:
			n := len(iterstack) - 1
			iterstack[n].Done()
			iterstack = iterstack[:n]

		case compile.NOT:
			stack[sp-1] = !stack[sp-1].Truth()

		case compile.RETURN:
			result = stack[sp-1]
			break loop

		case compile.SETINDEX:
			z := stack[sp-1]
			y := stack[sp-2]
			x := stack[sp-3]
			sp -= 3
			err = setIndex(thread, x, y, z)
			if err != nil {
				break loop
			}

		case compile.INDEX:
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2
			z, err2 := getIndex(thread, x, y)
			if err2 != nil {
				err = err2
				break loop
			}
			stack[sp] = z
			sp++

		case compile.ATTR:
			x := stack[sp-1]
			name := f.Prog.Names[arg]
			y, err2 := getAttr(x, name)
			if err2 != nil {
				err = err2
				break loop
			}
			stack[sp-1] = y

		case compile.ATTR_METHOD:
			// coro patch (ORIGIN 77): the method and its receiver,
			// unbound, for CALL_METHOD; any other attribute as ATTR
			// gets it, with no receiver.
			x := stack[sp-1]
			name := f.Prog.Names[arg]
			// (The HasMethods check is in unboundMethod: an interface
			// call written in this case made the whole loop a third
			// slower, fib(30) 0.22 -> 0.30 s.)
			if m := unboundMethod(x, name); m != nil {
				stack[sp-1] = m
				stack[sp] = x
			} else {
				y, err2 := getAttr(x, name)
				if err2 != nil {
					err = err2
					break loop
				}
				stack[sp-1] = y
				stack[sp] = nil
			}
			sp++

		case compile.SETFIELD:
			y := stack[sp-1]
			x := stack[sp-2]
			sp -= 2
			name := f.Prog.Names[arg]
			if err2 := setField(x, name, y); err2 != nil {
				err = err2
				break loop
			}

		case compile.MAKEDICT:
			stack[sp] = new(Dict)
			sp++

		case compile.SETDICT, compile.SETDICTUNIQ:
			sp -= 3
			if err = setDict(thread, op, stack[sp].(*Dict), stack[sp+1], stack[sp+2]); err != nil {
				break loop
			}

		case compile.APPEND:
			elem := stack[sp-1]
			list := stack[sp-2].(*List)
			sp -= 2
			list.elems = append(list.elems, elem)

		case compile.SLICE:
			x := stack[sp-4]
			lo := stack[sp-3]
			hi := stack[sp-2]
			step := stack[sp-1]
			sp -= 4
			res, err2 := slice(x, lo, hi, step)
			if err2 != nil {
				err = err2
				break loop
			}
			stack[sp] = res
			sp++

		case compile.UNPACK:
			iterable := stack[sp-1]
			sp--
			if err = unpack(iterable, stack[sp:sp+int(arg)]); err != nil {
				break loop
			}
			sp += int(arg)

		case compile.CJMP:
			if stack[sp-1].Truth() {
				pc = arg
			}
			sp--

		case compile.CONSTANT:
			stack[sp] = fn.module.constants[arg]
			sp++

		case compile.MAKETUPLE:
			n := int(arg)
			tuple := make(Tuple, n)
			sp -= n
			copy(tuple, stack[sp:])
			stack[sp] = tuple
			sp++

		case compile.MAKELIST:
			n := int(arg)
			elems := make([]Value, n)
			sp -= n
			copy(elems, stack[sp:])
			stack[sp] = NewList(elems)
			sp++

		case compile.MAKEFUNC:
			stack[sp-1] = makeFunction(fn, f.Prog.Functions[arg], stack[sp-1].(Tuple))

		case compile.LOAD:
			if err = load(thread, stack[sp-1-int(arg):sp]); err != nil {
				break loop
			}
			sp--

		case compile.SETLOCAL:
			locals[arg] = stack[sp-1]
			sp--

		case compile.SETLOCALCELL:
			locals[arg].(*cell).v = stack[sp-1]
			sp--

		case compile.SETGLOBAL:
			fn.module.globals[arg] = stack[sp-1]
			sp--

		case compile.LOCAL:
			x := locals[arg]
			if x == nil {
				err = unassignedError("local", f.Locals[arg].Name)
				break loop
			}
			stack[sp] = x
			sp++

		case compile.FREE:
			stack[sp] = fn.freevars[arg]
			sp++

		case compile.LOCALCELL:
			v := locals[arg].(*cell).v
			if v == nil {
				err = unassignedError("local", f.Locals[arg].Name)
				break loop
			}
			stack[sp] = v
			sp++

		case compile.FREECELL:
			v := fn.freevars[arg].(*cell).v
			if v == nil {
				err = unassignedError("local", f.FreeVars[arg].Name)
				break loop
			}
			stack[sp] = v
			sp++

		case compile.GLOBAL:
			x := fn.module.globals[arg]
			if x == nil {
				err = unassignedError("global", f.Prog.Globals[arg].Name)
				break loop
			}
			stack[sp] = x
			sp++

		case compile.PREDECLARED:
			// coro patch (ORIGIN 23): looked up when the module was made.
			x := fn.module.named[arg]
			if x == nil {
				name := f.Prog.Names[arg]
				x = fn.module.predeclared[name] // given a value since
				if x == nil {
					err = uninitializedError(name)
					break loop
				}
			}
			stack[sp] = x
			sp++

		case compile.UNIVERSAL:
			x := fn.module.named[arg]
			if x == nil {
				x = Universe[f.Prog.Names[arg]]
			}
			stack[sp] = x
			sp++

		default:
			err = unimplementedError(op)
			break loop
		}
	}
done:
	// (deferred cleanup runs here)
	return result, err
}

// The out-of-line parts of CallInternal (coro patch, see there).

var errStackOverflow = errors.New("Starlark stack overflow")

// checkRecursion reports a call of fn while fn is already active, in a
// program that does not allow recursion.
//
//go:noinline
func checkRecursion(thread *Thread, fn *Function) error {
	for _, fr := range thread.stack[:len(thread.stack)-1] {
		// We look for the same function code,
		// not function value, otherwise the user could
		// defeat the check by writing the Y combinator.
		if frfn, ok := fr.Callable().(*Function); ok && frfn.funcode == fn.funcode {
			return fmt.Errorf("function %s called recursively", fn.Name())
		}
	}
	return nil
}

// maxStepsReached is called when thread.Steps reaches its limit.
//
//go:noinline
func maxStepsReached(thread *Thread) {
	if thread.OnMaxSteps != nil {
		thread.OnMaxSteps(thread)
	} else {
		thread.Cancel("too many steps")
	}
}

//go:noinline
func cancelledError(reason *string) error {
	return fmt.Errorf("Starlark computation cancelled: %s", *reason)
}

//go:noinline
func notIterableError(x Value) error {
	return fmt.Errorf("%s value is not iterable", x.Type())
}

// makeFunction implements MAKEFUNC: a function of funcode, defined in
// fn's module, with the defaults and free variables in tuple.
//
//go:noinline
func makeFunction(fn *Function, funcode *compile.Funcode, tuple Tuple) *Function {
	n := len(tuple) - len(funcode.FreeVars)
	return &Function{
		funcode:  funcode,
		module:   fn.module,
		defaults: tuple[:n:n],
		freevars: tuple[n:],
	}
}

// setDict implements SETDICT and SETDICTUNIQ (dict[k] = v in a dict
// literal, where SETDICTUNIQ reports a duplicate key), comparing keys
// with thread (coro patch, ORIGIN 36).
//
//go:noinline
func setDict(thread *Thread, op compile.Opcode, dict *Dict, k, v Value) error {
	oldlen := dict.Len()
	if err := dict.ht.insert(thread, k, v); err != nil {
		return err
	}
	if op == compile.SETDICTUNIQ && dict.Len() == oldlen {
		return fmt.Errorf("duplicate key: %v", k)
	}
	return nil
}

//go:noinline
func unassignedError(kind, name string) error {
	return fmt.Errorf("%s variable %s referenced before assignment", kind, name)
}

//go:noinline
func uninitializedError(name string) error {
	return fmt.Errorf("internal error: predeclared variable %s is uninitialized", name)
}

//go:noinline
func unimplementedError(op compile.Opcode) error {
	return fmt.Errorf("unimplemented: %s", op)
}

// cloneArgs copies the positional arguments of a call to a callee that is
// not a Starlark function, which might keep them.
//
//go:noinline
func cloneArgs(args Tuple) Tuple {
	return slices.Clone(args)
}

// smallInts returns the values of x and y when both are ints that fit in
// int64 (coro patch, ORIGIN 26).
func smallInts(x, y Value) (a, b int64, ok bool) {
	xi, ok := x.(Int)
	if !ok {
		return 0, 0, false
	}
	yi, ok := y.(Int)
	if !ok {
		return 0, 0, false
	}
	a, xbig := xi.get()
	b, ybig := yi.get()
	return a, b, xbig == nil && ybig == nil
}

// fuse says whether functions run with superinstructions (ORIGIN 28);
// tests turn it off to compare.
var fuse = true

// runFusion runs fu, pushing what it pushes on top (the operand stack
// above its top), and returns the address to go on at; ok is false if fu
// cannot run as one step (ORIGIN 28).
func (fn *Function) runFusion(fu *compile.Fusion, locals, top []Value) (next uint32, ok bool) {
	// An unbound operand (nil) is not an int either: the unfused load
	// reports it.
	a, b, ok := smallInts(fn.operand(fu.X, locals), fn.operand(fu.Y, locals))
	if !ok {
		return 0, false
	}
	var z Value
	switch fu.Bin {
	case compile.PLUS, compile.INPLACE_ADD, compile.MINUS:
		r, ok := addInt64(fu.Bin, a, b)
		if !ok {
			return 0, false
		}
		z = makeSmallInt(r)
	default:
		truth := threeway(syntax.Token(fu.Bin-compile.EQL)+syntax.EQL, cmp.Compare(a, b))
		if fu.Then == compile.CJMP {
			if truth {
				return fu.ThenArg, true
			}
			return fu.Next, true
		}
		z = Bool(truth)
	}
	switch fu.Then {
	case compile.SETLOCAL:
		locals[fu.ThenArg] = z
	case compile.SETGLOBAL:
		fn.module.globals[fu.ThenArg] = z
	default:
		top[0] = z
	}
	return fu.Next, true
}

// operand is the value of a fusion's operand, nil if it is unbound.
func (fn *Function) operand(o compile.Operand, locals []Value) Value {
	switch o.Op {
	case compile.LOCAL:
		return locals[o.Arg]
	case compile.CONSTANT:
		return fn.module.constants[o.Arg]
	}
	return fn.module.globals[o.Arg]
}

// addSmallInts is x+y (op PLUS or INPLACE_ADD) or x-y (MINUS) when x and
// y are ints that fit in int64 and so does the result: the interpreter's
// fast path for counters and sums. ok is false for anything else, which
// Binary then does.
func addSmallInts(op compile.Opcode, x, y Value) (z Value, ok bool) {
	if op != compile.PLUS && op != compile.INPLACE_ADD && op != compile.MINUS {
		return nil, false
	}
	a, b, ok := smallInts(x, y)
	if !ok {
		return nil, false
	}
	r, ok := addInt64(op, a, b)
	if !ok {
		return nil, false
	}
	return makeSmallInt(r), true
}

// addInt64 is a-b for MINUS, else a+b; ok is false when it overflows
// int64. The one overflow check of the int fast paths (addSmallInts,
// runFusion).
func addInt64(op compile.Opcode, a, b int64) (r int64, ok bool) {
	if op == compile.MINUS {
		r = a - b
		return r, (a^b)&(r^a) >= 0
	}
	r = a + b
	return r, (r^a)&(r^b) >= 0
}

// compareSmallInts is Compare(op, x, y) when x and y are ints that fit
// in int64; fast is false for anything else.
func compareSmallInts(op syntax.Token, x, y Value) (result, fast bool) {
	a, b, ok := smallInts(x, y)
	if !ok {
		return false, false
	}
	return threeway(op, cmp.Compare(a, b)), true
}

// compareFast is Compare(op, x, y) when x and y are both small ints or
// both strings, the common cases (i < n; data == "" in a read loop),
// without the general path's type switch and interface calls; fast is
// false for anything else (coro patch, ORIGIN 74).
func compareFast(op syntax.Token, x, y Value) (result, fast bool) {
	if r, fast := compareSmallInts(op, x, y); fast {
		return r, true
	}
	xs, ok := x.(String)
	if !ok {
		return false, false
	}
	ys, ok := y.(String)
	if !ok {
		return false, false
	}
	switch op {
	case syntax.EQL:
		return xs == ys, true
	case syntax.NEQ:
		return xs != ys, true
	}
	return threeway(op, strings.Compare(string(xs), string(ys))), true
}

// inplaceBinary implements INPLACE_ADD (x += y) and INPLACE_PIPE (x |= y).
//
//go:noinline
func inplaceBinary(thread *Thread, op compile.Opcode, x, y Value) (Value, error) {
	if op == compile.INPLACE_ADD {
		// It's possible that y is not Iterable but
		// nonetheless defines x+y, in which case we
		// should fall back to the general case.
		if xlist, ok := x.(*List); ok {
			if yiter, ok := y.(Iterable); ok {
				if err := xlist.checkMutable("apply += to"); err != nil {
					return nil, err
				}
				if err := listExtend(thread, xlist, yiter); err != nil {
					return nil, err
				}
				return xlist, nil
			}
		}
		return binaryOp(thread, syntax.PLUS, x, y)
	}
	// It's possible that y is not Dict but
	// nonetheless defines x|y, in which case we
	// should fall back to the general case.
	if xdict, ok := x.(*Dict); ok {
		if ydict, ok := y.(*Dict); ok {
			if err := xdict.ht.checkMutable("apply |= to"); err != nil {
				return nil, err
			}
			if err := xdict.ht.addAll(thread, &ydict.ht); err != nil {
				return nil, err // cancelled
			}
			return xdict, nil
		}
	}
	return binaryOp(thread, syntax.PIPE, x, y)
}

// callArgs pops the arguments of a CALL with named arguments, or of a
// CALL_VAR, CALL_KW or CALL_VAR_KW, from stack[:sp], and returns them and
// the new sp, at which stack[sp-1] is the function.
//
//go:noinline
func callArgs(thread *Thread, op compile.Opcode, arg uint32, stack []Value, sp int) (positional Tuple, kvpairs []Tuple, _ int, err error) {
	var kwargs Value
	if op == compile.CALL_KW || op == compile.CALL_VAR_KW {
		kwargs = stack[sp-1]
		sp--
	}

	var args Value
	if op == compile.CALL_VAR || op == compile.CALL_VAR_KW {
		args = stack[sp-1]
		sp--
	}

	// named args (pairs)
	if nkvpairs := int(arg & 0xff); nkvpairs > 0 {
		kvpairs = make([]Tuple, 0, nkvpairs)
		kvpairsAlloc := make(Tuple, 2*nkvpairs) // allocate a single backing array
		sp -= 2 * nkvpairs
		for i := range nkvpairs {
			pair := kvpairsAlloc[:2:2]
			kvpairsAlloc = kvpairsAlloc[2:]
			pair[0] = stack[sp+2*i]   // name
			pair[1] = stack[sp+2*i+1] // value
			kvpairs = append(kvpairs, pair)
		}
	}
	if kwargs != nil {
		// Add key/value items from **kwargs dictionary.
		dict, ok := kwargs.(IterableMapping)
		if !ok {
			return nil, nil, sp, fmt.Errorf("argument after ** must be a mapping, not %s", kwargs.Type())
		}
		items := dict.Items()
		for _, item := range items {
			if !is[String](item[0]) {
				return nil, nil, sp, fmt.Errorf("keywords must be strings, not %s", item[0].Type())
			}
		}
		if len(kvpairs) == 0 {
			kvpairs = items
		} else {
			kvpairs = append(kvpairs, items...)
		}
	}

	// coro patch: a list's or a tuple's length is known, so the arguments
	// are allocated once rather than grown by appending (which allocates
	// about five times the final size: f(*[100k items]) allocated 8.5 MB
	// for 1.6 MB of arguments).
	var extra int
	switch args := args.(type) {
	case *List:
		extra = len(args.elems)
	case Tuple:
		extra = len(args)
	}

	// positional args
	if npos := int(arg >> 8); npos > 0 {
		positional = stack[sp-npos : sp]
		sp -= npos

		// Copy positional arguments into a new array,
		// unless the callee is another Starlark function,
		// in which case it can be trusted not to mutate them.
		if !is[*Function](stack[sp-1]) || args != nil {
			positional = append(make([]Value, 0, npos+extra), positional...)
		}
	}
	if args != nil {
		positional = slices.Grow(positional, extra)
		// Add elements from *args sequence.
		iter := Iterate(args)
		if iter == nil {
			return nil, nil, sp, fmt.Errorf("argument after * must be iterable, not %s", args.Type())
		}
		var elem Value
		for iter.Next(&elem) {
			// coro patch: a step per element, so that
			// f(*range(1 << 62)) can be stopped.
			if err = thread.Step(); err != nil {
				break
			}
			positional = append(positional, elem)
		}
		iter.Done()
		if reason := thread.cancelReason.Load(); err == nil && reason != nil {
			// coro patch (ORIGIN 70): an iterator whose Next failed
			// through the thread's host (Thread.Cancel, as coro's
			// generators do) stopped early; the call is not made
			// with the arguments read so far (lst.append(*g)
			// appended g's first value before failing).
			err = cancelledError(reason)
		}
		if err != nil {
			return nil, nil, sp, err
		}
	}
	return positional, kvpairs, sp, nil
}

// unpack implements UNPACK: it assigns the len(dst) elements of iterable
// to dst in reverse order (dst[len(dst)-1] is the first).
//
//go:noinline
func unpack(iterable Value, dst []Value) error {
	n := len(dst)
	iter := Iterate(iterable)
	if iter == nil {
		return fmt.Errorf("got %s in sequence assignment", iterable.Type())
	}
	defer iter.Done()
	i := 0
	for i < n && iter.Next(&dst[n-1-i]) {
		i++
	}
	var dummy Value
	if iter.Next(&dummy) {
		// NB: Len may return -1 here in obscure cases.
		return fmt.Errorf("too many values to unpack (got %d, want %d)", Len(iterable), n)
	}
	if i < n {
		return fmt.Errorf("too few values to unpack (got %d, want %d)", i, n)
	}
	return nil
}

// load implements LOAD: operands holds the names to load, last first,
// then the module's name; each name's slot receives its value.
//
//go:noinline
func load(thread *Thread, operands []Value) error {
	n := len(operands) - 1
	module := string(operands[n].(String))
	if thread.Load == nil {
		return fmt.Errorf("load not implemented by this application")
	}

	thread.endProfSpan()
	// coro patch (ORIGIN 38): Load is a Go frame, and a module whose top
	// level waits runs below it, where the thread cannot unwind: its
	// waits must park in place. CanUnwind sees only function frames (the
	// module's top level is one) and would let a wait unwind into Load.
	unwindable := thread.unwindable
	thread.unwindable = false
	dict, err := thread.Load(thread, module)
	thread.unwindable = unwindable
	thread.beginProfSpan()
	if err != nil {
		return wrappedError{
			msg:   fmt.Sprintf("cannot load %s: %v", module, err),
			cause: err,
		}
	}

	for i := range n {
		from := string(operands[n-1-i].(String))
		v, ok := dict[from]
		if !ok {
			err := fmt.Errorf("load: name %s not found in module %s", from, module)
			if n := spell.Nearest(from, dict.Keys()); n != "" {
				err = fmt.Errorf("%s (did you mean %s?)", err, n)
			}
			return err
		}
		operands[n-1-i] = v
	}
	return nil
}

type wrappedError struct {
	msg   string
	cause error
}

func (e wrappedError) Error() string {
	return e.msg
}

// Implements the xerrors.Wrapper interface
// https://godoc.org/golang.org/x/xerrors#Wrapper
func (e wrappedError) Unwrap() error {
	return e.cause
}

// mandatory is a sentinel value used in a function's defaults tuple
// to indicate that a (keyword-only) parameter is mandatory.
type mandatory struct{}

func (mandatory) String() string        { return "mandatory" }
func (mandatory) Type() string          { return "mandatory" }
func (mandatory) Freeze()               {} // immutable
func (mandatory) Truth() Bool           { return False }
func (mandatory) Hash() (uint32, error) { return 0, nil }

// A cell is a box containing a Value.
// Local variables marked as cells hold their value indirectly
// so that they may be shared by outer and inner nested functions.
// Cells are always accessed using indirect {FREE,LOCAL,SETLOCAL}CELL instructions.
// The FreeVars tuple contains only cells.
// The FREE instruction always yields a cell.
type cell struct{ v Value }

func (c *cell) String() string { return "cell" }
func (c *cell) Type() string   { return "cell" }
func (c *cell) Freeze() {
	if c.v != nil {
		c.v.Freeze()
	}
}
func (c *cell) Truth() Bool           { panic("unreachable") }
func (c *cell) Hash() (uint32, error) { panic("unreachable") }
