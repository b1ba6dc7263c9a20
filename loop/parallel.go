package loop

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
)

// parallel(fn, *args) runs fn on another goroutine, so on another CPU
// core, while the loop goes on (SPEC 7). What makes that safe is that the
// worker shares nothing mutable with the loop: fn comes from a load()ed
// module (frozen once loaded) and every argument is frozen. The worker's
// thread has no Exec, so every builtin that waits fails there with a
// value error (TaskOf), and the result is handed back through Post.
//
// The returned value is an ordinary Task whose body parks until the
// worker's result is posted: wait, join, race, select, cancel and tasks()
// work on it unchanged.

func builtinParallel(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, Errorf(KindValue, "parallel: unexpected keyword argument %s (fn takes positional arguments only here)", kwargs[0][0])
	}
	if len(args) == 0 {
		return nil, Errorf(KindValue, "parallel: missing argument fn")
	}
	x, err := TaskOf(th, "parallel")
	if err != nil {
		return nil, err
	}
	e := x.Task.eng
	fn, rest, err := e.offCoreCall("parallel", args)
	if err != nil {
		return nil, err
	}
	if what := e.ownedReach(fn); what != "" {
		return nil, Errorf(KindValue, "parallel: function %s could reach %s, which belongs to the loop (only computation on plain values runs on another core)", fn.Name(), what)
	}
	wth, err := e.workerThread("parallel", fn.Name())
	if err != nil {
		return nil, err
	}
	body := starlark.NewBuiltin("parallel", func(th *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		return runParallel(th, wth, fn, rest)
	})
	return e.Spawn(body, nil, nil, "", x.Task, Callers(th)).Value(), nil
}

// notLoaded ends the refusal of a function not from a load()ed module.
const notLoaded = " (only loaded modules are frozen, so only their functions may run on another core)"

// offCoreCall checks what parallel and remote (remote.go) take: fn, a
// function of a load()ed module, and its arguments, all frozen, so that
// another goroutine (or another process) may run it.
func (e *Engine) offCoreCall(name string, args starlark.Tuple) (*starlark.Function, starlark.Tuple, error) {
	fn, ok := args[0].(*starlark.Function)
	if !ok {
		return nil, nil, Errorf(KindValue, "%s: for parameter fn: got %s, want a function defined in a load()ed module", name, args[0].Type())
	}
	if !e.isLoadedModule(fn.Module()) {
		return nil, nil, Errorf(KindValue, "%s: function %s is not from a load()ed module"+notLoaded, name, fn.Name())
	}
	if what := unfrozen(fn, e.isLoadedModule); what != "" {
		if strings.HasPrefix(what, "function ") {
			return nil, nil, Errorf(KindValue, "%s: function %s captures %s"+notLoaded, name, fn.Name(), what)
		}
		return nil, nil, Errorf(KindValue, "%s: function %s captures %s that is not frozen", name, fn.Name(), what)
	}
	rest := args[1:]
	for i, a := range rest {
		if what := unfrozen(a, e.isLoadedModule); what != "" {
			if strings.HasPrefix(what, "function ") {
				return nil, nil, Errorf(KindValue, "%s: argument %d holds %s"+notLoaded, name, i+1, what)
			}
			return nil, nil, Errorf(KindValue, "%s: argument %d (%s) is not frozen: pass freeze(x)", name, i+1, what)
		}
	}
	return fn, rest, nil
}

// workerThread makes, on the loop (so the thread hook runs where engine
// state may be touched), the thread a parallel or remote call of fn runs
// on: it has no task, so every builtin that waits fails there (TaskOf).
// It fails while a host global is not frozen (sharedHostGlobal).
func (e *Engine) workerThread(kind, fn string) (*starlark.Thread, error) {
	if name, what := e.sharedHostGlobal(); name != "" {
		return nil, Errorf(KindValue, "%s: the host's global %s is %s that is not frozen, which %s, running on another core, could reach: freeze(%s) first", kind, name, what, fn, name)
	}
	wth := &starlark.Thread{Name: kind + " " + fn, Print: func(_ *starlark.Thread, msg string) {
		e.Post(func() { e.print(nil, msg) })
	}, Host: allocHost{e}}
	wth.SetLocal(parallelKey, fn)
	if e.opts.MaxSteps > 0 {
		wth.SetMaxExecutionSteps(e.opts.MaxSteps)
	}
	e.threadHook(wth)
	return wth, nil
}

