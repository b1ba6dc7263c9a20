package nats

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// remote() calls travel on a work queue of their own: the caller puts
// the call (loop.RemoteCall as JSON) with the subject of a reply inbox it
// listens on, any worker takes it, runs it and publishes the reply there,
// then acknowledges the call. A worker says it is still at work every
// remoteHeartbeat; one that dies stops saying so, and after remoteAckWait
// the call goes to another worker: well within the 5 s of SPEC 16.
const (
	remoteStream    = "CORO_REMOTE"
	remoteSubject   = "coro.remote"
	remoteAckWait   = 3 * time.Second
	remoteHeartbeat = time.Second
	remoteAttempts  = 5
	replyHeader     = "Coro-Reply"
	deadlineHeader  = "Coro-Deadline"
)

var _ loop.Remote = (*Hub)(nil)

// remoteQueue returns the consumer of remote()'s queue, making it on
// first use. Off the loop.
func (h *Hub) remoteQueue(ctx context.Context) (jetstream.Consumer, error) {
	h.mu.Lock()
	cons := h.workers
	h.mu.Unlock()
	if cons != nil {
		return cons, nil
	}
	cons, err := h.ensureQueue(ctx, remoteStream, remoteSubject, remoteAckWait, remoteAttempts, h.remoteDropped)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.workers = cons
	h.mu.Unlock()
	return cons, nil
}

// remoteDropped reports a call every attempt of which failed (its
// workers died) and tells its caller so.
func (h *Hub) remoteDropped(d drop) {
	what := fmt.Sprintf("remote call #%d", d.seq)
	if d.msg != nil {
		var call loop.RemoteCall
		if json.Unmarshal(d.msg.Data, &call) == nil {
			what = fmt.Sprintf("remote %s() of %s", call.Func, call.Module)
		}
		if to := d.msg.Header.Get(replyHeader); to != "" {
			reply, _ := json.Marshal(&loop.RemoteReply{Error: &loop.RemoteError{Kind: loop.KindError,
				Msg: fmt.Sprintf("%s: given up after %d attempts (the workers running it died)", what, d.attempts)}})
			if nc, _, err := h.Conn(); err == nil {
				nc.Publish(to, reply)
			}
		}
	}
	h.report(fmt.Sprintf("coro: %s dropped after %d attempts", what, d.attempts))
}

// Call sends a remote() call and waits for its reply (loop.Remote).
func (h *Hub) Call(ctx context.Context, call *loop.RemoteCall) (*loop.RemoteReply, error) {
	const fn = "remote"
	nc, js, err := h.Conn()
	if err != nil {
		return nil, err
	}
	if _, err := h.remoteQueue(ctx); err != nil {
		return nil, errorOf(fn, err)
	}
	data, err := json.Marshal(call)
	if err != nil {
		return nil, loop.Errorf(loop.KindValue, "remote: %v", err)
	}
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, errorOf(fn, err)
	}
	defer sub.Unsubscribe()
	msg := natsgo.NewMsg(remoteSubject)
	msg.Data = data
	msg.Header.Set(replyHeader, inbox)
	// The inbox is unique: a put tried again after a lost answer is
	// recognised as the same call.
	msg.Header.Set(natsgo.MsgIdHdr, inbox)
	if dl, ok := ctx.Deadline(); ok {
		msg.Header.Set(deadlineHeader, strconv.FormatInt(dl.UnixNano(), 10))
	}
	if err := retry(ctx, func(ctx context.Context) error {
		_, err := js.PublishMsg(ctx, msg)
		return err
	}); err != nil {
		return nil, errorOf(fn, err)
	}
	m, err := sub.NextMsgWithContext(ctx)
	if err != nil {
		return nil, errorOf(fn, err)
	}
	var reply loop.RemoteReply
	if err := json.Unmarshal(m.Data, &reply); err != nil {
		return nil, loop.Errorf(loop.KindValue, "remote %s: the worker's reply is not JSON: %v", call.Func, err)
	}
	return &reply, nil
}

