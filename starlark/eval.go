// Copyright 2017 The Bazel Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package starlark

import (
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"math/big"
	"math/bits"
	"sort"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/corolang/coro/starlark/internal/compile"
	"github.com/corolang/coro/starlark/internal/spell"
	"github.com/corolang/coro/starlark/resolve"
	"github.com/corolang/coro/starlark/syntax"
)

// A Thread contains the state of a Starlark thread,
// such as its call stack and thread-local storage.
// The Thread is threaded throughout the evaluator.
type Thread struct {
	// Name is an optional name that describes the thread, for debugging.
	Name string

	// stack is the stack of (internal) call frames.
	stack []*frame

	// stack0 and frames0 are the first two levels of stack, in the
	// Thread itself (coro patch, ORIGIN 24): most of coro's task threads
	// never go deeper, and each level cost two allocations (its frame
	// and the slice's growth). A Thread must not be copied once used.
	stack0  [2]*frame
	frames0 [2]frame

	// Print is the client-supplied implementation of the Starlark
	// 'print' function. If nil, fmt.Fprintln(os.Stderr, msg) is
	// used instead.
	Print func(thread *Thread, msg string)

	// Load is the client-supplied implementation of module loading.
	// Repeated calls with the same module name must return the same
	// module environment or error.
	// The error message need not include the module name.
	//
	// See example_test.go for some example implementations of Load.
	Load func(thread *Thread, module string) (StringDict, error)

	// OnMaxSteps is called when the thread reaches the limit set by SetMaxExecutionSteps.
	// The default behavior is to call thread.Cancel("too many steps").
	OnMaxSteps func(thread *Thread)

	// Steps a count of abstract computation steps executed
	// by this thread. It is incremented by the interpreter. It may be used
	// as a measure of the approximate cost of Starlark execution, by
	// computing the difference in its value before and after a computation.
	//
	// The precise meaning of "step" is not specified and may change.
	Steps, maxSteps uint64

	// cancelReason records the reason from the first call to Cancel.
	cancelReason atomic.Pointer[string]

	// locals holds arbitrary "thread-local" Go values belonging to the client.
	// They are accessible to the client but not to any Starlark program.
	locals map[string]any

	// Host is a value of the client's own, as a thread-local is, but
	// read without a map lookup. coro patch: coro's engine keeps the
	// thread's task (its *core.Exec) here; a builtin reads it at every
	// call.
	Host any

	// proftime holds the accumulated execution time since the last
	// profile event, in nanoseconds: less than a quantum between spans,
	// so 32 bits hold it, and it shares a word with unwindable (coro
	// patch, ORIGIN 77: room for method, the Thread staying at 288
	// bytes).
	proftime int32

	// unwindable: the host resumes the thread after it unwinds; cont is
	// the unwound builtin's continuation (coro patch, unwind.go).
	unwindable bool
	cont       func(*Thread) (Value, error)

	// method is the bound method callMethod gives a method of a
	// built-in type it calls, made on the thread's first such call and
	// unbound (no receiver) between calls (coro patch, ORIGIN 77).
	method *Builtin

	// OnStackful, if set, is told of each call on this thread of a
	// builtin marked Stackful that may unwind it (CanUnwind): if it
	// returns true, the call unwinds before the builtin runs, and the
	// builtin runs when the host resumes the thread (Resume), presumably
	// where its Go frames may be suspended. coro patch (ORIGIN 21): a
	// generator body that runs on its consumer's goroutine moves to a
	// goroutine of its own this way before a builtin calls back into it.
	OnStackful func(thread *Thread, b *Builtin) bool
}

// ExecutionSteps returns the current value of Steps.
func (thread *Thread) ExecutionSteps() uint64 {
	return thread.Steps
}

// SetMaxExecutionSteps sets a limit on the number of Starlark
// computation steps that may be executed by this thread. If the
// thread's step counter exceeds this limit, the interpreter calls
// the optional OnMaxSteps function or the default behavior
// of calling thread.Cancel("too many steps").
func (thread *Thread) SetMaxExecutionSteps(max uint64) {
	thread.maxSteps = max
}

// Uncancel resets the cancellation state.
//
// Unlike most methods of Thread, it is safe to call Uncancel from any
// goroutine, even if the thread is actively executing.
func (thread *Thread) Uncancel() {
	thread.cancelReason.Store(nil)
}

// Cancel causes execution of Starlark code in the specified thread to
// promptly fail with an EvalError that includes the specified reason.
// There may be a delay before the interpreter observes the cancellation
// if the thread is currently in a call to a built-in function.
//
// Call [Uncancel] to reset the cancellation state.
//
// Unlike most methods of Thread, it is safe to call Cancel from any
// goroutine, even if the thread is actively executing.
func (thread *Thread) Cancel(reason string) {
	// Atomically set cancelReason, preserving earlier reason if any.
	thread.cancelReason.CompareAndSwap(nil, &reason)
}

// SetLocal sets the thread-local value associated with the specified key.
// It must not be called after execution begins.
func (thread *Thread) SetLocal(key string, value any) {
	if thread.locals == nil {
		thread.locals = make(map[string]any)
	}
	thread.locals[key] = value
}

// Local returns the thread-local value associated with the specified key.
func (thread *Thread) Local(key string) any {
	return thread.locals[key]
}

// CallFrame returns a copy of the specified frame of the callstack.
// It should only be used in built-ins called from Starlark code.
// Depth 0 means the frame of the built-in itself, 1 is its caller, and so on.
//
// It is equivalent to CallStack().At(depth), but more efficient.
func (thread *Thread) CallFrame(depth int) CallFrame {
	return thread.frameAt(depth).asCallFrame()
}

func (thread *Thread) frameAt(depth int) *frame {
	return thread.stack[len(thread.stack)-1-depth]
}

// CallStack returns a new slice containing the thread's stack of call frames.
func (thread *Thread) CallStack() CallStack {
	frames := make([]CallFrame, len(thread.stack))
	for i, fr := range thread.stack {
		frames[i] = fr.asCallFrame()
	}
	return frames
}

// CallStackDepth returns the number of frames in the current call stack.
func (thread *Thread) CallStackDepth() int { return len(thread.stack) }

// A StringDict is a mapping from names to values, and represents
// an environment such as the global variables of a module.
// It is not a true starlark.Value.
type StringDict map[string]Value

