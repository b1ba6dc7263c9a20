package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/corolang/coro/generator"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/starutil"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// validName reports whether s may name a queue or a bucket: 1 to 64
// ASCII letters, digits, _ or -. They name JetStream streams, which take
// no dots, wildcards or spaces. A loop rather than a regexp: compiling
// ^[A-Za-z0-9_-]{1,64}$ (sixty-four copies of the class) took a
// millisecond of every run's start-up.
func validName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// A work queue is a JetStream stream with work-queue retention (a job is
// removed once acknowledged) and one durable pull consumer every taker
// shares: each job goes to one taker at a time.
const (
	queueStreamPrefix = "CORO_Q_"
	queueSubject      = "coro.q."
	takers            = "coro"
	// fetchSlice bounds one pull request: a take waits in slices, so a
	// server that restarts meanwhile costs at most one slice.
	fetchSlice = 5 * time.Second
)

// A Queue is nats.queue(name): the stream and its consumer.
type Queue struct {
	e       *loop.Engine
	hub     *Hub
	name    string
	subject string
	stream  jetstream.Stream
	cons    jetstream.Consumer
	// spares are the jobs caught for this queue's takers that had left
	// (spare.go), shared by every Queue of the name in the engine, and
	// grace how long one waits for a taker.
	spares *spareJobs
	grace  time.Duration
}

// ensureQueue creates (or updates) the stream and the consumer of a work
// queue, and watches its drops. Off the loop.
func (h *Hub) ensureQueue(ctx context.Context, stream, subject string, ackWait time.Duration, maxAttempts int, onDrop func(d drop)) (jetstream.Consumer, error) {
	_, js, err := h.Conn()
	if err != nil {
		return nil, err
	}
	var cons jetstream.Consumer
	err = retry(ctx, func(ctx context.Context) error {
		// A stream another process made is used as it is (it may keep
		// its jobs elsewhere: in memory, on files, on more replicas).
		_, err := js.Stream(ctx, stream)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			_, err = js.CreateStream(ctx, jetstream.StreamConfig{
				Name:       stream,
				Subjects:   []string{subject},
				Retention:  jetstream.WorkQueuePolicy,
				Storage:    h.storage(),
				Replicas:   h.replicas(),
				Duplicates: 2 * time.Minute,
			})
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				err = nil
			}
		}
		if err != nil {
			return err
		}
		cons, err = js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
			Durable:       takers,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       ackWait,
			MaxDeliver:    maxAttempts,
			MaxAckPending: 10000,
			Replicas:      h.replicas(),
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return cons, h.watchDrops(stream, onDrop)
}

// A drop is a job JetStream gave up on after its last attempt.
type drop struct {
	stream   string
	seq      uint64
	attempts uint64
	msg      *jetstream.RawStreamMsg // nil if it could not be read
}

// watchDrops subscribes (once per stream and hub) to the advisory the
// server sends when a job has used up its attempts: the job is then
// removed from the stream (work-queue retention would keep it for ever)
// and onDrop reports it. The subscription is in a queue group, so that of
// all the processes using the queue one handles each drop.
func (h *Hub) watchDrops(stream string, onDrop func(d drop)) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.drops[stream] || h.nc == nil {
		return nil
	}
	nc, js := h.nc, h.js
	subject := "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + stream + "." + takers
	_, err := nc.QueueSubscribe(subject, "coro-drops", func(m *natsgo.Msg) {
		var adv struct {
			Seq        uint64 `json:"stream_seq"`
			Deliveries uint64 `json:"deliveries"`
		}
		if json.Unmarshal(m.Data, &adv) != nil {
			return
		}
		d := drop{stream: stream, seq: adv.Seq, attempts: adv.Deliveries}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if s, err := js.Stream(ctx, stream); err == nil {
			if raw, err := s.GetMsg(ctx, adv.Seq); err == nil {
				d.msg = raw
			}
			s.DeleteMsg(ctx, adv.Seq)
		}
		onDrop(d)
	})
	if err != nil {
		return err
	}
	h.drops[stream] = true
	return nil
}

