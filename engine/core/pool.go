package core

import (
	"sync"
	"sync/atomic"

	"github.com/corolang/coro/starlark"
)

// PoolSize bounds the goroutines doing blocking work (file system calls)
// at once, across every engine in the process. A goroutine inside a
// blocking syscall holds an OS thread, so an unbounded fan-out (5,000
// tasks each reading a file) would make thousands of threads; the pool
// turns that into a queue served by a few threads.
const PoolSize = 16

// blockingPool is a FIFO of jobs served by at most PoolSize goroutines,
// which are started on demand and exit when the queue is empty (an idle
// process keeps none).
type blockingPool struct {
	mu      sync.Mutex
	queue   []func()
	head    int
	workers int
}

var pool blockingPool

func (p *blockingPool) submit(job func()) {
	p.mu.Lock()
	p.queue = append(p.queue, job)
	start := p.workers < PoolSize
	if start {
		p.workers++
	}
	p.mu.Unlock()
	if start {
		go p.work()
	}
}

func (p *blockingPool) work() {
	for {
		p.mu.Lock()
		if p.head == len(p.queue) {
			p.queue, p.head = p.queue[:0], 0
			p.workers--
			p.mu.Unlock()
			return
		}
		job := p.queue[p.head]
		p.queue[p.head] = nil
		p.head++
		if p.head >= 1024 && 2*p.head >= len(p.queue) {
			// Under sustained load the queue never empties: drop the
			// served prefix so it does not grow without bound.
			n := copy(p.queue, p.queue[p.head:])
			clear(p.queue[n:])
			p.queue, p.head = p.queue[:n], 0
		}
		p.mu.Unlock()
		job()
	}
}

// A Discardable is an outcome of a Blocking op that holds a resource (an
// open file). If the task stopped waiting before the op ended, Blocking
// calls Discard on the loop, so the resource is released at once rather
// than when the garbage collector finds it.
type Discardable interface {
	starlark.Value
	Discard()
}

// Blocking runs op on the process-wide blocking pool and suspends the task
// of x until it has finished, returning op's outcome; the loop and every
// other task run meanwhile. why is what the task waits on (TaskInfo), and
// opName names the operation in a timeout error.
//
// op runs on another goroutine: it must not touch engine state or any
// Starlark value it did not make itself. If the task is interrupted
// (cancelled, its timeout() scope expired) before op started, op never
// runs; once started it runs to the end and its outcome is dropped (a
// Discardable one discarded).
func (e *Engine) Blocking(x *Exec, why Reason, opName string, op func() (starlark.Value, error)) (starlark.Value, error) {
	if err := x.Task.interruption(); err != nil {
		return nil, err
	}
	w := NewWaiter(x.Task)
	var abandoned atomic.Bool
	e.Hold()
	pool.submit(func() {
		var v starlark.Value
		var err error
		if !abandoned.Load() {
			v, err = op()
		}
		e.Post(func() {
			e.Release()
			if d, ok := v.(Discardable); ok && w.Fired() {
				d.Discard()
				return
			}
			w.Complete(0, v, err)
		})
	})
	x.Park(w, why, NoTimeout, opName)
	abandoned.Store(true)
	return w.Result()
}
