package loop

import (
	"github.com/corolang/coro/starlark"
	"strconv"
	"time"
)

// Builtins returns the task builtins of SPEC 2 and 4.
func Builtins() starlark.StringDict {
	return starlark.StringDict{
		"spawn":        starlark.NewBuiltin("spawn", builtinSpawn),
		"group":        starlark.NewBuiltin("group", builtinGroup).Stackful(), // group.go
		"sleep":        starlark.NewBuiltin("sleep", builtinSleep).BorrowsArgs(),
		"wait":         starlark.NewBuiltin("wait", builtinWait),
		"join":         starlark.NewBuiltin("join", builtinJoin),
		"race":         starlark.NewBuiltin("race", builtinRace),
		"timeout":      starlark.NewBuiltin("timeout", builtinTimeout).Stackful(),
		"after":        starlark.NewBuiltin("after", builtinAfter),
		"future":       starlark.NewBuiltin("future", builtinFuture),
		"current_task": starlark.NewBuiltin("current_task", builtinCurrentTask),
		"catch":        starlark.NewBuiltin("catch", builtinCatch).Stackful(),
		"defer":        starlark.NewBuiltin("defer", builtinDefer),
		"freeze":       starlark.NewBuiltin("freeze", builtinFreeze),
		"parallel":     starlark.NewBuiltin("parallel", builtinParallel), // parallel.go
		"remote":       starlark.NewBuiltin("remote", builtinRemote),     // remote.go
		"tasks":        starlark.NewBuiltin("tasks", builtinTasks),
		"channel":      starlark.NewBuiltin("channel", builtinChannel),
		"select":       starlark.NewBuiltin("select", builtinSelect),
		"ticker":       starlark.NewBuiltin("ticker", builtinTicker),
		"breakpoint":   starlark.NewBuiltin("breakpoint", builtinBreakpoint), // breakpoint.go
	}
}

// splitCall unpacks (fn, *args, **kwargs) for spawn, timeout, catch, defer;
// extra names in kwargs (spawn's name=) are removed and returned.
func splitCall(fnName string, args starlark.Tuple, kwargs []starlark.Tuple, skip int, extra string) (fn starlark.Callable, rest starlark.Tuple, kw []starlark.Tuple, extraVal starlark.Value, err error) {
	if len(args) <= skip {
		return nil, nil, nil, nil, Errorf(KindValue, "%s: missing function argument", fnName)
	}
	fn, ok := args[skip].(starlark.Callable)
	if !ok {
		return nil, nil, nil, nil, Errorf(KindValue, "%s: for parameter fn: got %s, want callable", fnName, args[skip].Type())
	}
	for _, kv := range kwargs {
		if extra != "" && string(kv[0].(starlark.String)) == extra {
			extraVal = kv[1]
			continue
		}
		kw = append(kw, kv)
	}
	return fn, args[skip+1:], kw, extraVal, nil
}

// spawnArgs unpacks what spawn and Group.spawn (named fn) take:
// fn(*args, name=None, **kwargs), in the calling task.
func spawnArgs(th *starlark.Thread, fn string, args starlark.Tuple, kwargs []starlark.Tuple) (x *Exec, call starlark.Callable, rest starlark.Tuple, kw []starlark.Tuple, name string, err error) {
	call, rest, kw, nameV, err := splitCall(fn, args, kwargs, 0, "name")
	if err != nil {
		return nil, nil, nil, nil, "", err
	}
	x, err = TaskOf(th, fn)
	if err != nil {
		return nil, nil, nil, nil, "", err
	}
	if nameV != nil && nameV != starlark.None {
		s, ok := starlark.AsString(nameV)
		if !ok {
			return nil, nil, nil, nil, "", Errorf(KindValue, "%s: for parameter name: got %s, want string", fn, nameV.Type())
		}
		name = s
	}
	return x, call, rest, kw, name, nil
}

func builtinSpawn(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, fn, rest, kw, name, err := spawnArgs(th, "spawn", args, kwargs)
	if err != nil {
		return nil, err
	}
	return x.Task.eng.Spawn(fn, rest, kw, name, x.Task, Callers(th)).Value(), nil
}