// Keys returns a new sorted slice of d's keys.
func (d StringDict) Keys() []string {
	names := make([]string, 0, len(d))
	for name := range d {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func (d StringDict) String() string {
	buf := new(strings.Builder)
	buf.WriteByte('{')
	sep := ""
	for _, name := range d.Keys() {
		buf.WriteString(sep)
		buf.WriteString(name)
		buf.WriteString(": ")
		writeValue(buf, d[name], nil)
		sep = ", "
	}
	buf.WriteByte('}')
	return buf.String()
}

func (d StringDict) Freeze() {
	for _, v := range d {
		v.Freeze()
	}
}

// Has reports whether the dictionary contains the specified key.
func (d StringDict) Has(key string) bool { _, ok := d[key]; return ok }

// A frame records a call to a Starlark function (including module toplevel)
// or a built-in function or method.
type frame struct {
	callable Callable // current function (or toplevel) or built-in
	pc       uint32   // program counter (Starlark frames only)
	// locals are the local variables of a Starlark frame. Once its call
	// returned, locals is empty, its capacity the call's space (locals
	// and operand stack), cleared, for the next call at this depth to
	// reuse (coro patch, ORIGIN 75). Nothing refers to a call's space
	// once it returned: a Starlark callee copies its arguments
	// (setArgs), and a builtin gets a copy unless it borrows them
	// (BorrowsArgs).
	locals    []Value
	spanStart int64       // start time of current profiler span
	susp      *suspension // set while the frame is unwound (coro patch, unwind.go)
}

// maxSpare bounds the space a frame keeps for reuse (frame.locals), so
// that a thread that once ran a function with very many locals does not
// keep that much for good.
const maxSpare = 256

// keepSpace clears space, that of the call in fr that returned, and
// keeps it for the next call in fr (frame.locals).
func (fr *frame) keepSpace(space []Value) {
	clear(space)
	if cap(space) <= maxSpare {
		fr.locals = space[:0]
	} else {
		fr.locals = nil
	}
}

// Position returns the source position of the current point of execution in this frame.
func (fr *frame) Position() syntax.Position {
	switch c := fr.callable.(type) {
	case *Function:
		// Starlark function
		return c.funcode.Position(fr.pc)
	case callableWithPosition:
		// If a built-in Callable defines
		// a Position method, use it.
		return c.Position()
	}
	return syntax.MakePosition(&builtinFilename, 0, 0)
}

var builtinFilename = "<builtin>"

// Function returns the frame's function or built-in.
func (fr *frame) Callable() Callable { return fr.callable }

// A CallStack is a stack of call frames, outermost first.
type CallStack []CallFrame

// At returns a copy of the frame at depth i.
// At(0) returns the topmost frame.
func (stack CallStack) At(i int) CallFrame { return stack[len(stack)-1-i] }

// Pop removes and returns the topmost frame.
func (stack *CallStack) Pop() CallFrame {
	last := len(*stack) - 1
	top := (*stack)[last]
	*stack = (*stack)[:last]
	return top
}

// String returns a user-friendly description of the stack.
func (stack CallStack) String() string {
	out := new(strings.Builder)
	if len(stack) > 0 {
		fmt.Fprintf(out, "Traceback (most recent call last):\n")
	}
	for _, fr := range stack {
		fmt.Fprintf(out, "  %s: in %s\n", fr.Pos, fr.Name)
	}
	return out.String()
}

// An EvalError is a Starlark evaluation error and
// a copy of the thread's stack at the moment of the error.
type EvalError struct {
	Msg       string
	CallStack CallStack
	cause     error
}

// A CallFrame represents the function name and current
// position of execution of an enclosing call frame.
type CallFrame struct {
	Name string
	Pos  syntax.Position
}

func (fr *frame) asCallFrame() CallFrame {
	return CallFrame{
		Name: fr.Callable().Name(),
		Pos:  fr.Position(),
	}
}

// A FramedError is an error that knows the call frames where it arose
// (coro patch). When a builtin returns one with non-nil Frames, Call wraps
// it in an EvalError with those frames rather than the current stack, so
// an error passing up through many builtins costs O(1) per level.
type FramedError interface {
	error
	Frames() CallStack
}

func (thread *Thread) evalError(err error) *EvalError {
	return &EvalError{
		Msg:       err.Error(),
		CallStack: thread.CallStack(),
		cause:     err,
	}
}

func (e *EvalError) Error() string { return e.Msg }

// Backtrace returns a user-friendly error message describing the stack
// of calls that led to this error.
func (e *EvalError) Backtrace() string {
	// If the topmost stack frame is a built-in function,
	// remove it from the stack and add print "Error in fn:".
	stack := e.CallStack
	suffix := ""
	if last := len(stack) - 1; last >= 0 && stack[last].Pos.Filename() == builtinFilename {
		suffix = " in " + stack[last].Name
		stack = stack[:last]
	}
	return fmt.Sprintf("%sError%s: %s", stack, suffix, e.Msg)
}

func (e *EvalError) Unwrap() error { return e.cause }

// A Program is a compiled Starlark program.
//
// Programs are immutable, and contain no Values.
// A Program may be created by parsing a source file (see SourceProgram)
// or by loading a previously saved compiled program (see CompiledProgram).
type Program struct {
	compiled *compile.Program
}

// CompilerVersion is the version number of the protocol for compiled
// files. Applications must not run programs compiled by one version
// with an interpreter at another version, and should thus incorporate
// the compiler version into the cache key when reusing compiled code.
const CompilerVersion = compile.Version

// Filename returns the name of the file from which this program was loaded.
func (prog *Program) Filename() string { return prog.compiled.Toplevel.Pos.Filename() }

func (prog *Program) String() string { return prog.Filename() }

// NumLoads returns the number of load statements in the compiled program.
func (prog *Program) NumLoads() int { return len(prog.compiled.Loads) }

// Load(i) returns the name and position of the i'th module directly
// loaded by this one, where 0 <= i < NumLoads().
// The name is unresolved---exactly as it appears in the source.
func (prog *Program) Load(i int) (string, syntax.Position) {
	id := prog.compiled.Loads[i]
	return id.Name, id.Pos
}

// WriteTo writes the compiled module to the specified output stream.
func (prog *Program) Write(out io.Writer) error {
	data := prog.compiled.Encode()
	_, err := out.Write(data)
	return err
}

// ExecFile calls [ExecFileOptions] using [syntax.LegacyFileOptions].
//
// Deprecated: use [ExecFileOptions] with [syntax.FileOptions] instead,
// because this function relies on legacy global variables.
func ExecFile(thread *Thread, filename string, src any, predeclared StringDict) (StringDict, error) {
	return ExecFileOptions(syntax.LegacyFileOptions(), thread, filename, src, predeclared)
}

// ExecFileOptions parses, resolves, and executes a Starlark file in the
// specified global environment, which may be modified during execution.
//
// Thread is the state associated with the Starlark thread.
//
// The filename and src parameters are as for syntax.Parse:
// filename is the name of the file to execute,
// and the name that appears in error messages;
// src is an optional source of bytes to use
// instead of filename.
//
// predeclared defines the predeclared names specific to this module.
// Execution does not modify this dictionary, though it may mutate
// its values.
//
// If ExecFileOptions fails during evaluation, it returns an *EvalError
// containing a backtrace.
func ExecFileOptions(opts *syntax.FileOptions, thread *Thread, filename string, src any, predeclared StringDict) (StringDict, error) {
	// Parse, resolve, and compile a Starlark source file.
	_, mod, err := SourceProgramOptions(opts, filename, src, predeclared.Has)
	if err != nil {
		return nil, err
	}

	g, err := mod.Init(thread, predeclared)
	g.Freeze()
	return g, err
}

// SourceProgram calls [SourceProgramOptions] using [syntax.LegacyFileOptions].
//
// Deprecated: use [SourceProgramOptions] with [syntax.FileOptions] instead,
// because this function relies on legacy global variables.
func SourceProgram(filename string, src any, isPredeclared func(string) bool) (*syntax.File, *Program, error) {
	return SourceProgramOptions(syntax.LegacyFileOptions(), filename, src, isPredeclared)
}

// SourceProgramOptions produces a new program by parsing, resolving,
// and compiling a Starlark source file.
// On success, it returns the parsed file and the compiled program.
// The filename and src parameters are as for syntax.Parse.
//
// The isPredeclared predicate reports whether a name is
// a pre-declared identifier of the current module.
// Its typical value is predeclared.Has,
// where predeclared is a StringDict of pre-declared values.
func SourceProgramOptions(opts *syntax.FileOptions, filename string, src any, isPredeclared func(string) bool) (*syntax.File, *Program, error) {
	f, err := opts.Parse(filename, src, 0)
	if err != nil {
		return nil, nil, err
	}
	prog, err := FileProgram(f, isPredeclared)
	return f, prog, err
}

// FileProgram produces a new program by resolving,
// and compiling the Starlark source file syntax tree.
// On success, it returns the compiled program.
//
// Resolving a syntax tree mutates it.
// Do not call FileProgram more than once on the same file.
//
// The isPredeclared predicate reports whether a name is
// a pre-declared identifier of the current module.
// Its typical value is predeclared.Has,
// where predeclared is a StringDict of pre-declared values.
func FileProgram(f *syntax.File, isPredeclared func(string) bool) (*Program, error) {
	if err := resolve.File(f, isPredeclared, Universe.Has); err != nil {
		return nil, err
	}

	var pos syntax.Position
	if len(f.Stmts) > 0 {
		pos = syntax.Start(f.Stmts[0])
	} else {
		pos = syntax.MakePosition(&f.Path, 1, 1)
	}

	module := f.Module.(*resolve.Module)
	compiled := compile.File(f.Options, f.Stmts, pos, "<toplevel>", module.Locals, module.Globals)

	return &Program{compiled}, nil
}

// CompiledProgram produces a new program from the representation
// of a compiled program previously saved by Program.Write.
func CompiledProgram(in io.Reader) (*Program, error) {
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, err
	}
	compiled, err := compile.DecodeProgram(data)
	if err != nil {
		return nil, err
	}
	return &Program{compiled}, nil
}

// Init creates a set of global variables for the program,
// executes the toplevel code of the specified program,
// and returns a new, unfrozen dictionary of the globals.
func (prog *Program) Init(thread *Thread, predeclared StringDict) (StringDict, error) {
	toplevel := makeToplevelFunction(prog, predeclared)

	_, err := Call(thread, toplevel, nil, nil)

	// Convert the global environment to a map.
	// We return a (partial) map even in case of error.
	return toplevel.Globals(), err
}

// Toplevel returns the function that executes prog's toplevel code, for a
// host that calls it itself rather than through Init: a thread that waits
// unwound (Thread.Unwind) can do so at module toplevel only when no Go
// frame lies below it. Init is Call of this function followed by its
// Globals. coro patch (ORIGIN 19).
func (prog *Program) Toplevel(predeclared StringDict) *Function {
	return makeToplevelFunction(prog, predeclared)
}

// ExecREPLChunk compiles and executes file f in the specified thread
// and global environment. This is a variant of ExecFile specialized to
// the needs of a REPL, in which a sequence of input chunks, each
// syntactically a File, manipulates the same set of module globals,
// which are not frozen after execution.
//
// This function is intended to support only go.starlark.net/repl.
// Its API stability is not guaranteed.
func ExecREPLChunk(f *syntax.File, thread *Thread, globals StringDict) error {
	var predeclared StringDict

	// -- variant of FileProgram --

	if err := resolve.REPLChunk(f, globals.Has, predeclared.Has, Universe.Has); err != nil {
		return err
	}

	var pos syntax.Position
	if len(f.Stmts) > 0 {
		pos = syntax.Start(f.Stmts[0])
	} else {
		pos = syntax.MakePosition(&f.Path, 1, 1)
	}

	module := f.Module.(*resolve.Module)
	compiled := compile.File(f.Options, f.Stmts, pos, "<toplevel>", module.Locals, module.Globals)
	prog := &Program{compiled}

	// -- variant of Program.Init --

	toplevel := makeToplevelFunction(prog, predeclared)

	// Initialize module globals from parameter.
	for i, id := range prog.compiled.Globals {
		if v := globals[id.Name]; v != nil {
			toplevel.module.globals[i] = v
		}
	}

	_, err := Call(thread, toplevel, nil, nil)

	// Reflect changes to globals back to parameter, even after an error.
	for i, id := range prog.compiled.Globals {
		if v := toplevel.module.globals[i]; v != nil {
			globals[id.Name] = v
		}
	}

	return err
}

func makeToplevelFunction(prog *Program, predeclared StringDict) *Function {
	// Create the Starlark value denoted by each program constant c.
	constants := make([]Value, len(prog.compiled.Constants))
	for i, c := range prog.compiled.Constants {
		var v Value
		switch c := c.(type) {
		case int64:
			v = MakeInt64(c)
		case *big.Int:
			v = MakeBigInt(c)
		case string:
			v = String(c)
		case compile.Bytes:
			v = Bytes(c)
		case float64:
			v = Float(c)
		default:
			log.Panicf("unexpected constant %T: %v", c, c)
		}
		constants[i] = v
	}

	return &Function{
		funcode: prog.compiled.Toplevel,
		module: &Module{
			program:     prog,
			predeclared: predeclared,
			globals:     make([]Value, len(prog.compiled.Globals)),
			constants:   constants,
			named:       lookupNames(prog.compiled.Names, predeclared),
		},
	}
}

// lookupNames returns the value each name has as a predeclared or
// (failing that, as the resolver does) a universal name, nil for neither
// (coro patch, ORIGIN 23).
func lookupNames(names []string, predeclared StringDict) []Value {
	named := make([]Value, len(names))
	for i, name := range names {
		if v, ok := predeclared[name]; ok {
			named[i] = v
		} else {
			named[i] = Universe[name]
		}
	}
	return named
}

// Eval calls [EvalOptions] using [syntax.LegacyFileOptions].
//
// Deprecated: use [EvalOptions] with [syntax.FileOptions] instead,
// because this function relies on legacy global variables.
func Eval(thread *Thread, filename string, src any, env StringDict) (Value, error) {
	return EvalOptions(syntax.LegacyFileOptions(), thread, filename, src, env)
}

// EvalOptions parses, resolves, and evaluates an expression within the
// specified (predeclared) environment.
//
// Evaluation cannot mutate the environment dictionary itself,
// though it may modify variables reachable from the dictionary.
//
// The filename and src parameters are as for syntax.Parse.
//
// If EvalOptions fails during evaluation, it returns an *EvalError
// containing a backtrace.
func EvalOptions(opts *syntax.FileOptions, thread *Thread, filename string, src any, env StringDict) (Value, error) {
	expr, err := opts.ParseExpr(filename, src, 0)
	if err != nil {
		return nil, err
	}
	f, err := makeExprFunc(opts, expr, env)
	if err != nil {
		return nil, err
	}
	return Call(thread, f, nil, nil)
}

// EvalExpr calls [EvalExprOptions] using [syntax.LegacyFileOptions].
//
// Deprecated: use [EvalExprOptions] with [syntax.FileOptions] instead,
// because this function relies on legacy global variables.
func EvalExpr(thread *Thread, expr syntax.Expr, env StringDict) (Value, error) {
	return EvalExprOptions(syntax.LegacyFileOptions(), thread, expr, env)
}

// EvalExprOptions resolves and evaluates an expression within the
// specified (predeclared) environment.
// Evaluating a comma-separated list of expressions yields a tuple value.
//
// Resolving an expression mutates it.
// Do not call EvalExprOptions more than once for the same expression.
//
// Evaluation cannot mutate the environment dictionary itself,
// though it may modify variables reachable from the dictionary.
//
// If EvalExprOptions fails during evaluation, it returns an *EvalError
// containing a backtrace.
func EvalExprOptions(opts *syntax.FileOptions, thread *Thread, expr syntax.Expr, env StringDict) (Value, error) {
	fn, err := makeExprFunc(opts, expr, env)
	if err != nil {
		return nil, err
	}
	return Call(thread, fn, nil, nil)
}

// ExprFunc calls [ExprFuncOptions] using [syntax.LegacyFileOptions].
//
// Deprecated: use [ExprFuncOptions] with [syntax.FileOptions] instead,
// because this function relies on legacy global variables.
func ExprFunc(filename string, src any, env StringDict) (*Function, error) {
	return ExprFuncOptions(syntax.LegacyFileOptions(), filename, src, env)
}

// ExprFunc returns a no-argument function
// that evaluates the expression whose source is src.
func ExprFuncOptions(options *syntax.FileOptions, filename string, src any, env StringDict) (*Function, error) {
	expr, err := options.ParseExpr(filename, src, 0)
	if err != nil {
		return nil, err
	}
	return makeExprFunc(options, expr, env)
}

// makeExprFunc returns a no-argument function whose body is expr.
// The options must be consistent with those used when parsing expr.
func makeExprFunc(opts *syntax.FileOptions, expr syntax.Expr, env StringDict) (*Function, error) {
	locals, err := resolve.ExprOptions(opts, expr, env.Has, Universe.Has)
	if err != nil {
		return nil, err
	}

	prog := compile.Expr(opts, expr, "<expr>", locals)
	return makeToplevelFunction(&Program{prog}, env), nil
}

// The following functions are primitive operations of the byte code interpreter.

// list += iterable
//
// coro patch: each element of a non-list iterable costs a step
// (Thread.Step), so l += range(1 << 62) can be stopped.
func listExtend(thread *Thread, x *List, y Iterable) error {
	if ylist, ok := y.(*List); ok {
		// fast path: list += list
		if n := len(x.elems) + len(ylist.elems); n > cap(x.elems) {
			if err := thread.CheckAlloc("list extend", uint64(n)*uint64(valueSize)); err != nil {
				return err
			}
		}
		x.elems = append(x.elems, ylist.elems...)
	} else {
		iter := y.Iterate()
		defer iter.Done()
		var z Value
		for iter.Next(&z) {
			if err := thread.Step(); err != nil {
				return err
			}
			x.elems = append(x.elems, z)
		}
	}
	return nil
}

// getAttr implements x.dot.
func getAttr(x Value, name string) (Value, error) {
	hasAttr, ok := x.(HasAttrs)
	if !ok {
		return nil, fmt.Errorf("%s has no .%s field or method", x.Type(), name)
	}

	var errmsg string
	v, err := hasAttr.Attr(name)
	if err == nil {
		if v != nil {
			return v, nil // success
		}
		// (nil, nil) => generic error
		errmsg = fmt.Sprintf("%s has no .%s field or method", x.Type(), name)
	} else if nsa, ok := err.(NoSuchAttrError); ok {
		errmsg = string(nsa)
	} else {
		return nil, err // return error as is
	}

	// add spelling hint
	if n := spell.Nearest(name, hasAttr.AttrNames()); n != "" {
		errmsg = fmt.Sprintf("%s (did you mean .%s?)", errmsg, n)
	}

	return nil, fmt.Errorf("%s", errmsg)
}

// setField implements x.name = y.
func setField(x Value, name string, y Value) error {
	if x, ok := x.(HasSetField); ok {
		err := x.SetField(name, y)
		if is[NoSuchAttrError](err) {
			// No such field: check spelling.
			if n := spell.Nearest(name, x.AttrNames()); n != "" {
				err = fmt.Errorf("%s (did you mean .%s?)", err, n)
			}
		}
		return err
	}

	return fmt.Errorf("can't assign to .%s field of %s", name, x.Type())
}

// getIndex implements x[y]. A dict compares keys with thread (coro
// patch, ORIGIN 36).
func getIndex(thread *Thread, x, y Value) (Value, error) {
	switch x := x.(type) {
	case Mapping: // dict
		var z Value
		var found bool
		var err error
		if d, ok := x.(*Dict); ok {
			z, found, err = d.ht.lookup(thread, y)
		} else {
			z, found, err = x.Get(y)
		}
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("key %v not in %s", y, x.Type())
		}
		return z, nil

	case Indexable: // string, list, tuple
		if r, ok := x.(rangeValue); ok && r.len > math.MaxInt {
			// coro patch (ORIGIN 64, 71): longer than Len says.
			return r.indexLong(y)
		}
		n := x.Len()
		// coro patch (ORIGIN 71): any int, where upstream took
		// int32s (range(2**40)[2**35] failed).
		i, exact, err := indexInt(y)
		if err != nil {
			return nil, fmt.Errorf("%s index: %s", x.Type(), err)
		}
		if !exact {
			return nil, outOfRange(y, uint64(n), x)
		}
		origI := i
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return nil, outOfRange(origI, uint64(n), x)
		}
		return x.Index(i), nil
	}
	return nil, fmt.Errorf("unhandled index operation %s[%s]", x.Type(), y.Type())
}