// queue(name, ack_wait=30, max_attempts=5)
func queue(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var name string
	var ackWait starlark.Value = starlark.MakeInt(30)
	maxAttempts := 5
	if err := starutil.Unpack(fn, args, kwargs, "name", &name, "ack_wait?", &ackWait, "max_attempts?", &maxAttempts); err != nil {
		return nil, err
	}
	if !validName(name) {
		return nil, loop.Errorf(loop.KindValue, "%s: name %s: want 1 to 64 letters, digits, _ or -", fn, loop.QuoteArg(name))
	}
	secs, err := loop.SecondsArg(fn, "ack_wait", ackWait)
	if _, isNumber := starlark.AsFloat(ackWait); isNumber && (err != nil || secs <= 0) {
		// One message for every number out of range: SecondsArg's says
		// ">= 0", and 0 is refused here too.
		return nil, loop.Errorf(loop.KindValue, "%s: ack_wait must be > 0, got %s", fn, ackWait)
	}
	if err != nil {
		return nil, err
	}
	if maxAttempts < 1 {
		return nil, loop.Errorf(loop.KindValue, "%s: max_attempts must be >= 1, got %d", fn, maxAttempts)
	}
	x, h, err := enter(th, fn)
	if err != nil {
		return nil, err
	}
	report := h.report
	e := x.Task.Engine()
	return offload(x, h, fn, starlark.None, func(ctx context.Context, nc *natsgo.Conn) (starlark.Value, error) {
		_, js, err := h.Conn()
		if err != nil {
			return nil, err
		}
		q := &Queue{e: e, hub: h, name: name, subject: queueSubject + name, spares: h.spareJobs(name), grace: spareGrace(loop.DurationOf(secs))}
		cons, err := h.ensureQueue(ctx, queueStreamPrefix+name, q.subject, loop.DurationOf(secs), maxAttempts, func(d drop) {
			report(fmt.Sprintf("coro: nats queue %q: job %s dropped after %d attempts", name, dropID(d), d.attempts))
		})
		if err != nil {
			return nil, err
		}
		q.cons = cons
		if q.stream, err = js.Stream(ctx, queueStreamPrefix+name); err != nil {
			return nil, err
		}
		return q, nil
	})
}

// dropID names a dropped job as Job.id would.
func dropID(d drop) string {
	if d.msg != nil && d.msg.Header.Get(natsgo.MsgIdHdr) != "" {
		return strconv.Quote(d.msg.Header.Get(natsgo.MsgIdHdr))
	}
	return strconv.Quote(strconv.FormatUint(d.seq, 10))
}

var queueMethods = starutil.NewMethods("Queue", map[string]starutil.Func{
	"put":  queuePut,
	"take": queueTake,
	"jobs": queueJobs,
})