func builtinSleep(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var secs starlark.Value
	if len(args) == 1 && len(kwargs) == 0 {
		secs = args[0] // the common call: nothing for UnpackArgs to escape
	} else {
		var v starlark.Value
		if err := starlark.UnpackArgs("sleep", args, kwargs, "seconds", &v); err != nil {
			return nil, ValueError(err)
		}
		secs = v
	}
	s, err := SecondsArg("sleep", "seconds", secs)
	if err != nil {
		return nil, err
	}
	x, err := TaskOf(th, "sleep")
	if err != nil {
		return nil, err
	}
	d := DurationOf(s)
	if d <= 0 {
		return x.YieldThen(th, b)
	}
	w := x.sleepStart(d)
	return x.ParkThen(th, b, w, (*sleepReason)(x.Task), NoTimeout, "sleep", sleepThen)
}

// sleepThen ends sleep's wait (w is its task's own waiter).
func sleepThen(w *Waiter, _ Reason) (starlark.Value, error) {
	if err := w.task.exec.sleepEnd(w); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

// Sleep suspends the task for d (0: let every other ready task run once).
func (x *Exec) Sleep(d time.Duration) error {
	if d <= 0 {
		if err := x.YieldNow(); err != nil {
			return err
		}
		return nil
	}
	w := x.sleepStart(d)
	x.Park(w, (*sleepReason)(x.Task), NoTimeout, "sleep")
	return x.sleepEnd(w)
}

// sleepStart sets the sleep's timer, for d > 0. The waiter and timer
// live in the task, and the reason is the task (sleepReason): a task
// sleeps once at a time, and nothing refers to them after the timer is
// stopped, so a sleep allocates nothing.
func (x *Exec) sleepStart(d time.Duration) *Waiter {
	t := x.Task
	e := t.eng
	w := &t.sleepWaiter
	*w = Waiter{task: t, Index: -1}
	when := e.clock.now() + d
	tm := &t.sleepTimer
	*tm = timer{wake: w}
	e.pushTimer(tm, when)
	return w
}

// sleepEnd ends a sleep once the task runs again: its outcome.
func (x *Exec) sleepEnd(w *Waiter) error {
	x.Task.eng.stopTimer(&x.Task.sleepTimer)
	return w.Err
}

func builtinWait(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v, timeout starlark.Value = nil, starlark.None
	if err := starlark.UnpackArgs("wait", args, kwargs, "x", &v, "timeout?", &timeout); err != nil {
		return nil, ValueError(err)
	}
	a, err := AsAwaitable("wait", 0, v)
	if err != nil {
		return nil, err
	}
	return waitWithTimeout(th, b, "wait", a, timeout)
}

// items converts join/race arguments: awaitables stay, callables are
// spawned as child tasks.
//
// Every task among them is observed from here on (SPEC 4: joining or
// racing a task observes it): join and race always see each one to its
// end, taking its outcome or cancelling and reaping it, so none is
// reported as a failure nobody saw. Observing only the outcomes taken
// reported a second item that failed while the first failure was on
// its way to the joining task, and changed the exit status.
func items(th *starlark.Thread, x *Exec, fn string, args starlark.Tuple) ([]Awaitable, error) {
	out := make([]Awaitable, len(args))
	var site string
	for i, v := range args {
		if a, ok := v.(Awaitable); ok {
			out[i] = Unwrap(a)
			if t, ok := out[i].(*Task); ok {
				t.observe()
			}
			continue
		}
		if c, ok := v.(starlark.Callable); ok {
			if site == "" {
				site = Callers(th)
			}
			t := x.Task.eng.Spawn(c, nil, nil, "", x.Task, site)
			t.observe()
			out[i] = t
			continue
		}
		return nil, Errorf(KindValue, "%s: argument %d: got %s, want an awaitable or a callable", fn, i+1, v.Type())
	}
	return out, nil
}

func waitOptions(fn string, kwargs []starlark.Tuple, settle *bool) (time.Duration, error) {
	var timeout starlark.Value = starlark.None
	var err error
	if settle != nil {
		err = starlark.UnpackArgs(fn, nil, kwargs, "timeout?", &timeout, "settle?", settle)
	} else {
		err = starlark.UnpackArgs(fn, nil, kwargs, "timeout?", &timeout)
	}
	if err != nil {
		return 0, ValueError(err)
	}
	return TimeoutArg(fn, timeout)
}

// cancelAndReap cancels every unfinished task among items and waits for
// them to finish, shielded from the caller's own cancellation (their
// deferred functions are bounded, so this ends).
func (x *Exec) cancelAndReap(its []Awaitable, except int) {
	var pending []*Task
	for i, a := range its {
		if t, ok := a.(*Task); ok && i != except && !t.Done() {
			t.Cancel("cancelled")
			pending = append(pending, t)
		}
	}
	if len(pending) == 0 {
		return
	}
	sh := &CancelScope{shield: true}
	x.Task.push(sh)
	for _, t := range pending {
		x.WaitOne(t, NoTimeout)
	}
	x.Task.pop(sh)
}

// joinGroup collects the outcomes of join's items.
type joinGroup struct {
	w         *Waiter
	values    []starlark.Value
	errs      []error
	done      []bool
	remaining int
	settle    bool
	failed    int
}

// Accepts: once the join's wait has ended (all done, a failure, a timeout,
// a cancellation) it takes nothing more, which lets its entries be left
// in the items' lists when it dequeues (waitList).
func (g *joinGroup) Accepts(i int) bool {
	return !g.w.fired && !g.done[i] && (g.settle || g.failed < 0)
}
func (g *joinGroup) Complete(i int, v starlark.Value, err error) {
	if !g.Accepts(i) {
		return
	}
	g.done[i], g.values[i], g.errs[i] = true, v, err
	g.remaining--
	if err != nil && !g.settle && g.failed < 0 {
		g.failed = i
	}
	if g.remaining == 0 || g.failed >= 0 {
		g.w.Complete(0, starlark.None, nil)
	}
}

type joinReason struct {
	g   *joinGroup
	its []Awaitable
}

func (r joinReason) WaitingOn() string {
	return "join (" + strconv.Itoa(r.g.remaining) + " of " + strconv.Itoa(len(r.g.done)) + " pending)"
}

func builtinJoin(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	settle := false
	d, err := waitOptions("join", kwargs, &settle)
	if err != nil {
		return nil, err
	}
	x, err := TaskOf(th, "join")
	if err != nil {
		return nil, err
	}
	if err := x.checkSelfWait("join", "argument", args); err != nil {
		return nil, err
	}
	// Like every wait, it fails at once in a cancelled task, even when
	// an item is already done (SPEC 4: cancellation is sticky).
	if err := x.Task.interruption(); err != nil {
		return nil, err
	}
	its, err := items(th, x, "join", args)
	if err != nil {
		return nil, err
	}
	n := len(its)
	g := &joinGroup{w: NewWaiter(x.Task), values: make([]starlark.Value, n), errs: make([]error, n), done: make([]bool, n), remaining: n, settle: settle, failed: -1}
	if n == 0 {
		return starlark.NewList(nil), nil
	}
	for i, a := range its {
		if v, err, ok := a.Poll(x.Task); ok {
			g.Complete(i, v, err)
		}
	}
	if g.w.fired {
		return x.joinEnd(its, g)
	}
	for i, a := range its {
		if !g.done[i] {
			a.Enqueue(g, i)
		}
	}
	return x.ParkThen(th, b, g.w, joinReason{g, its}, d, "join", func(*Waiter, Reason) (starlark.Value, error) {
		for i, a := range its {
			if !g.done[i] {
				a.Dequeue(g)
			}
		}
		return x.joinEnd(its, g)
	})
}

// joinEnd is join's outcome once its wait has ended.
func (x *Exec) joinEnd(its []Awaitable, g *joinGroup) (starlark.Value, error) {
	// A timeout or cancellation ends the join, settle or not; an item's
	// error ends it unless settle (then g.failed stays -1).
	if err := g.w.Err; err != nil || g.failed >= 0 {
		x.cancelAndReap(its, -1)
		if err == nil {
			err = g.errs[g.failed]
		}
		return nil, err
	}
	out := make([]starlark.Value, len(its))
	for i := range its {
		if g.settle {
			out[i] = NewResult(g.values[i], g.errs[i])
		} else {
			out[i] = g.values[i]
		}
	}
	return starlark.NewList(out), nil
}

type raceReason struct{ its []Awaitable }

func (r raceReason) WaitingOn() string { return "race of " + strconv.Itoa(len(r.its)) }

func builtinRace(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	d, err := waitOptions("race", kwargs, nil)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, Errorf(KindValue, "race: needs at least one item")
	}
	x, err := TaskOf(th, "race")
	if err != nil {
		return nil, err
	}
	if err := x.checkSelfWait("race", "argument", args); err != nil {
		return nil, err
	}
	// Like every wait, it fails at once in a cancelled task, even when
	// an item is already done (SPEC 4: cancellation is sticky).
	if err := x.Task.interruption(); err != nil {
		return nil, err
	}
	its, err := items(th, x, "race", args)
	if err != nil {
		return nil, err
	}
	// The first item to finish decides; ties go to argument order.
	i, v, err, w := x.firstStart(its, false, true)
	if w == nil {
		return x.raceEnd(its, i, v, err)
	}
	return x.ParkThen(th, b, w, raceReason{its}, d, "race", func(*Waiter, Reason) (starlark.Value, error) {
		i, v, err := firstEnd(its, w)
		return x.raceEnd(its, i, v, err)
	})
}