// outOfRange reports index i (an int or an Int) of x, of length n, out of
// range. (coro patch, ORIGIN 71: n is a uint64, for a range's length.)
func outOfRange(i any, n uint64, x Value) error {
	if n == 0 {
		return fmt.Errorf("index %v out of range: empty %s", i, x.Type())
	} else {
		return fmt.Errorf("%s index %v out of range [-%d:%d]", x.Type(), i, n, n-1)
	}
}

// indexInt returns the value of v, an index, a slice bound or a slice
// step, and whether it is exact: an int past [-MaxInt, MaxInt] is
// clamped to that interval (coro patch, ORIGIN 71). Upstream took only
// int32s, so range(2**40)[2**35] and range(2**40)[2**35:] failed. No
// sequence whose Len is an int has an element past an int, so a clamped
// bound or step selects what the true one would, and a clamped index is
// out of range; the clamped value can be negated.
func indexInt(v Value) (i int, exact bool, err error) {
	x, ok := v.(Int)
	if !ok {
		return 0, false, fmt.Errorf("got %s, want int", v.Type())
	}
	if small, big := x.get(); big == nil && -math.MaxInt <= small && small <= math.MaxInt {
		return int(small), true, nil
	}
	if x.Sign() < 0 {
		return -math.MaxInt, false, nil
	}
	return math.MaxInt, false, nil
}