func (q *Queue) String() string        { return fmt.Sprintf("<Queue %s>", q.name) }
func (q *Queue) Type() string          { return "Queue" }
func (q *Queue) Freeze()               {}
func (q *Queue) OwnedByLoop()          {}
func (q *Queue) Truth() starlark.Bool  { return true }
func (q *Queue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Queue") }
func (q *Queue) AttrNames() []string   { return queueMethods.Names("name", "pending") }
func (q *Queue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(q.name), nil
	case "pending":
		return q.pending()
	}
	return queueMethods.Bind(name, q), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (q *Queue) Method(name string) *starlark.Builtin { return queueMethods.Method(name) }

// pending counts the jobs not taken yet: a question to the server, asked
// as a wait of the task reading the attribute.
func (q *Queue) pending() (starlark.Value, error) {
	const fn = "Queue.pending"
	x := q.e.CurrentExec()
	if x == nil || x.Task == nil {
		return nil, loop.Errorf(loop.KindValue, "%s: cannot wait here (not inside a coro task)", fn)
	}
	if err := q.e.CheckNet(fn); err != nil {
		return nil, err
	}
	return offload(x, q.hub, fn, starlark.None, func(ctx context.Context, _ *natsgo.Conn) (starlark.Value, error) {
		// The stream holds every job not acknowledged; those taken and
		// not acknowledged yet are the consumer's ack-pending ones.
		var msgs uint64
		var taken int
		err := retry(ctx, func(ctx context.Context) error {
			si, err := q.stream.Info(ctx)
			if err != nil {
				return err
			}
			ci, err := q.cons.Info(ctx)
			if err != nil {
				return err
			}
			msgs, taken = si.State.Msgs, ci.NumAckPending
			return nil
		})
		if err != nil {
			return nil, err
		}
		return starlark.MakeUint64(msgs - min(msgs, uint64(taken))), nil
	})
}

// put(data, id=None): id deduplicates (JetStream's Nats-Msg-Id, within
// two minutes).
func queuePut(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	q := b.Receiver().(*Queue)
	var data starutil.Bytes
	var id starlark.Value = starlark.None
	if err := starutil.Unpack(fn, args, kwargs, "data", &data, "id?", &id); err != nil {
		return nil, err
	}
	msg := natsgo.NewMsg(q.subject)
	msg.Data = []byte(data)
	if id != starlark.None {
		s, ok := starlark.AsString(id)
		if !ok || s == "" {
			return nil, loop.Errorf(loop.KindValue, "%s: for parameter id: want a non-empty string or None", fn)
		}
		msg.Header.Set(natsgo.MsgIdHdr, s)
	}
	x, h, err := enter(th, fn)
	if err != nil {
		return nil, err
	}
	return offload(x, h, fn, starlark.None, func(ctx context.Context, _ *natsgo.Conn) (starlark.Value, error) {
		_, js, err := h.Conn()
		if err != nil {
			return nil, err
		}
		return starlark.None, retry(ctx, func(ctx context.Context) error {
			_, err := js.PublishMsg(ctx, msg)
			return err
		})
	})
}

// take(timeout=None): the next job, waiting for one.
func queueTake(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var timeout starlark.Value = starlark.None
	if err := starutil.Unpack(fn, args, kwargs, "timeout?", &timeout); err != nil {
		return nil, err
	}
	x, _, err := enter(th, fn)
	if err != nil {
		return nil, err
	}
	return b.Receiver().(*Queue).take(x, fn, timeout)
}

func (q *Queue) take(x *loop.Exec, fn string, timeout starlark.Value) (starlark.Value, error) {
	d, err := loop.TimeoutArg(fn, timeout)
	if err != nil {
		return nil, err
	}
	return x.Offload(loop.Offload{Why: takeReason(q.name), Op: fn, Timeout: d, Own: true,
		Work: func(ctx context.Context) (starlark.Value, error) {
			m, err := q.next(ctx)
			if err != nil {
				return nil, errorOf(fn, err)
			}
			return newJob(q, m)
		},
		// Taken too late (the task was cancelled, or timed out, as the
		// job arrived): it is a spare for the next taker (spare.go).
		Drop: func(v starlark.Value, err error) {
			if j, ok := v.(*Job); ok {
				q.spares.put(j.msg, q.grace)
			}
		}})
}

// next waits for the consumer's next message until ctx is done, in
// pull requests of fetchSlice, trying again after a transient failure.
//
// A pull request is not abandoned when ctx ends: the server would still
// deliver a message to it, which nobody would read, and the job would be
// lost until its ack_wait. The request runs its slice out instead, and a
// message it brings after ctx ended is returned all the same, for the
// caller (an Offload's Drop) to give back at once. Only the engine's
// closing (engine, its Context) ends a request at once: nobody would give
// the message back then, and Close releases every goroutine the engine
// made (the request's outlived it by up to a slice).
func next(ctx, engine context.Context, cons jetstream.Consumer) (jetstream.Msg, error) {
	pause := 50 * time.Millisecond
	for {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		sctx, cancel := context.WithTimeout(engine, fetchSlice)
		m, err := cons.Next(jetstream.FetchContext(sctx))
		cancel()
		if err == nil {
			return m, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !transient(err) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		if errors.Is(err, natsgo.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			continue // the slice ended empty
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

type takeReason string

func (r takeReason) WaitingOn() string { return "take on queue " + string(r) }

// jobs(): a generator of the queue's jobs, taken one at a time as the
// consumer asks for the next.
func queueJobs(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	if err := starutil.Unpack(fn, args, kwargs); err != nil {
		return nil, err
	}
	if _, _, err := enter(th, fn); err != nil {
		return nil, err
	}
	q := b.Receiver().(*Queue)
	name := "jobs of queue " + q.name
	return generator.FromFunc(th, name, func(body *starlark.Thread, emit func(starlark.Value) error) error {
		for {
			x, err := loop.TaskOf(body, name)
			if err != nil {
				return err
			}
			j, err := q.take(x, fn, starlark.None)
			if err != nil {
				return err
			}
			if err := emit(j); err != nil {
				return err
			}
		}
	}), nil
}

// A Job is a job taken from a Queue.
type Job struct {
	q       *Queue
	msg     jetstream.Msg
	id      string
	attempt uint64
}

func newJob(q *Queue, m jetstream.Msg) (*Job, error) {
	md, err := m.Metadata()
	if err != nil {
		return nil, err
	}
	id := m.Headers().Get(natsgo.MsgIdHdr)
	if id == "" {
		id = strconv.FormatUint(md.Sequence.Stream, 10)
	}
	return &Job{q: q, msg: m, id: id, attempt: md.NumDelivered}, nil
}

var jobMethods = starutil.NewMethods("Job", map[string]starutil.Func{
	"ack":         jobAck,
	"nak":         jobNak,
	"in_progress": jobInProgress,
})

func (j *Job) String() string        { return fmt.Sprintf("<Job %s of queue %s>", j.id, j.q.name) }
func (j *Job) Type() string          { return "Job" }
func (j *Job) Freeze()               {}
func (j *Job) OwnedByLoop()          {}
func (j *Job) Truth() starlark.Bool  { return true }
func (j *Job) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Job") }
func (j *Job) AttrNames() []string   { return jobMethods.Names("attempt", "data", "id") }
func (j *Job) Attr(name string) (starlark.Value, error) {
	switch name {
	case "data":
		return starlark.String(j.msg.Data()), nil
	case "id":
		return starlark.String(j.id), nil
	case "attempt":
		return starlark.MakeUint64(j.attempt), nil
	}
	return jobMethods.Bind(name, j), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (j *Job) Method(name string) *starlark.Builtin { return jobMethods.Method(name) }

// jobOp runs one acknowledgement of the job: it returns once the server
// has it.
func jobOp(th *starlark.Thread, b *starlark.Builtin, op func(ctx context.Context, j *Job, nc *natsgo.Conn) error) (starlark.Value, error) {
	fn := b.Name()
	j := b.Receiver().(*Job)
	x, h, err := enter(th, fn)
	if err != nil {
		return nil, err
	}
	return offload(x, h, fn, starlark.None, func(ctx context.Context, nc *natsgo.Conn) (starlark.Value, error) {
		err := op(ctx, j, nc)
		if errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
			return nil, loop.Errorf(loop.KindValue, "%s: job %s was already acknowledged", fn, j.id)
		}
		return starlark.None, err
	})
}

// ack(): done with the job; it leaves the queue.
func jobAck(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starutil.Unpack(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return jobOp(th, b, func(ctx context.Context, j *Job, _ *natsgo.Conn) error {
		return retry(ctx, func(ctx context.Context) error { return j.msg.DoubleAck(ctx) })
	})
}

// nak(delay=None): give the job back, to be delivered again (after delay).
func jobNak(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var delay starlark.Value = starlark.None
	if err := starutil.Unpack(b.Name(), args, kwargs, "delay?", &delay); err != nil {
		return nil, err
	}
	var d time.Duration
	if delay != starlark.None {
		secs, err := loop.SecondsArg(b.Name(), "delay", delay)
		if err != nil {
			return nil, err
		}
		d = loop.DurationOf(secs) // saturated: nak(delay=1e300) converted to a negative duration, no delay
	}
	return jobOp(th, b, func(ctx context.Context, j *Job, nc *natsgo.Conn) error {
		var err error
		if d > 0 {
			err = j.msg.NakWithDelay(d)
		} else {
			err = j.msg.Nak()
		}
		if err != nil {
			return err
		}
		return flush(ctx, nc) // the server has it
	})
}

// in_progress(): still working on it; its ack_wait starts again.
func jobInProgress(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starutil.Unpack(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return jobOp(th, b, func(ctx context.Context, j *Job, nc *natsgo.Conn) error {
		if err := j.msg.InProgress(); err != nil {
			return err
		}
		return flush(ctx, nc)
	})
}
