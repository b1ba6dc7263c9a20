package generator

import (
	"runtime"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// Builtins returns generator, emit and emit_all (SPEC 5).
func Builtins() starlark.StringDict {
	return starlark.StringDict{
		"generator": starlark.NewBuiltin("generator", builtinGenerator),
		"emit":      starlark.NewBuiltin("emit", builtinEmit).BorrowsArgs(),     // keeps args[0], never the slice
		"emit_all":  starlark.NewBuiltin("emit_all", builtinEmitAll).Stackful(), // emits under its own Go frame
	}
}

// bodyState returns the generator whose body runs on th, or a value error
// naming fn when th is not a body's thread.
func bodyState(th *starlark.Thread, fn string) (*state, error) {
	if x := loop.ExecOf(th); x != nil {
		if s, ok := x.Body.(*state); ok {
			return s, nil
		}
	}
	return nil, loop.Errorf(loop.KindValue, "%s: not inside a generator body", fn)
}

func builtinGenerator(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) == 0 {
		return nil, loop.Errorf(loop.KindValue, "generator: missing function argument")
	}
	fn, ok := args[0].(starlark.Callable)
	if !ok {
		return nil, loop.Errorf(loop.KindValue, "generator: for parameter fn: got %s, want callable", args[0].Type())
	}
	if _, err := loop.TaskOf(th, "generator"); err != nil {
		return nil, err
	}
	g := newGenerator(th, fn.Name())
	g.s.fn, g.s.args, g.s.kwargs = fn, args[1:], kwargs
	return g, nil
}

func builtinEmit(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	s, err := bodyState(th, "emit")
	if err != nil {
		return nil, err
	}
	if len(args) == 1 && len(kwargs) == 0 {
		return s.emit(th, b, args[0]) // the hot path: no UnpackArgs, nothing escapes
	}
	var v starlark.Value = starlark.None
	if err := starlark.UnpackArgs("emit", args, kwargs, "value?", &v); err != nil {
		return nil, loop.ValueError(err)
	}
	return s.emit(th, b, v)
}

func builtinEmitAll(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	s, err := bodyState(th, "emit_all")
	if err != nil {
		return nil, err
	}
	var it starlark.Iterable
	if err := starlark.UnpackArgs("emit_all", args, kwargs, "iterable", &it); err != nil {
		return nil, loop.ValueError(err)
	}
	if sub, ok := it.(*Generator); ok {
		return s.emitAllFrom(th, sub)
	}
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for iter.Next(&x) {
		if _, err := s.suspendEmit(x).outcome(); err != nil {
			return nil, err
		}
	}
	return starlark.None, nil
}

// emitAllFrom delegates to sub: its values are emitted, what the consumer
// sends or throws is forwarded to it, closing closes it, and its return
// value is emit_all's.
func (s *state) emitAllFrom(th *starlark.Thread, sub *Generator) (starlark.Value, error) {
	defer runtime.KeepAlive(sub)
	ss := sub.s
	cx := &s.exec
	in := inMsg{op: opSend, v: starlark.None}
	for {
		v, emitted, err := ss.resume(sub, cx, in, "emit_all")
		if err != nil {
			return nil, withFrames(th, err)
		}
		if !emitted {
			return ss.result, nil
		}
		in = s.suspendEmit(v)
		if in.op == opClose {
			if err := ss.close(sub, cx); err != nil {
				return nil, withFrames(th, err)
			}
			return nil, closedError()
		}
	}
}

// ---- methods and attributes ----

var methods = map[string]*starlark.Builtin{
	"next":  starlark.NewBuiltin("next", genNext),
	"send":  starlark.NewBuiltin("send", genSend),
	"throw": starlark.NewBuiltin("throw", genThrow),
	"close": starlark.NewBuiltin("close", genClose),
}

func (g *Generator) AttrNames() []string {
	return []string{"close", "done", "next", "result", "send", "throw"}
}

func (g *Generator) Attr(name string) (starlark.Value, error) {
	switch name {
	case "done":
		return starlark.Bool(g.s.phase == finished), nil
	case "result":
		if g.s.phase != finished {
			return starlark.None, nil
		}
		return g.s.result, nil
	}
	if b, ok := methods[name]; ok {
		return b.BindReceiver(g), nil
	}
	return nil, nil
}