// setIndex implements x[y] = z. A dict compares keys with thread
// (coro patch, ORIGIN 36).
func setIndex(thread *Thread, x, y, z Value) error {
	switch x := x.(type) {
	case *Dict:
		if err := x.ht.insert(thread, y, z); err != nil {
			return err
		}

	case HasSetKey:
		if err := x.SetKey(y, z); err != nil {
			return err
		}

	case HasSetIndex:
		n := x.Len()
		i, err := AsInt32(y)
		if err != nil {
			return err
		}
		origI := i
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return outOfRange(origI, uint64(n), x)
		}
		return x.SetIndex(i, z)

	default:
		return fmt.Errorf("%s value does not support item assignment", x.Type())
	}
	return nil
}

// Unary applies a unary operator (+, -, ~, not) to its operand.
func Unary(op syntax.Token, x Value) (Value, error) {
	// The NOT operator is not customizable.
	if op == syntax.NOT {
		return !x.Truth(), nil
	}

	// Int, Float, and user-defined types
	if x, ok := x.(HasUnary); ok {
		// (nil, nil) => unhandled
		y, err := x.Unary(op)
		if y != nil || err != nil {
			return y, err
		}
	}

	return nil, fmt.Errorf("unknown unary op: %s %s", op, x.Type())
}

// Binary applies a strict binary operator (not AND or OR) to its operands.
// For equality tests or ordered comparisons, use Compare instead.
func Binary(op syntax.Token, x, y Value) (Value, error) { return binaryOp(nil, op, x, y) }