// raceEnd is race's outcome once item i won (or the wait failed): the
// other items' tasks are cancelled and reaped.
func (x *Exec) raceEnd(its []Awaitable, i int, v starlark.Value, err error) (starlark.Value, error) {
	x.cancelAndReap(its, i)
	if err != nil {
		return nil, err
	}
	return starlark.Tuple{starlark.MakeInt(i), v}, nil
}

func builtinTimeout(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) == 0 {
		return nil, Errorf(KindValue, "timeout: missing argument seconds")
	}
	s, err := SecondsArg("timeout", "seconds", args[0])
	if err != nil {
		return nil, err
	}
	fn, rest, kw, _, err := splitCall("timeout", args, kwargs, 1, "")
	if err != nil {
		return nil, err
	}
	x, err := TaskOf(th, "timeout")
	if err != nil {
		return nil, err
	}
	t := x.Task
	sc := &CancelScope{}
	t.push(sc)
	expire := func() { sc.Cancel(Errorf(KindTimeout, "deadline of %s exceeded", fmtSeconds(s))) }
	tm := t.eng.AfterFunc(DurationOf(s), expire)
	v, err := CallFn(th, fn, rest, kw)
	if sc.err == nil && tm.index >= 0 && tm.when <= t.eng.clock.now() {
		// Due, but the loop never ran to fire it: fn spent the time in
		// one long Go call ("x" * 800000000) and returned. The deadline
		// passed all the same.
		expire()
	}
	t.eng.stopTimer(tm)
	x.Task.pop(sc) // another task's, if fn is a generator body another task resumed (BodyScopes)
	if sc.err != nil && !(err != nil && KindOf(err) == KindCancelled) {
		// Past the deadline; but a cancellation that ended fn is not
		// this deadline's (which fn's waits get as a timeout): the
		// generator body fn runs in was closed at an emit, after the
		// deadline passed while it was suspended.
		e := *sc.err
		if err != nil {
			e.Stack = ToError(err).Stack
		}
		return nil, &e
	}
	return v, err
}

