package loop

import "sync"

// PoolSize bounds the goroutines doing blocking work (file system calls)
// at once, across every engine in the process (Offload). A goroutine inside a
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