// binaryOp is Binary for the interpreter, which has a thread: "%s" % x
// charges it a step per value of x it writes (coro patch, ORIGIN 33).
func binaryOp(thread *Thread, op syntax.Token, x, y Value) (Value, error) {
	switch op {
	case syntax.PLUS:
		switch x := x.(type) {
		case String:
			if y, ok := y.(String); ok {
				if err := thread.CheckAlloc("string concatenation", uint64(len(x))+uint64(len(y))); err != nil {
					return nil, err
				}
				return x + y, nil
			}
		case Bytes:
			if y, ok := y.(Bytes); ok {
				if err := thread.CheckAlloc("bytes concatenation", uint64(len(x))+uint64(len(y))); err != nil {
					return nil, err
				}
				return x + y, nil
			}
		case Int:
			switch y := y.(type) {
			case Int:
				return x.Add(y), nil
			case Float:
				xf, err := x.finiteFloat()
				if err != nil {
					return nil, err
				}
				return xf + y, nil
			}
		case Float:
			switch y := y.(type) {
			case Float:
				return x + y, nil
			case Int:
				yf, err := y.finiteFloat()
				if err != nil {
					return nil, err
				}
				return x + yf, nil
			}
		case *List:
			if y, ok := y.(*List); ok {
				if err := thread.CheckAlloc("list concatenation", uint64(x.Len()+y.Len())*uint64(valueSize)); err != nil {
					return nil, err
				}
				z := make([]Value, 0, x.Len()+y.Len())
				z = append(z, x.elems...)
				z = append(z, y.elems...)
				return NewList(z), nil
			}
		case Tuple:
			if y, ok := y.(Tuple); ok {
				if err := thread.CheckAlloc("tuple concatenation", uint64(len(x)+len(y))*uint64(valueSize)); err != nil {
					return nil, err
				}
				z := make(Tuple, 0, len(x)+len(y))
				z = append(z, x...)
				z = append(z, y...)
				return z, nil
			}
		}

	case syntax.MINUS:
		switch x := x.(type) {
		case Int:
			switch y := y.(type) {
			case Int:
				return x.Sub(y), nil
			case Float:
				xf, err := x.finiteFloat()
				if err != nil {
					return nil, err
				}
				return xf - y, nil
			}
		case Float:
			switch y := y.(type) {
			case Float:
				return x - y, nil
			case Int:
				yf, err := y.finiteFloat()
				if err != nil {
					return nil, err
				}
				return x - yf, nil
			}
		case *Set: // difference
			if y, ok := y.(*Set); ok {
				iter := y.Iterate()
				defer iter.Done()
				return x.difference(thread, iter)
			}
		}

	case syntax.STAR:
		switch x := x.(type) {
		case Int:
			switch y := y.(type) {
			case Int:
				return x.Mul(y), nil
			case Float:
				xf, err := x.finiteFloat()
				if err != nil {
					return nil, err
				}
				return xf * y, nil
			case String:
				return stringRepeat(thread, "string repeat", y, x)
			case Bytes:
				return bytesRepeat(thread, y, x)
			case *List:
				elems, err := tupleRepeat(thread, "list repeat", Tuple(y.elems), x)
				if err != nil {
					return nil, err
				}
				return NewList(elems), nil
			case Tuple:
				return tupleRepeat(thread, "tuple repeat", y, x)
			}
		case Float:
			switch y := y.(type) {
			case Float:
				return x * y, nil
			case Int:
				yf, err := y.finiteFloat()
				if err != nil {
					return nil, err
				}
				return x * yf, nil
			}
		case String:
			if y, ok := y.(Int); ok {
				return stringRepeat(thread, "string repeat", x, y)
			}
		case Bytes:
			if y, ok := y.(Int); ok {
				return bytesRepeat(thread, x, y)
			}
		case *List:
			if y, ok := y.(Int); ok {
				elems, err := tupleRepeat(thread, "list repeat", Tuple(x.elems), y)
				if err != nil {
					return nil, err
				}
				return NewList(elems), nil
			}
		case Tuple:
			if y, ok := y.(Int); ok {
				return tupleRepeat(thread, "tuple repeat", x, y)
			}

		}

	case syntax.SLASH:
		switch x := x.(type) {
		case Int:
			xf, err := x.finiteFloat()
			if err != nil {
				return nil, err
			}
			switch y := y.(type) {
			case Int:
				yf, err := y.finiteFloat()
				if err != nil {
					return nil, err
				}
				if yf == 0.0 {
					return nil, fmt.Errorf("floating-point division by zero")
				}
				return xf / yf, nil
			case Float:
				if y == 0.0 {
					return nil, fmt.Errorf("floating-point division by zero")
				}
				return xf / y, nil
			}
		case Float:
			switch y := y.(type) {
			case Float:
				if y == 0.0 {
					return nil, fmt.Errorf("floating-point division by zero")
				}
				return x / y, nil
			case Int:
				yf, err := y.finiteFloat()
				if err != nil {
					return nil, err
				}
				if yf == 0.0 {
					return nil, fmt.Errorf("floating-point division by zero")
				}
				return x / yf, nil
			}
		}

	case syntax.SLASHSLASH:
		switch x := x.(type) {
		case Int:
			switch y := y.(type) {
			case Int:
				if y.Sign() == 0 {
					return nil, fmt.Errorf("floored division by zero")
				}
				return x.Div(y), nil
			case Float:
				xf, err := x.finiteFloat()
				if err != nil {
					return nil, err
				}
				if y == 0.0 {
					return nil, fmt.Errorf("floored division by zero")
				}
				return floor(xf / y), nil
			}
		case Float:
			switch y := y.(type) {
			case Float:
				if y == 0.0 {
					return nil, fmt.Errorf("floored division by zero")
				}
				return floor(x / y), nil
			case Int:
				yf, err := y.finiteFloat()
				if err != nil {
					return nil, err
				}
				if yf == 0.0 {
					return nil, fmt.Errorf("floored division by zero")
				}
				return floor(x / yf), nil
			}
		}

	case syntax.PERCENT:
		switch x := x.(type) {
		case Int:
			switch y := y.(type) {
			case Int:
				if y.Sign() == 0 {
					return nil, fmt.Errorf("integer modulo by zero")
				}
				return x.Mod(y), nil
			case Float:
				xf, err := x.finiteFloat()
				if err != nil {
					return nil, err
				}
				if y == 0 {
					return nil, fmt.Errorf("floating-point modulo by zero")
				}
				return xf.Mod(y), nil
			}
		case Float:
			switch y := y.(type) {
			case Float:
				if y == 0.0 {
					return nil, fmt.Errorf("floating-point modulo by zero")
				}
				return x.Mod(y), nil
			case Int:
				if y.Sign() == 0 {
					return nil, fmt.Errorf("floating-point modulo by zero")
				}
				yf, err := y.finiteFloat()
				if err != nil {
					return nil, err
				}
				return x.Mod(yf), nil
			}
		case String:
			return interpolate(thread, string(x), y)
		}

	case syntax.NOT_IN:
		z, err := binaryOp(thread, syntax.IN, x, y)
		if err != nil {
			return nil, err
		}
		return !z.Truth(), nil

	case syntax.IN:
		switch y := y.(type) {
		case *List: // coro patch (ORIGIN 34): a step per element
			i, err := (&Comparer{thread: thread}).listIndex(y, 0, y.Len(), x)
			return Bool(i >= 0), err
		case Tuple:
			i, err := (&Comparer{thread: thread}).index(y, x)
			return Bool(i >= 0), err
		case *Set: // coro patch (ORIGIN 36): keys compared with thread
			_, found, err := y.ht.lookup(thread, x)
			return Bool(found), err
		case Container: // List, Tuple, Set, String, Bytes, rangeValue etc.
			found, err := y.Has(x)
			return Bool(found), err
		case *Dict: // coro patch (ORIGIN 36): keys compared with thread
			// As for any Mapping, errors are not reported (see below),
			// except that the thread was cancelled meanwhile.
			_, found, err := y.ht.lookup(thread, x)
			if err != nil && thread != nil && thread.cancelReason.Load() != nil {
				return nil, err
			}
			return Bool(found), nil
		case Mapping: // e.g. dict
			// Ignore error from Get as we cannot distinguish true
			// errors (value cycle, type error) from "key not found".
			_, found, _ := y.Get(x)
			return Bool(found), nil
		}

	case syntax.PIPE:
		switch x := x.(type) {
		case Int:
			if y, ok := y.(Int); ok {
				return x.Or(y), nil
			}

		case *Dict: // union
			if y, ok := y.(*Dict); ok {
				return x.union(thread, y)
			}

		case *Set: // union
			if y, ok := y.(*Set); ok {
				iter := Iterate(y)
				defer iter.Done()
				return x.union(thread, iter)
			}
		}

	case syntax.AMP:
		switch x := x.(type) {
		case Int:
			if y, ok := y.(Int); ok {
				return x.And(y), nil
			}
		case *Set: // intersection
			if y, ok := y.(*Set); ok {
				iter := y.Iterate()
				defer iter.Done()
				return x.intersection(thread, iter)
			}
		}

	case syntax.CIRCUMFLEX:
		switch x := x.(type) {
		case Int:
			if y, ok := y.(Int); ok {
				return x.Xor(y), nil
			}
		case *Set: // symmetric difference
			if y, ok := y.(*Set); ok {
				iter := y.Iterate()
				defer iter.Done()
				return x.symmetricDifference(thread, iter)
			}
		}

	case syntax.LTLT, syntax.GTGT:
		if x, ok := x.(Int); ok {
			y, err := AsInt32(y)
			if err != nil {
				return nil, err
			}
			if y < 0 {
				return nil, fmt.Errorf("negative shift count: %v", y)
			}
			if op == syntax.LTLT {
				if y >= 512 {
					return nil, fmt.Errorf("shift count too large: %v", y)
				}
				return x.Lsh(uint(y)), nil
			} else {
				return x.Rsh(uint(y)), nil
			}
		}

	default:
		// unknown operator
		goto unknown
	}

	// user-defined types
	// (nil, nil) => unhandled
	if x, ok := x.(HasBinary); ok {
		z, err := x.Binary(op, y, Left)
		if z != nil || err != nil {
			return z, err
		}
	}
	if y, ok := y.(HasBinary); ok {
		z, err := y.Binary(op, x, Right)
		if z != nil || err != nil {
			return z, err
		}
	}

	// unsupported operand types
unknown:
	return nil, fmt.Errorf("unknown binary op: %s %s %s", x.Type(), op, y.Type())
}