// sharedHostGlobal returns the first (by name) of the host's globals
// (Options.Globals) that a worker could see change, and what it is: a
// list, dict or set not frozen, alone or in a tuple, struct or module.
// Every module sees the host's globals, a load()ed one too, so a function
// running on another core may read or write them while the loop does;
// whether it names one is not known without running it. A host builtin,
// or a value of a host type, is the host's to make safe for that
// (docs/embedding.md), as coro cannot tell whether it is.
func (e *Engine) sharedHostGlobal() (name, what string) {
	for k, v := range e.opts.Globals {
		if w := hostUnfrozen(v); w != "" && (name == "" || k < name) {
			name, what = k, w
		}
	}
	return name, what
}

// hostUnfrozen is unfrozen for a host global, but for what it cannot
// check: a value of a host type, a builtin.
func hostUnfrozen(v starlark.Value) string {
	switch v := v.(type) {
	case *starlark.List, *starlark.Dict, *starlark.Set:
		return shallowUnfrozen(v)
	case starlark.Tuple:
		for _, x := range v {
			if what := hostUnfrozen(x); what != "" {
				return what
			}
		}
	case *starlarkstruct.Struct:
		for _, name := range v.AttrNames() {
			f, _ := v.Attr(name)
			if what := hostUnfrozen(f); what != "" {
				return what
			}
		}
	case *starlarkstruct.Module:
		for _, f := range v.Members {
			if what := hostUnfrozen(f); what != "" {
				return what
			}
		}
	}
	return ""
}

// runParallel is the body of a parallel task: it offloads the call to a
// goroutine of its own (a computation would hold a pool slot for its
// whole length) and waits for it. Interrupted (cancelled, timed out), it
// cancels the worker's thread, which stops at its next step.
func runParallel(th, wth *starlark.Thread, fn *starlark.Function, args starlark.Tuple) (starlark.Value, error) {
	x, err := TaskOf(th, "parallel")
	if err != nil {
		return nil, err
	}
	return x.Offload(Offload{Why: parallelReason(fn.Name()), Op: "parallel", Timeout: NoTimeout, Own: true,
		Work: func(ctx context.Context) (starlark.Value, error) {
			stop := context.AfterFunc(ctx, func() { wth.Cancel("cancelled") })
			defer stop()
			return callWorker(wth, fn, args)
		}})
}

// callWorker calls fn on the worker's goroutine, turning a panic into an error.
func callWorker(th *starlark.Thread, fn *starlark.Function, args starlark.Tuple) (v starlark.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			ce := Errorf(KindError, "internal error in parallel %s: %v", fn.Name(), r)
			ce.GoStack = string(debug.Stack())
			v, err = nil, ce
		}
	}()
	v, err = starlark.Call(th, fn, args, nil)
	if err != nil {
		return nil, ToError(err)
	}
	return v, nil
}

// parallelKey marks a parallel worker's thread (its value is the function's
// name), so that a refused wait there says why.
const parallelKey = "coro.parallel"

type parallelReason string

func (r parallelReason) WaitingOn() string {
	return fmt.Sprintf("parallel %s() on another core", string(r))
}

// isLoadedModule reports whether m is a module load() has run and frozen:
// one of its globals is a function of m.
func (e *Engine) isLoadedModule(m *starlark.Module) bool {
	for _, ent := range e.modules {
		if ent.loading || ent.err != nil {
			continue
		}
		for _, v := range ent.globals {
			if f, ok := v.(*starlark.Function); ok && f.Module() == m {
				return true
			}
		}
	}
	return false
}

// unfrozen returns a description of the part of v that another goroutine
// could see change ("" if none): a list, dict or set not frozen, a
// function whose module's globals are not frozen (one not of a load()ed
// module, as loaded says), or a value of a type whose immutability
// cannot be checked. A frozen container is looked into too: freezing a
// function freezes its defaults and captured variables, not its module's
// globals, so freeze([g]) of a main-module function g let a worker write
// the main module's globals while the loop did. Each container and
// function is looked at once (a frozen list may hold itself).
func unfrozen(v starlark.Value, loaded func(*starlark.Module) bool) string {
	var what string
	walkValues(v, func(v starlark.Value) bool {
		if what = shallowUnfrozen(v); what != "" {
			return false
		}
		switch v := v.(type) {
		case starlark.NoneType, starlark.Bool, starlark.Int, starlark.Float, starlark.String, starlark.Bytes,
			starlark.Tuple, *starlark.List, *starlark.Dict, *starlark.Set, *starlarkstruct.Struct:
		case *starlark.Function:
			if !loaded(v.Module()) {
				what = "function " + v.Name() + ", not from a load()ed module"
			}
		case *starlark.Builtin:
			// A builtin bound to a receiver (a method) would act on it.
			if v.Receiver() != nil {
				what = "a method of " + v.Receiver().Type()
			}
		default:
			what = "a " + v.Type()
		}
		return what == ""
	})
	return what
}