// Serve serves remote() calls in the task x runs for, until it is
// cancelled (`coro worker`): concurrency tasks each take a call, run it
// with the modules below dir (Exec.ServeRemote) and reply.
func (h *Hub) Serve(x *loop.Exec, dir string, concurrency int) error {
	const fn = "coro worker"
	e := x.Task.Engine()
	if err := e.CheckNet(fn); err != nil {
		return err
	}
	var cons jetstream.Consumer
	_, err := x.Offload(loop.Offload{Why: loop.ReasonString("connecting to NATS"), Op: fn, Timeout: loop.NoTimeout, Own: true,
		Work: func(ctx context.Context) (starlark.Value, error) {
			if _, _, err := h.Conn(); err != nil {
				return nil, err
			}
			c, err := h.remoteQueue(ctx)
			if err != nil {
				return nil, errorOf(fn, err)
			}
			cons = c
			return starlark.None, nil
		}})
	if err != nil {
		return err
	}
	tasks := make([]*loop.Task, max(concurrency, 1))
	for i := range tasks {
		body := starlark.NewBuiltin("worker", func(th *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			return starlark.None, h.serveCalls(th, cons, dir)
		})
		tasks[i] = e.Spawn(body, nil, nil, fmt.Sprintf("worker-%d", i+1), x.Task, "")
	}
	for _, t := range tasks {
		if _, err := x.WaitOne(t.Value(), loop.NoTimeout); err != nil {
			return err
		}
	}
	return nil
}

// serveCalls is one worker task: take a call, run it, reply, acknowledge.
func (h *Hub) serveCalls(th *starlark.Thread, cons jetstream.Consumer, dir string) error {
	const fn = "coro worker"
	for {
		x, err := loop.TaskOf(th, fn)
		if err != nil {
			return err
		}
		var m jetstream.Msg
		_, err = x.Offload(loop.Offload{Why: loop.ReasonString("take a remote call"), Op: fn, Timeout: loop.NoTimeout, Own: true,
			Work: func(ctx context.Context) (starlark.Value, error) {
				msg, err := next(ctx, x.Task.Engine().Context(), cons)
				if err != nil {
					return nil, errorOf(fn, err)
				}
				m = msg
				return starlark.None, nil
			},
			Drop: func(starlark.Value, error) {
				if m != nil {
					go m.Nak()
				}
			}})
		if err != nil {
			return err
		}
		var call loop.RemoteCall
		to := m.Headers().Get(replyHeader)
		if json.Unmarshal(m.Data(), &call) != nil || to == "" {
			go m.Term() // not a call: nobody can be waiting for it
			continue
		}
		if dl, err := strconv.ParseInt(m.Headers().Get(deadlineHeader), 10, 64); err == nil && time.Now().UnixNano() > dl {
			go m.Ack() // its caller gave up on it
			continue
		}
		stop := heartbeat(m)
		reply := x.ServeRemote(dir, &call)
		stop()
		if x.Checkpoint() != nil {
			// This worker is stopping: the call goes to another one.
			go m.Nak()
			return x.Checkpoint()
		}
		data, err := json.Marshal(reply)
		if err != nil {
			data, _ = json.Marshal(&loop.RemoteReply{Error: &loop.RemoteError{Kind: loop.KindError, Msg: err.Error()}})
		}
		_, err = x.Offload(loop.Offload{Why: loop.ReasonString("reply to a remote call"), Op: fn, Timeout: loop.NoTimeout, Own: true,
			Work: func(ctx context.Context) (starlark.Value, error) {
				nc, _, err := h.Conn()
				if err != nil {
					return nil, err
				}
				if err := nc.Publish(to, data); err != nil {
					return nil, errorOf(fn, err)
				}
				if err := retry(ctx, func(ctx context.Context) error { return m.DoubleAck(ctx) }); err != nil {
					return nil, errorOf(fn, err)
				}
				return starlark.None, nil
			}})
		if err != nil {
			if x.Checkpoint() != nil {
				return err
			}
			h.report(fmt.Sprintf("coro worker: %v", err))
		}
	}
}

// heartbeat tells the server every remoteHeartbeat that m is still being
// worked on, until the returned function is called.
func heartbeat(m jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(remoteHeartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				m.InProgress()
			}
		}
	}()
	return func() { close(done) }
}