// It's always possible to overeat in small bites but we'll
// try to stop someone swallowing the world in one gulp.
// maxAlloc is in bytes: a repeat of a list or tuple counts its elements'
// size (valueSize each), as a string's counts its bytes (coro patch,
// ORIGIN 46: upstream counted elements, so [0] * 1000000000 asked for
// 16 GiB in one make).
const maxAlloc = 1 << 30

// valueSize is the size in bytes of one element of a list or tuple.
const valueSize = uint(unsafe.Sizeof(Value(nil)))

func tupleRepeat(thread *Thread, what string, elems Tuple, n Int) (Tuple, error) {
	if len(elems) == 0 {
		return nil, nil
	}
	i, err := AsInt32(n)
	if err != nil {
		return nil, fmt.Errorf("repeat count %s too large", n)
	}
	if i < 1 {
		return nil, nil
	}
	// Inv: i > 0, len > 0
	of, sz := bits.Mul(uint(len(elems)), uint(i))
	ofb, bytes := bits.Mul(sz, valueSize)
	if of != 0 || ofb != 0 || bytes >= maxAlloc { // of != 0 => overflow
		// Don't print sz.
		return nil, fmt.Errorf("excessive repeat (%d * %d elements of %d bytes: over 1 GiB)", len(elems), i, valueSize)
	}
	if err := thread.CheckAlloc(what, uint64(bytes)); err != nil {
		return nil, err
	}
	res := make([]Value, sz)
	// copy elems into res, doubling each time
	x := copy(res, elems)
	for x < len(res) {
		copy(res[x:], res[:x])
		x *= 2
	}
	return res, nil
}

func bytesRepeat(thread *Thread, b Bytes, n Int) (Bytes, error) {
	res, err := stringRepeat(thread, "bytes repeat", String(b), n)
	return Bytes(res), err
}

func stringRepeat(thread *Thread, what string, s String, n Int) (String, error) {
	if s == "" {
		return "", nil
	}
	i, err := AsInt32(n)
	if err != nil {
		return "", fmt.Errorf("repeat count %s too large", n)
	}
	if i < 1 {
		return "", nil
	}
	// Inv: i > 0, len > 0
	of, sz := bits.Mul(uint(len(s)), uint(i))
	if of != 0 || sz >= maxAlloc { // of != 0 => overflow
		// Don't print sz.
		return "", fmt.Errorf("excessive repeat (%d * %d elements)", len(s), i)
	}
	if err := thread.CheckAlloc(what, uint64(sz)); err != nil {
		return "", err
	}
	return String(strings.Repeat(string(s), i)), nil
}

// Call calls the function fn with the specified positional and keyword arguments.
func Call(thread *Thread, fn Value, args Tuple, kwargs []Tuple) (Value, error) {
	c, ok := fn.(Callable)
	if !ok {
		return nil, notCallableError(fn)
	}

	if thread.stack == nil {
		// one-time initialization of thread
		if thread.maxSteps == 0 {
			thread.maxSteps-- // (MaxUint64)
		}
		thread.stack0 = [2]*frame{&thread.frames0[0], &thread.frames0[1]}
		thread.stack = thread.stack0[:0]
	}

	// coro patch (ORIGIN 17): a builtin calling back into Starlark
	// (sorted's key, a host's task body) ends its own span first, as the
	// interpreter does for a Starlark caller, so that the callee's time is
	// not counted in the builtin too.
	pauseCaller := profiler.events != nil && len(thread.stack) > 0 && !is[*Function](thread.stack[len(thread.stack)-1].callable)
	if pauseCaller {
		thread.endProfSpan()
	}

	fr := thread.pushFrame(c)

	// Use defer to ensure that panics from built-ins
	// pass through the interpreter without leaving
	// it in a bad state.
	defer func() {
		if fr.susp != nil {
			return // unwound: the frame stays, to be resumed (coro patch, unwind.go)
		}
		thread.popFrame(fr)
		if pauseCaller {
			thread.beginProfSpan()
		}
	}()

	result, err := c.CallInternal(thread, args, kwargs)
	return callResult(thread, fn, result, err)
}

// pushFrame pushes the frame of a call of c and begins its profile span.
func (thread *Thread) pushFrame(c Callable) *frame {
	// Allocate and push a new frame.
	var fr *frame
	// Optimization: use slack portion of thread.stack
	// slice as a freelist of empty frames.
	if n := len(thread.stack); n < cap(thread.stack) {
		fr = thread.stack[n : n+1][0]
	}
	if fr == nil {
		fr = new(frame)
	}
	thread.stack = append(thread.stack, fr) // push
	fr.callable = c
	thread.beginProfSpan()
	return fr
}

// callMethod calls m, a method of one of the interpreter's own types
// or of a HasMethods value (unboundMethod), on recv: what Call(thread,
// m.BindReceiver(recv), args, kwargs) does, without allocating the bound
// method (coro patch, ORIGIN 77, 79). The method gets, and its frame
// holds, the thread's method, bound to recv for the call (hosts name a
// frame's method by its receiver's type, "string.join"). While it is
// bound, a method called further in (the method called back into
// Starlark, as "".join does a generator's body) is given a bound method
// of its own, made as before: each frame keeps its own. A call that
// unwinds keeps its bound method, as its continuation may use it: the
// thread makes another for its next call.
func callMethod(thread *Thread, m *Builtin, recv Value, args Tuple, kwargs []Tuple) (Value, error) {
	b := thread.method
	if b == nil {
		b = new(Builtin)
		thread.method = b
	} else if b.recv != nil {
		b = new(Builtin) // bound for a method further out
	}
	*b = *m
	b.recv = recv
	fr := thread.pushFrame(b)
	unwound := false
	defer func() {
		if !unwound {
			b.recv = nil // free again, and not keeping recv alive
		}
		if fr.susp == nil { // as in Call
			thread.popFrame(fr)
		}
	}()
	result, err := b.CallInternal(thread, args, kwargs)
	if err == errUnwound {
		unwound = true
		if thread.method == b {
			thread.method = nil
		}
	}
	return callResult(thread, b, result, err)
}

// popFrame ends the call whose frame fr is on top of the stack.
func (thread *Thread) popFrame(fr *frame) {
	thread.endProfSpan()

	// clear out any references, keeping the (cleared) space of a
	// Starlark call for reuse (coro patch, ORIGIN 75)
	*fr = frame{locals: fr.locals[:0]}

	thread.stack = thread.stack[:len(thread.stack)-1] // pop
}

// callResult is what a call of fn that returned (result, err) gives its
// caller: with fn's frame still on the stack, an error becomes an
// EvalError with the call stack.
func callResult(thread *Thread, fn Value, result Value, err error) (Value, error) {
	// Sanity check: nil is not a valid Starlark value.
	if result == nil && err == nil || err != nil && !is[*EvalError](err) && err != errUnwound {
		return result, callError(thread, fn, err)
	}
	return result, err
}

// callError (coro patch: out of line, to keep Call's frame, which every
// Starlark call level has, small) returns the error of a call of fn that
// returned err (nil: it returned no value): an EvalError with an accurate
// frame.
//
//go:noinline
func callError(thread *Thread, fn Value, err error) error {
	if err == nil {
		err = fmt.Errorf("internal error: nil (not None) returned from %s", fn)
	}
	if b, ok := fn.(*Builtin); ok && b.own {
		err = ownError(thread, err)
	}
	// coro patch: an error that already holds the frames where it
	// arose keeps them, instead of a fresh copy of the whole stack
	// at every builtin it passes through (quadratic in the depth).
	if f, ok := err.(FramedError); ok && f.Frames() != nil {
		return &EvalError{Msg: err.Error(), CallStack: f.Frames(), cause: err}
	}
	return thread.evalError(err)
}

