package repl

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/corolang/coro/engine"
)

// debugPrompt is the prompt at a breakpoint, as pdb's "(Pdb) ".
const debugPrompt = "(breakpoint) >>> "

const debugHelpText = `The task that called breakpoint() is paused here; every other task keeps running.
Type Starlark statements: the paused frame's locals, its module's globals and
the builtins are readable (what you assign stays at this prompt).
  :c, Ctrl-D  continue the paused task
  :where      the paused task's stack
  :tasks      list the live tasks
  :help       this text
`

// A Debugger is the prompt breakpoint() opens (SPEC 14): give its Break
// to engine.Options.Breakpoint. It is the REPL's prompt, on the paused
// frame instead of a session's globals. Breakpoints of several tasks take
// turns at the terminal.
type Debugger struct {
	opts Options
	mu   sync.Mutex // held by the breakpoint at the prompt
}

// NewDebugger returns a debugger prompting on the terminal with opts
// (Terminal is implied: without one, breakpoint() should do nothing).
func NewDebugger(opts Options) *Debugger {
	opts.Terminal = true
	return &Debugger{opts: opts}
}

// Break runs the prompt for bp until :c, Ctrl-D, or the paused task is
// cancelled (ctx).
func (d *Debugger) Break(ctx context.Context, bp *engine.Breakpoint) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	where := ""
	if st := bp.Stack(); len(st) > 0 {
		where = " at " + st[len(st)-1]
	}
	fmt.Fprintf(d.opts.Out, "breakpoint in task %s%s (:c or Ctrl-D continues, :help)\n", bp.Task(), where)
	s := &Session{st: bp, bp: bp, opts: d.opts}
	// A cancelled task (Ctrl-C, SIGTERM, its group failing) closes the
	// prompt, which restores the terminal.
	stop := context.AfterFunc(ctx, s.End)
	defer stop()
	s.Run()
}

// where formats a breakpoint's stack as :where prints it.
func where(bp *engine.Breakpoint) string {
	var b strings.Builder
	fmt.Fprintf(&b, "task %s, innermost last:\n", bp.Task())
	for _, fr := range bp.Stack() {
		fmt.Fprintf(&b, "  %s\n", fr)
	}
	return b.String()
}
