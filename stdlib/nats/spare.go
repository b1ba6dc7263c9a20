package nats

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Jobs caught for takers that had left.
//
// A take waits in JetStream pull requests of up to fetchSlice, and the
// server keeps a request until it expires, whether or not anyone still
// waits on it: a take that timed out or was cancelled leaves its request
// behind, and a job the server hands it has counted a delivery. Given
// back (Nak), that job came again as attempt 2, and with max_attempts=1
// it was dropped unseen. So it is kept as a spare for the queue's next
// taker in this engine, one waiting or one to come, which gets it as the
// attempt it is; only a spare nobody claims within its grace (a second,
// less for a short ack_wait, whose clock runs meanwhile) is given back.
type spareJobs struct {
	mu     sync.Mutex
	msgs   []spareMsg    // oldest first
	ready  chan struct{} // holds a token while msgs may be non-empty
	closed bool
}

type spareMsg struct {
	m     jetstream.Msg
	until time.Time
}

func newSpareJobs() *spareJobs { return &spareJobs{ready: make(chan struct{}, 1)} }

// spareGrace is how long a spare waits for a taker, for a queue whose
// jobs are a taker's for ackWait.
func spareGrace(ackWait time.Duration) time.Duration { return min(time.Second, ackWait/4) }

// put keeps m for the next taker, for grace; from any goroutine.
func (s *spareJobs) put(m jetstream.Msg, grace time.Duration) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		m.Nak()
		return
	}
	s.msgs = append(s.msgs, spareMsg{m, time.Now().Add(grace)})
	s.mu.Unlock()
	s.signal()
	time.AfterFunc(grace, s.expire)
}

func (s *spareJobs) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// take returns the oldest spare, or nil if there is none.
func (s *spareJobs) take() jetstream.Msg {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.msgs) == 0 {
		return nil
	}
	m := s.msgs[0].m
	s.msgs[0] = spareMsg{}
	s.msgs = s.msgs[1:]
	if len(s.msgs) > 0 {
		s.signal() // for another taker
	}
	return m
}

// expire gives back the spares whose grace is over.
func (s *spareJobs) expire() {
	now := time.Now()
	var old []jetstream.Msg
	s.mu.Lock()
	keep := s.msgs[:0]
	for _, sm := range s.msgs {
		if now.Before(sm.until) {
			keep = append(keep, sm)
		} else {
			old = append(old, sm.m)
		}
	}
	clear(s.msgs[len(keep):])
	s.msgs = keep
	s.mu.Unlock()
	for _, m := range old {
		m.Nak()
	}
}

// close gives every spare back (the engine is closing: another may take
// them at once) and makes later ones go back at once.
func (s *spareJobs) close() {
	s.mu.Lock()
	msgs := s.msgs
	s.msgs, s.closed = nil, true
	s.mu.Unlock()
	for _, sm := range msgs {
		sm.m.Nak()
	}
}

// pulled is what a pull request brought.
type pulled struct {
	m   jetstream.Msg
	err error
}

// next waits until ctx is done for q's next message: a spare, or one its
// own pull requests bring. Off the loop.
func (q *Queue) next(ctx context.Context) (jetstream.Msg, error) {
	sp := q.spares
	if m := sp.take(); m != nil {
		return m, nil
	}
	pctx, stop := context.WithCancel(ctx)
	res := make(chan pulled, 1)
	go func() {
		m, err := next(pctx, q.e.Context(), q.cons)
		res <- pulled{m, err}
	}()
	// keepLate makes what the pull request brings from now on a spare:
	// it runs its slice out (next), as the server would deliver to it
	// all the same.
	keepLate := func() {
		stop()
		go func() {
			if r := <-res; r.m != nil {
				sp.put(r.m, q.grace)
			}
		}()
	}
	for {
		select {
		case r := <-res:
			stop()
			if r.m != nil && ctx.Err() != nil {
				sp.put(r.m, q.grace) // it came as the taker left
				return nil, ctx.Err()
			}
			return r.m, r.err
		case <-sp.ready:
			if m := sp.take(); m != nil {
				keepLate()
				return m, nil
			}
		case <-ctx.Done():
			keepLate()
			return nil, ctx.Err()
		}
	}
}