// walkValues calls visit on v and on what it holds, depth first: the
// elements of a tuple, list, dict (keys and values) or set, the fields of
// a struct, the parameter defaults and captured variables of a function;
// each container and function once (a frozen list may hold itself). It
// stops once visit returns false.
func walkValues(v starlark.Value, visit func(starlark.Value) bool) {
	seen := make(map[starlark.Value]bool)
	todo := []starlark.Value{v}
	for len(todo) > 0 {
		v := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		switch v.(type) {
		case *starlark.List, *starlark.Dict, *starlark.Set, *starlark.Function:
			if seen[v] {
				continue
			}
			seen[v] = true
		}
		if !visit(v) {
			return
		}
		switch v := v.(type) {
		case starlark.Tuple:
			todo = append(todo, v...)
		case *starlark.List:
			for i := range v.Len() {
				todo = append(todo, v.Index(i))
			}
		case *starlark.Dict:
			for _, kv := range v.Items() {
				todo = append(todo, kv[0], kv[1])
			}
		case *starlark.Set:
			for x := range starlark.Elements(v) {
				todo = append(todo, x)
			}
		case *starlarkstruct.Struct:
			for _, name := range v.AttrNames() {
				f, _ := v.Attr(name)
				todo = append(todo, f)
			}
		case *starlark.Function:
			for i := 0; i < v.NumParams(); i++ {
				if d := v.ParamDefault(i); d != nil {
					todo = append(todo, d)
				}
			}
			for i := 0; i < v.NumFreeVars(); i++ {
				if _, fv := v.FreeVar(i); fv != nil {
					todo = append(todo, fv)
				}
			}
		}
	}
}

// An Owned value belongs to its engine's loop (a task, a future, a
// channel, a connection, a file): only the loop's goroutine may use it,
// its methods and attributes alike. Freezing it changes nothing (its
// Freeze does nothing: its state is the loop's), so a frozen module may
// hold one; parallel refuses a function that could reach one that way
// (Engine.ownedReach).
type Owned interface {
	starlark.Value
	OwnedByLoop()
}

// ownedReach describes the first loop-owned value (Owned) that fn,
// running on another core, could reach through module globals: those of
// its module, and of the modules of the functions they hold (a load()ed
// function is a global too), as "a Future (global FS of lib.star)";
// "" if none. Arguments and captured variables are unfrozen's to check.
// A worker's Future.set woke tasks from its goroutine, racing the loop
// (a Go panic, tasks reported deadlocked). What a module reaches is
// found once (e.owned): its globals are frozen, so it does not change.
func (e *Engine) ownedReach(fn *starlark.Function) string {
	todo := []*starlark.Module{fn.Module()}
	seen := map[*starlark.Module]bool{fn.Module(): true}
	for len(todo) > 0 {
		m := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		r, ok := e.owned[m]
		if !ok {
			r = ownedIn(m)
			if e.owned == nil {
				e.owned = make(map[*starlark.Module]moduleReach)
			}
			e.owned[m] = r
		}
		if r.what != "" {
			return r.what
		}
		for _, o := range r.modules {
			if !seen[o] {
				seen[o] = true
				todo = append(todo, o)
			}
		}
	}
	return ""
}

// moduleReach is what a module's globals reach: a loop-owned value
// (what, "" if none), and the modules of the functions they hold.
type moduleReach struct {
	what    string
	modules []*starlark.Module
}

// ownedIn walks m's globals, by name, for ownedReach.
func ownedIn(m *starlark.Module) moduleReach {
	var r moduleReach
	globals := m.Globals()
	for _, name := range globals.Keys() {
		walkValues(globals[name], func(v starlark.Value) bool {
			if b, ok := v.(*starlark.Builtin); ok && b.Receiver() != nil {
				v = b.Receiver()
			}
			switch v := v.(type) {
			case Owned:
				r.what = fmt.Sprintf("a %s (global %s of %s)", v.Type(), name, filepath.Base(m.Program().Filename()))
				return false
			case *starlark.Function:
				if v.Module() != m {
					r.modules = append(r.modules, v.Module())
				}
			}
			return true
		})
		if r.what != "" {
			break
		}
	}
	return r
}

// shallowUnfrozen says "a list", "a dict" or "a set" for v, one not
// frozen, and "" for anything else.
func shallowUnfrozen(v starlark.Value) string {
	switch v := v.(type) {
	case *starlark.List:
		if !v.Frozen() {
			return "a list"
		}
	case *starlark.Dict:
		if !v.Frozen() {
			return "a dict"
		}
	case *starlark.Set:
		if !v.Frozen() {
			return "a set"
		}
	}
	return ""
}
