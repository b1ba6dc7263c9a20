package engine

import (
	"context"

	"github.com/corolang/coro/loop"
)

// A Breakpoint is a task paused by breakpoint() (SPEC 14), handed to
// Options.Breakpoint: the host's debugger. Exec runs statements in the
// paused frame (its locals, its module's globals and the predeclared
// names are readable; assignments stay in the breakpoint's own copy),
// each as a task named "breakpoint", while the paused task waits and
// every other task keeps running. Inspect, Dump and FileOptions are as
// on a Session, so one prompt serves both.
type Breakpoint struct {
	chunks
	task  string
	stack []string
}

// Task is the paused task's name.
func (b *Breakpoint) Task() string { return b.task }

// Stack is the paused task's script frames, outermost first, as
// "file:line:col in function": the last is the breakpoint() call.
func (b *Breakpoint) Stack() []string { return b.stack }

// breakpointHook adapts Options.Breakpoint to the loop's.
func (e *Engine) breakpointHook(debug func(ctx context.Context, bp *Breakpoint)) func(context.Context, *loop.BreakFrame) {
	if debug == nil {
		return nil
	}
	return func(ctx context.Context, f *loop.BreakFrame) {
		debug(ctx, &Breakpoint{chunks: chunks{e: e, name: "breakpoint", globals: f.Env}, task: f.Task, stack: f.Stack})
	}
}