// ownError returns err, the failure of one of the interpreter's own
// builtins (Builtin.own), as an ArgError: len(1), hash([]), "".join([1]),
// [1].index(2), sorted([1, "a"]), {}.pop("k") fail because of what they
// were given, as Python raises TypeError or ValueError, so hosts give
// them the kind they give a wrong argument (coro's value). Upstream made
// most of these with fmt.Errorf, so only the arity checks and int and
// float (ORIGIN 7, 15) were ArgErrors; deciding here, for every builtin
// at once, keeps the rule from depending on how each one words its
// errors. An error that is not the builtin's own keeps its type:
//   - one from a Starlark function it called (sorted's key, a generator
//     body): it holds an EvalError, and its origin decided its kind;
//   - a host's error passing through (getattr of a failed Task's
//     .result), which knows its frames (FramedError) and its kind;
//   - a cancellation or the step limit: the thread was cancelled, and
//     the builtin stopped because of that, not because of its input.
//
// coro patch (ORIGIN 40).
func ownError(thread *Thread, err error) error {
	var ae *ArgError
	var ee *EvalError
	var fe FramedError
	if errors.As(err, &ae) || errors.As(err, &ee) || errors.As(err, &fe) || thread.cancelReason.Load() != nil {
		return err
	}
	return &ArgError{msg: err.Error(), cause: err}
}

//go:noinline
func notCallableError(fn Value) error {
	return fmt.Errorf("invalid call of non-function (%s)", fn.Type())
}

func slice(x, lo, hi, step_ Value) (Value, error) {
	sliceable, ok := x.(Sliceable)
	if !ok {
		return nil, fmt.Errorf("invalid slice operand %s", x.Type())
	}

	n := sliceable.Len()
	r, isRange := x.(rangeValue)
	step := 1
	if step_ != None {
		var err error
		// coro patch (ORIGIN 71): any int, where upstream took
		// int32s; see indexInt.
		step, _, err = indexInt(step_)
		if err != nil {
			return nil, fmt.Errorf("invalid slice step: %s", err)
		}
		if step == 0 {
			return nil, fmt.Errorf("zero is not a valid slice step")
		}
		if !isRange {
			// A step longer than the sequence selects one
			// element, as one of its length does; with that,
			// the loops of Slice (i += step) cannot overflow.
			m := max(n, 1)
			step = max(-m, min(step, m))
		}
	}

	if isRange && r.len > math.MaxInt {
		return r.sliceLong(lo, hi, step_) // coro patch (ORIGIN 64, 71)
	}

	// TODO(adonovan): opt: preallocate result array.

	var start, end int
	if step > 0 {
		// positive stride
		// default indices are [0:n].
		var err error
		start, end, err = indices(lo, hi, n)
		if err != nil {
			return nil, err
		}

		if end < start {
			end = start // => empty result
		}
	} else {
		// negative stride
		// default indices are effectively [n-1:-1], though to
		// get this effect using explicit indices requires
		// [n-1:-1-n:-1] because of the treatment of -ve values.
		start = n - 1
		if err := asIndex(lo, n, &start); err != nil {
			return nil, fmt.Errorf("invalid start index: %s", err)
		}
		if start >= n {
			start = n - 1
		}

		end = -1
		if err := asIndex(hi, n, &end); err != nil {
			return nil, fmt.Errorf("invalid end index: %s", err)
		}
		if end < -1 {
			end = -1
		} else if end >= n {
			// Nothing to take, as before; a range's stop is
			// then its last element, not what a clamped bound
			// (indexInt) would make of it (coro patch, ORIGIN 71).
			end = n - 1
		}

		if start < end {
			start = end // => empty result
		}
	}

	return sliceable.Slice(start, end, step), nil
}

// From Hacker's Delight, section 2.8.
func signum64(x int64) int { return int(uint64(x>>63) | uint64(-x)>>63) }
func signum(x int) int     { return signum64(int64(x)) }

// indices converts start_ and end_ to indices in the range [0:len].
// The start index defaults to 0 and the end index defaults to len.
// An index -len < i < 0 is treated like i+len.
// All other indices outside the range are clamped to the nearest value in the range.
// Beware: start may be greater than end.
// This function is suitable only for slices with positive strides.
func indices(start_, end_ Value, len int) (start, end int, err error) {
	start = 0
	if err := asIndex(start_, len, &start); err != nil {
		return 0, 0, fmt.Errorf("invalid start index: %s", err)
	}
	// Clamp to [0:len].
	if start < 0 {
		start = 0
	} else if start > len {
		start = len
	}

	end = len
	if err := asIndex(end_, len, &end); err != nil {
		return 0, 0, fmt.Errorf("invalid end index: %s", err)
	}
	// Clamp to [0:len].
	if end < 0 {
		end = 0
	} else if end > len {
		end = len
	}

	return start, end, nil
}

// asIndex sets *result to the integer value of v, adding len to it
// if it is negative.  If v is nil or None, *result is unchanged.
// An int past an int's range is clamped (indexInt): the caller clamps
// the result to the sequence, as it would the true value (coro patch,
// ORIGIN 71: upstream failed past int32, as Python does not).
func asIndex(v Value, len int, result *int) error {
	if v != nil && v != None {
		i, _, err := indexInt(v)
		if err != nil {
			return err
		}
		if i < 0 {
			i += len
		}
		*result = i
	}
	return nil
}

// setArgs sets the values of the formal parameters of function fn in
// based on the actual parameter values in args and kwargs.
func setArgs(locals []Value, fn *Function, args Tuple, kwargs []Tuple) error {

	// This is the general schema of a function:
	//
	//   def f(p1, p2=dp2, p3=dp3, *args, k1, k2=dk2, k3, **kwargs)
	//
	// The p parameters are non-kwonly, and may be specified positionally.
	// The k parameters are kwonly, and must be specified by name.
	// The defaults tuple is (dp2, dp3, mandatory, dk2, mandatory).
	//
	// Arguments are processed as follows:
	// - positional arguments are bound to a prefix of [p1, p2, p3].
	// - surplus positional arguments are bound to *args.
	// - keyword arguments are bound to any of {p1, p2, p3, k1, k2, k3};
	//   duplicate bindings are rejected.
	// - surplus keyword arguments are bound to **kwargs.
	// - defaults are bound to each parameter from p2 to k3 if no value was set.
	//   default values come from the tuple above.
	//   It is an error if the tuple entry for an unset parameter is 'mandatory'.

	// Nullary function?
	if fn.NumParams() == 0 {
		if nactual := len(args) + len(kwargs); nactual > 0 {
			return fmt.Errorf("function %s accepts no arguments (%d given)", fn.Name(), nactual)
		}
		return nil
	}

	cond := func(x bool, y, z any) any {
		if x {
			return y
		}
		return z
	}

	// nparams is the number of ordinary parameters (sans *args and **kwargs).
	nparams := fn.NumParams()
	var kwdict *Dict
	if fn.HasKwargs() {
		nparams--
		kwdict = new(Dict)
		locals[nparams] = kwdict
	}
	if fn.HasVarargs() {
		nparams--
	}

	// nonkwonly is the number of non-kwonly parameters.
	nonkwonly := nparams - fn.NumKwonlyParams()

	// Too many positional args?
	n := len(args)
	if len(args) > nonkwonly {
		if !fn.HasVarargs() {
			return fmt.Errorf("function %s accepts %s%d positional argument%s (%d given)",
				fn.Name(),
				cond(len(fn.defaults) > fn.NumKwonlyParams(), "at most ", ""),
				nonkwonly,
				cond(nonkwonly == 1, "", "s"),
				len(args))
		}
		n = nonkwonly
	}

	// Bind positional arguments to non-kwonly parameters.
	for i := 0; i < n; i++ {
		locals[i] = args[i]
	}

	// Bind surplus positional arguments to *args parameter.
	if fn.HasVarargs() {
		tuple := make(Tuple, len(args)-n)
		for i := n; i < len(args); i++ {
			tuple[i-n] = args[i]
		}
		locals[nparams] = tuple
	}

	// Bind keyword arguments to parameters.
	paramIdents := fn.funcode.Locals[:nparams]
	for _, pair := range kwargs {
		k, v := pair[0].(String), pair[1]
		if i := findParam(paramIdents, string(k)); i >= 0 {
			if locals[i] != nil {
				return fmt.Errorf("function %s got multiple values for parameter %s", fn.Name(), k)
			}
			locals[i] = v
			continue
		}
		if kwdict == nil {
			return fmt.Errorf("function %s got an unexpected keyword argument %s", fn.Name(), k)
		}
		oldlen := kwdict.Len()
		kwdict.SetKey(k, v)
		if kwdict.Len() == oldlen {
			return fmt.Errorf("function %s got multiple values for parameter %s", fn.Name(), k)
		}
	}

	// Are defaults required?
	if n < nparams || fn.NumKwonlyParams() > 0 {
		m := nparams - len(fn.defaults) // first default

		// Report errors for missing required arguments.
		var missing []string
		var i int
		for i = n; i < m; i++ {
			if locals[i] == nil {
				missing = append(missing, paramIdents[i].Name)
			}
		}

		// Bind default values to parameters.
		for ; i < nparams; i++ {
			if locals[i] == nil {
				dflt := fn.defaults[i-m]
				if is[mandatory](dflt) {
					missing = append(missing, paramIdents[i].Name)
					continue
				}
				locals[i] = dflt
			}
		}

		if missing != nil {
			return fmt.Errorf("function %s missing %d argument%s (%s)",
				fn.Name(), len(missing), cond(len(missing) > 1, "s", ""), strings.Join(missing, ", "))
		}
	}
	return nil
}