// step is next/send/throw: resume with in; exhausted is a stop error
// unless the caller has a default.
func step(th *starlark.Thread, g *Generator, method string, in inMsg, dflt starlark.Value) (starlark.Value, error) {
	defer runtime.KeepAlive(g)
	cx, err := loop.TaskOf(th, method)
	if err != nil {
		return nil, err
	}
	v, emitted, berr := g.s.resume(g, cx, in, method)
	if berr != nil {
		return nil, withFrames(th, berr)
	}
	if emitted {
		return v, nil
	}
	if dflt != nil {
		return dflt, nil
	}
	return nil, loop.Errorf(loop.KindStop, "%s: generator %s is exhausted", method, g.s.name)
}

func genNext(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dflt starlark.Value
	if err := starlark.UnpackArgs("Generator.next", args, kwargs, "default?", &dflt); err != nil {
		return nil, loop.ValueError(err)
	}
	return step(th, b.Receiver().(*Generator), "Generator.next", inMsg{op: opSend, v: starlark.None}, dflt)
}

func genSend(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackArgs("Generator.send", args, kwargs, "value", &v); err != nil {
		return nil, loop.ValueError(err)
	}
	g := b.Receiver().(*Generator)
	if g.s.phase == fresh && v != starlark.None {
		return nil, loop.Errorf(loop.KindValue, "Generator.send: the first send to generator %s must be None (it has not reached an emit yet), got %s", g.s.name, v.Type())
	}
	return step(th, g, "Generator.send", inMsg{op: opSend, v: v}, nil)
}

func genThrow(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg string
	if err := starlark.UnpackArgs("Generator.throw", args, kwargs, "message", &msg); err != nil {
		return nil, loop.ValueError(err)
	}
	g := b.Receiver().(*Generator)
	thrown := loop.Errorf(loop.KindError, "%s", msg)
	if g.s.phase == fresh {
		// The body has no emit to raise at: like Python, the error ends
		// the generator before it runs and reaches the caller.
		g.s.finish()
		return nil, thrown
	}
	return step(th, g, "Generator.throw", inMsg{op: opThrow, err: thrown}, nil)
}

func genClose(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs("Generator.close", args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	g := b.Receiver().(*Generator)
	defer runtime.KeepAlive(g)
	cx, err := loop.TaskOf(th, "Generator.close")
	if err != nil {
		return nil, err
	}
	if err := g.s.close(g, cx); err != nil {
		return nil, withFrames(th, err)
	}
	return starlark.None, nil
}

// ---- iteration ----

func (g *Generator) Iterate() starlark.Iterator { return &iterator{g: g} }

// iterator is for x in g, list(g) and the like. Next gets no thread, so
// it resumes the body for the engine's current execution context, and a
// body's failure is raised in the consumer's thread (loop.Exec.Raise) to
// surface at its next step with the body's frames below its own.
type iterator struct{ g *Generator }

func (it *iterator) Next(p *starlark.Value) bool {
	g := it.g
	s := g.s
	if s.phase == finished && s.stopped == nil {
		return false
	}
	e := s.eng
	var cx *loop.Exec
	if e != nil {
		cx = e.CurrentExec()
	}
	if cx == nil || cx.Task == nil {
		return false // not on a task: nothing can run the body
	}
	v, emitted, err := s.resume(g, cx, inMsg{op: opSend, v: starlark.None}, iterating(cx))
	runtime.KeepAlive(g)
	if err != nil {
		cx.Raise(err)
		return false
	}
	if !emitted {
		return false
	}
	*p = v
	return true
}

func (it *iterator) Done() {}

// iterating names, for errors, what is iterating a generator for the
// consumer cx: the builtin that its thread is calling (list, sorted, a
// method as list.extend), else what the Starlark function does
// (starlark.Thread.IterationSite: "for" for a for loop or a
// comprehension, "argument after *" for f(*g)). Errors said "for:" for
// list(g) and for f(*g) as well.
func iterating(cx *loop.Exec) string {
	th := cx.Thread()
	if th == nil || th.CallStackDepth() == 0 {
		return "for"
	}
	if site := th.IterationSite(); site != "" {
		return site
	}
	b, ok := th.DebugFrame(0).Callable().(*starlark.Builtin)
	if !ok {
		return "for"
	}
	if recv := b.Receiver(); recv != nil {
		return recv.Type() + "." + b.Name()
	}
	return b.Name()
}
