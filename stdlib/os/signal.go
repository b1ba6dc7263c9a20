package os

import (
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// signalNames are the signals os.signal accepts (SPEC 7).
var signalNames = map[string]syscall.Signal{
	"INT":  syscall.SIGINT,
	"TERM": syscall.SIGTERM,
	"HUP":  syscall.SIGHUP,
}

// signalCapacity is how many deliveries an os.signal channel buffers; a
// receiver further behind loses the oldest (signals coalesce anyway).
const signalCapacity = 16

// A Hub routes the process's signals between scripts and the command.
// Signals are per process, while engines and their os.signal channels are
// many: the hub is the one place that calls signal.Notify. A delivery goes
// to every script subscriber of that signal; only when there is none does
// it go to the fallbacks (the coro command's "cancel the run and exit
// 130"). While nothing at all is registered for a signal, the hub stops
// catching it, so its default action (ending the process) is back.
type Hub struct {
	mu      sync.Mutex
	entries map[os.Signal]*hubEntry
}

type hubEntry struct {
	ch        chan os.Signal
	subs      map[*int]func()
	fallbacks map[*int]func()
}

// Signals is the process's hub.
var Signals = &Hub{entries: map[os.Signal]*hubEntry{}}

// Subscribe makes fn receive each delivery of sig (fn runs on the hub's
// goroutine: it must only hand off, e.g. with Engine.Post) and takes sig
// over from the fallbacks. The returned function unsubscribes.
func (h *Hub) Subscribe(sig os.Signal, fn func()) (cancel func()) {
	return h.add(sig, fn, false)
}

// Fallback makes fn run on deliveries of sig that no subscriber takes.
// The returned function removes it.
func (h *Hub) Fallback(sig os.Signal, fn func()) (cancel func()) {
	return h.add(sig, fn, true)
}

func (h *Hub) add(sig os.Signal, fn func(), fallback bool) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	ent := h.entries[sig]
	if ent == nil {
		ent = &hubEntry{ch: make(chan os.Signal, 4), subs: map[*int]func(){}, fallbacks: map[*int]func(){}}
		h.entries[sig] = ent
		signal.Notify(ent.ch, sig)
		go h.dispatch(sig, ent)
	}
	key := new(int)
	if fallback {
		ent.fallbacks[key] = fn
	} else {
		ent.subs[key] = fn
	}
	var once sync.Once
	return func() { once.Do(func() { h.remove(sig, ent, key) }) }
}

func (h *Hub) remove(sig os.Signal, ent *hubEntry, key *int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(ent.subs, key)
	delete(ent.fallbacks, key)
	if len(ent.subs)+len(ent.fallbacks) == 0 {
		signal.Stop(ent.ch)
		close(ent.ch)
		delete(h.entries, sig)
	}
}

// Subscribed reports whether a script subscriber holds sig.
func (h *Hub) Subscribed(sig os.Signal) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	ent := h.entries[sig]
	return ent != nil && len(ent.subs) > 0
}

func (h *Hub) dispatch(sig os.Signal, ent *hubEntry) {
	for range ent.ch {
		h.mu.Lock()
		var fns []func()
		if len(ent.subs) > 0 {
			for _, fn := range ent.subs {
				fns = append(fns, fn)
			}
		} else {
			for _, fn := range ent.fallbacks {
				fns = append(fns, fn)
			}
		}
		h.mu.Unlock()
		for _, fn := range fns {
			fn()
		}
	}
}

// osSignal is os.signal(name): a channel receiving name at each delivery
// of that signal. While it is open the signal no longer ends the process;
// closing it gives the signal back. A task waiting on it keeps the run
// alive.
func osSignal(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, loop.ValueError(err)
	}
	sig, ok := signalNames[name]
	if !ok {
		return nil, loop.Errorf(loop.KindValue, "%s: unknown signal %s (want \"INT\", \"TERM\" or \"HUP\")", b.Name(), loop.QuoteArg(name))
	}
	x, err := loop.TaskOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	e := x.Task.Engine()
	// The signals are the process's: an embedder's engine takes them only
	// if its host says so (Permissions.Signals; the command does).
	if err := e.CheckSignals(b.Name()); err != nil {
		return nil, err
	}
	c := e.NewChannel(signalCapacity)
	v := starlark.String(name)
	unsubscribe := Signals.Subscribe(sig, func() {
		e.Post(func() { c.SendDropOldest(v) })
	})
	e.Keep(c, c.Receiving)
	closed := make(chan struct{})
	c.OnClose(func() {
		e.Unkeep(c)
		unsubscribe()
		close(closed)
	})
	// A channel the script never closes gives the signal back when the
	// engine closes; one it closes ends this goroutine.
	ctx := e.Context()
	go func() {
		select {
		case <-ctx.Done():
			unsubscribe()
		case <-closed:
		}
	}()
	return c, nil
}