func findParam(params []compile.Binding, name string) int {
	for i, param := range params {
		if param.Name == name {
			return i
		}
	}
	return -1
}

// https://github.com/google/starlark-go/blob/master/doc/spec.md#string-interpolation
func interpolate(thread *Thread, format string, x Value) (Value, error) {
	// coro patch (ORIGIN 58): the text is bounded, its growth checked and
	// its bytes charged (textBuilder), and each conversion costs a step.
	buf := &textBuilder{thread: thread, what: "string formatting"}
	if err := buf.reserve(printfMinLen(format)); err != nil {
		return nil, err
	}
	index := 0
	nargs := 1
	if tuple, ok := x.(Tuple); ok {
		nargs = len(tuple)
	}
	for {
		i := strings.IndexByte(format, '%')
		if i < 0 {
			if err := buf.write(format); err != nil {
				return nil, err
			}
			break
		}
		if err := buf.write(format[:i]); err != nil {
			return nil, err
		}
		format = format[i+1:]

		if format != "" && format[0] == '%' {
			if err := buf.write("%"); err != nil {
				return nil, err
			}
			format = format[1:]
			continue
		}
		if err := thread.Step(); err != nil {
			return nil, err
		}

		key, spec, rest, err := splitConversion(format)
		if err != nil {
			return nil, err
		}
		format = rest
		var arg Value
		if key != nil {
			// keyword argument: %(name)s.
			if dict, ok := x.(Mapping); !ok {
				return nil, fmt.Errorf("format requires a mapping")
			} else if v, found, _ := dict.Get(String(*key)); found {
				arg = v
			} else {
				return nil, fmt.Errorf("key not found: %s", *key)
			}
		} else {
			// positional argument: %s.
			if index >= nargs {
				return nil, fmt.Errorf("not enough arguments for format string")
			}
			if tuple, ok := x.(Tuple); ok {
				arg = tuple[index]
			} else {
				arg = x
			}
		}

		// conversion type
		if format == "" {
			return nil, fmt.Errorf("incomplete format")
		}
		if spec != "" && format[0] != '%' { // coro patch (ORIGIN 65): and %c
			out, err := formatPrintf(thread, spec, format[0], arg) // format.go
			if err != nil {
				return nil, err
			}
			if err := buf.write(out); err != nil {
				return nil, err
			}
			format = format[1:]
			index++
			continue
		}
		switch c := format[0]; c {
		case 's', 'r':
			if str, ok := AsString(arg); ok && c == 's' {
				err = buf.write(str)
			} else {
				// The text's length stops at maxReprLen: buf's,
				// the value's written in it.
				err = writeValueChecked(thread, &buf.Builder, arg) // coro patch (ORIGIN 33)
			}
		case 'd', 'i', 'o', 'x', 'X':
			i, ierr := NumberToInt(arg)
			if ierr != nil {
				return nil, fmt.Errorf("%%%c format requires integer: %v", c, ierr)
			}
			if c == 'd' || c == 'i' {
				err = buf.write(i.String())
			} else {
				err = buf.write(fmt.Sprintf(string([]byte{'%', c}), i))
			}
		case 'e', 'f', 'g', 'E', 'F', 'G':
			f, ok := AsFloat(arg)
			if !ok {
				return nil, fmt.Errorf("%%%c format requires float, not %s", c, arg.Type())
			}
			if !isFinite(f) {
				// coro patch (ORIGIN 69): Python's inf, -inf and
				// nan (INF and NAN for E, F, G), as with flags;
				// upstream wrote str's +inf here.
				var out string
				if out, err = formatPrintf(thread, "", c, Float(f)); err == nil {
					err = buf.write(out)
				}
				break
			}
			// A float's text is short (some 330 bytes at most):
			// written in place, and counted at the next write.
			Float(f).format(&buf.Builder, c)
		case 'c':
			c, cerr := percentChar(arg)
			if cerr != nil {
				return nil, cerr
			}
			err = buf.write(c)
		case '%':
			err = buf.write("%")
		default:
			return nil, fmt.Errorf("unknown conversion %%%c", c)
		}
		if err != nil {
			return nil, err
		}
		format = format[1:]
		index++
	}

	if index < nargs && !is[Mapping](x) {
		return nil, fmt.Errorf("too many arguments for format string")
	}

	return String(buf.String()), nil
}

// percentChar returns the character of %c: an int's code point or a
// one-character string (shared by formatPrintf, coro patch ORIGIN 65).
func percentChar(arg Value) (string, error) {
	switch arg := arg.(type) {
	case Int:
		// chr(int)
		r, err := AsInt32(arg)
		if err != nil || r < 0 || r > unicode.MaxRune {
			return "", fmt.Errorf("%%c format requires a valid Unicode code point, got %s", arg)
		}
		return string(rune(r)), nil
	case String:
		r, size := utf8.DecodeRuneInString(string(arg))
		if size != len(arg) || len(arg) == 0 {
			return "", fmt.Errorf("%%c format requires a single-character string")
		}
		return string(r), nil
	}
	return "", fmt.Errorf("%%c format requires int or single-character string, not %s", arg.Type())
}

// splitConversion splits the conversion at the start of format, just
// past its '%': the (key) of %(key)s if it has one, the flags, width and
// precision (spec: "-8", "05.1"), and the rest, which begins with the
// conversion type (empty: an incomplete format).
func splitConversion(format string) (key *string, spec, rest string, err error) {
	if format != "" && format[0] == '(' {
		j := strings.IndexByte(format, ')')
		if j < 0 {
			return nil, "", "", fmt.Errorf("incomplete format key")
		}
		k := format[1:j]
		key = &k
		format = format[j+1:]
	}
	// coro patch: the optional Python conversion flags [#0- +],
	// minimum field width and precision are supported, as in
	// Python's printf-style formatting ("%.3f", "%-8s", "%05d").
	rest = format
	for len(rest) > 0 && strings.IndexByte("#0- +", rest[0]) >= 0 {
		rest = rest[1:]
	}
	for len(rest) > 0 && '0' <= rest[0] && rest[0] <= '9' {
		rest = rest[1:]
	}
	if len(rest) > 0 && rest[0] == '.' {
		rest = rest[1:]
		for len(rest) > 0 && '0' <= rest[0] && rest[0] <= '9' {
			rest = rest[1:]
		}
	}
	return key, format[:len(format)-len(rest)], rest, nil
}

func is[T any](x any) bool {
	_, ok := x.(T)
	return ok
}
