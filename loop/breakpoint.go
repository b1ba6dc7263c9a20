package loop

import (
	"context"

	"github.com/corolang/coro/starlark"
)

// breakpoint() pauses the calling task and hands its frame to the host's
// debugger (Options.Breakpoint), SPEC 14: the coro command opens a prompt
// on the terminal there. The debugger is blocking work of the most
// patient kind (a person typing), so it runs as an Own offload: the task
// waits, the loop and every other task go on, and the run is not a
// deadlock while the prompt is open. What the user types runs as tasks of
// its own, posted to the loop by the host (engine.Breakpoint.Exec), in an
// environment made here, on the loop, while the frame is still live.
// Without a debugger (no terminal, coro test, an embedder that set none)
// breakpoint() does nothing.

// A BreakFrame is the paused frame of a breakpoint() call.
type BreakFrame struct {
	Task string // the paused task's name
	// Stack is the task's script frames, innermost last, as StackOf
	// gives them: the last one is the breakpoint() call.
	Stack []string
	// Env is what the frame sees: the predeclared names, its module's
	// globals, the function's free variables and its locals (the
	// innermost binding wins). Locals not yet assigned are left out.
	Env starlark.StringDict
}

type breakpointReason struct{}

func (breakpointReason) WaitingOn() string { return "breakpoint" }

func builtinBreakpoint(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, ValueError(err)
	}
	x, err := TaskOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	e := x.Task.eng
	debug := e.opts.Breakpoint
	if debug == nil {
		return starlark.None, nil
	}
	f := &BreakFrame{Task: x.Task.name, Stack: StackOf(x.Task), Env: e.frameEnv(th)}
	_, err = x.Offload(Offload{Why: breakpointReason{}, Op: "breakpoint", Timeout: NoTimeout, Own: true,
		Work: func(ctx context.Context) (starlark.Value, error) {
			debug(ctx, f)
			return starlark.None, nil
		}})
	if err != nil {
		return nil, err
	}
	return starlark.None, nil
}

// frameEnv is BreakFrame.Env for the function that called the builtin
// running on th (frame 0 is the builtin itself).
func (e *Engine) frameEnv(th *starlark.Thread) starlark.StringDict {
	env := starlark.StringDict{}
	for k, v := range e.predeclared {
		env[k] = v
	}
	if th.CallStackDepth() < 2 {
		return env
	}
	fr := th.DebugFrame(1)
	fn, ok := fr.Callable().(*starlark.Function)
	if !ok {
		return env
	}
	for k, v := range fn.Globals() {
		env[k] = v
	}
	for i := range fn.NumFreeVars() {
		if b, v := fn.FreeVar(i); v != nil {
			env[b.Name] = v
		}
	}
	for i := range fr.NumLocals() {
		if b, v := fr.Local(i); v != nil {
			env[b.Name] = v
		}
	}
	return env
}