func builtinAfter(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var secs starlark.Value
	if err := starlark.UnpackArgs("after", args, kwargs, "seconds", &secs); err != nil {
		return nil, ValueError(err)
	}
	s, err := SecondsArg("after", "seconds", secs)
	if err != nil {
		return nil, err
	}
	x, err := TaskOf(th, "after")
	if err != nil {
		return nil, err
	}
	return x.Task.eng.NewTimer(DurationOf(s)), nil
}

func builtinFuture(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs("future", args, kwargs); err != nil {
		return nil, ValueError(err)
	}
	return &Future{}, nil
}

func builtinCurrentTask(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs("current_task", args, kwargs); err != nil {
		return nil, ValueError(err)
	}
	x, err := TaskOf(th, "current_task")
	if err != nil {
		return nil, err
	}
	return x.Task.Value(), nil
}

func builtinCatch(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn, rest, kw, _, err := splitCall("catch", args, kwargs, 0, "")
	if err != nil {
		return nil, err
	}
	v, err := CallFn(th, fn, rest, kw)
	return NewResult(v, err), nil
}

func builtinDefer(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn, rest, kw, _, err := splitCall("defer", args, kwargs, 0, "")
	if err != nil {
		return nil, err
	}
	x := ExecOf(th)
	var list *[]Deferred
	if x != nil {
		list = x.deferList()
	}
	if list == nil {
		return nil, Errorf(KindValue, "defer: not inside a task or generator")
	}
	if x.Task != nil {
		if err := x.Task.deferralsOver(); err != nil {
			return nil, &Error{Kind: err.Kind, Msg: "defer: " + err.Msg}
		}
	}
	*list = append(*list, Deferred{Fn: fn, Args: rest, Kwargs: kw})
	return starlark.None, nil
}

func builtinFreeze(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackArgs("freeze", args, kwargs, "x", &v); err != nil {
		return nil, ValueError(err)
	}
	v.Freeze()
	return v, nil
}
