package nats

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib/internal/starutil"
	natsgo "github.com/nats-io/nats.go"
)

// Module returns the nats module.
func Module() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "nats", Members: starlark.StringDict{
		"publish":   starlark.NewBuiltin("nats.publish", publish),
		"subscribe": starlark.NewBuiltin("nats.subscribe", subscribe),
		"request":   starlark.NewBuiltin("nats.request", request),
		"queue":     starlark.NewBuiltin("nats.queue", queue),
		"kv":        starlark.NewBuiltin("nats.kv", kv),
	}}
}

// enter checks what every function of the module needs: a task to wait
// in, net permission (in-process too: the server is a network service),
// and the engine's hub (engine.Options.NATS; package engine installs it as
// the loop's Remote, which is how the module finds it).
func enter(th *starlark.Thread, fn string) (*loop.Exec, *Hub, error) {
	x, err := loop.TaskOf(th, fn)
	if err != nil {
		return nil, nil, err
	}
	e := x.Task.Engine()
	if err := e.CheckNet(fn); err != nil {
		return nil, nil, err
	}
	h, ok := e.Options().Remote.(*Hub)
	if !ok {
		return nil, nil, loop.Errorf(loop.KindValue, "%s: this engine has no NATS", fn)
	}
	return x, h, nil
}

// offload runs work off the loop with the hub's connection, as a wait of
// the task in x named fn; errors get their kind (errorOf).
func offload(x *loop.Exec, h *Hub, fn string, timeout starlark.Value, work func(ctx context.Context, nc *natsgo.Conn) (starlark.Value, error)) (starlark.Value, error) {
	d, err := loop.TimeoutArg(fn, timeout)
	if err != nil {
		return nil, err
	}
	return x.Offload(loop.Offload{Why: loop.ReasonString(fn), Op: fn, Timeout: d, Own: true,
		Work: func(ctx context.Context) (starlark.Value, error) {
			nc, _, err := h.Conn()
			if err != nil {
				return nil, err
			}
			v, err := work(ctx, nc)
			if err != nil {
				return nil, errorOf(fn, err)
			}
			return v, nil
		}})
}

// headersArg reads a headers= dict of strings.
func headersArg(fn string, v starlark.Value) (natsgo.Header, error) {
	if v == nil || v == starlark.None {
		return nil, nil
	}
	items, err := starutil.StringDict(fn, "headers", v)
	if err != nil {
		return nil, err
	}
	h := natsgo.Header{}
	for _, kv := range items {
		h.Set(kv[0], kv[1])
	}
	return h, nil
}

// maxSubject is the longest subject (or key) a script may name, in bytes:
// the server reads a message's subject in its control line, at most 4096
// bytes, and a longer one ends the connection (every later call of the
// run failed with closed).
const maxSubject = 1024

// checkSubject refuses a subject the server would refuse by closing the
// connection, or drop without a word: empty tokens ("a..b"), white space,
// more than maxSubject bytes, and wildcards where they mean nothing: in a
// subject published to (pattern false), or ">" before the last token of a
// pattern ("a.>.b"). what names it ("subject", "pattern").
//
// It runs on every publish: the tokens are walked, not split out.
func checkSubject(fn, what, s string, pattern bool) error {
	bad := ""
	switch {
	case s == "":
		bad = "it is empty"
	case len(s) > maxSubject:
		bad = fmt.Sprintf("it is longer than %d bytes", maxSubject)
	case strings.ContainsAny(s, " \t\r\n"):
		bad = "it has white space"
	}
	rest := false // a token came after ">"
	for t := range strings.SplitSeq(s, ".") {
		if bad != "" {
			break
		}
		switch {
		case t == "":
			bad = "it has an empty token"
		case !pattern && (t == "*" || t == ">"):
			bad = "a wildcard (* or >) matches subjects, it is not one"
		case rest:
			bad = "> must be its last token"
		}
		rest = rest || t == ">"
	}
	if bad != "" {
		return loop.Errorf(loop.KindValue, "%s: bad %s %s: %s", fn, what, loop.QuoteArg(s), bad)
	}
	return nil
}

// publish(subject, data, headers=None)
func publish(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var subject string
	var data starutil.Bytes
	var headers starlark.Value = starlark.None
	if err := starutil.Unpack(fn, args, kwargs, "subject", &subject, "data", &data, "headers?", &headers); err != nil {
		return nil, err
	}
	if err := checkSubject(fn, "subject", subject, false); err != nil {
		return nil, err
	}
	hdr, err := headersArg(fn, headers)
	if err != nil {
		return nil, err
	}
	x, h, err := enter(th, fn)
	if err != nil {
		return nil, err
	}
	msg := &natsgo.Msg{Subject: subject, Data: []byte(data), Header: hdr}
	return offload(x, h, fn, starlark.None, func(_ context.Context, nc *natsgo.Conn) (starlark.Value, error) {
		return starlark.None, nc.PublishMsg(msg)
	})
}

// request(subject, data, timeout=None): the first reply.
func request(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var subject string
	var data starutil.Bytes
	var timeout starlark.Value = starlark.None
	if err := starutil.Unpack(fn, args, kwargs, "subject", &subject, "data", &data, "timeout?", &timeout); err != nil {
		return nil, err
	}
	if err := checkSubject(fn, "subject", subject, false); err != nil {
		return nil, err
	}
	x, h, err := enter(th, fn)
	if err != nil {
		return nil, err
	}
	msg := &natsgo.Msg{Subject: subject, Data: []byte(data)}
	return offload(x, h, fn, timeout, func(ctx context.Context, nc *natsgo.Conn) (starlark.Value, error) {
		reply, err := nc.RequestMsgWithContext(ctx, msg)
		if err != nil {
			if err == natsgo.ErrNoResponders {
				return nil, loop.Errorf(loop.KindRefused, "%s: no responder on %s", fn, subject)
			}
			return nil, err
		}
		return newMsg(reply), nil
	})
}

// subscribe(subject, queue=None): a channel of Msg; closing it unsubscribes.
func subscribe(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var subject string
	var group starlark.Value = starlark.None
	if err := starutil.Unpack(fn, args, kwargs, "subject", &subject, "queue?", &group); err != nil {
		return nil, err
	}
	if err := checkSubject(fn, "subject", subject, true); err != nil {
		return nil, err
	}
	queueName := ""
	if group != starlark.None {
		s, ok := starlark.AsString(group)
		if !ok || s == "" {
			return nil, loop.Errorf(loop.KindValue, "%s: for parameter queue: want a non-empty string or None", fn)
		}
		if err := checkSubject(fn, "queue", s, false); err != nil {
			return nil, err
		}
		queueName = s
	}
	x, h, err := enter(th, fn)
	if err != nil {
		return nil, err
	}
	e := x.Task.Engine()
	var sub *natsgo.Subscription
	f := newFeed(e, func() {
		if sub != nil {
			s := sub
			e.Go(func() { s.Unsubscribe() }, nil)
		}
	})
	handler := func(m *natsgo.Msg) {
		f.send(msgSize(m), func() starlark.Value { return newMsg(m) })
	}
	var made *natsgo.Subscription // by Work, for Done or Drop
	_, err = x.Offload(loop.Offload{Why: loop.ReasonString(fn), Op: fn, Timeout: loop.NoTimeout, Own: true,
		Work: func(ctx context.Context) (starlark.Value, error) {
			nc, _, err := h.Conn()
			if err != nil {
				return nil, err
			}
			var s *natsgo.Subscription
			if queueName != "" {
				s, err = nc.QueueSubscribe(subject, queueName, handler)
			} else {
				s, err = nc.Subscribe(subject, handler)
			}
			if err == nil {
				s.SetPendingLimits(pendingMsgs, pendingBytes)
				// Returns once the server has the subscription: a
				// message published from now on is received.
				if err = flush(ctx, nc); err != nil {
					s.Unsubscribe()
				}
			}
			if err != nil {
				return nil, errorOf(fn, err)
			}
			made = s
			return starlark.None, nil
		},
		Done: func(v starlark.Value, err error) (starlark.Value, error) {
			sub = made
			return v, err
		},
		Drop: func(starlark.Value, error) {
			if s := made; s != nil {
				e.Go(func() { s.Unsubscribe() }, nil)
			}
		}})
	if err != nil {
		f.c.Close()
		return nil, err
	}
	return f.c, nil
}

// A Msg is a message received (subscribe) or a reply (request).
type Msg struct {
	subject, data, reply string
	headers              *starlark.Dict
}

// newMsg makes the script's Msg of m (on the loop: it makes a dict).
// msgSize is about the memory m's Msg holds: its data, subject, reply
// subject and headers.
func msgSize(m *natsgo.Msg) int {
	n := len(m.Data) + len(m.Subject) + len(m.Reply)
	for k, vs := range m.Header {
		for _, v := range vs {
			n += len(k) + len(v)
		}
	}
	return n
}

func newMsg(m *natsgo.Msg) *Msg {
	h := starlark.NewDict(len(m.Header))
	keys := make([]string, 0, len(m.Header))
	for k := range m.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		h.SetKey(starlark.String(k), starlark.String(m.Header.Get(k)))
	}
	h.Freeze()
	return &Msg{subject: m.Subject, data: string(m.Data), reply: m.Reply, headers: h}
}

var msgMethods = starutil.NewMethods("Msg", map[string]starutil.Func{"respond": msgRespond})

func (m *Msg) String() string        { return fmt.Sprintf("<Msg %s %d bytes>", m.subject, len(m.data)) }
func (m *Msg) Type() string          { return "Msg" }
func (m *Msg) Freeze()               {}
func (m *Msg) OwnedByLoop()          {}
func (m *Msg) Truth() starlark.Bool  { return true }
func (m *Msg) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Msg") }
func (m *Msg) AttrNames() []string   { return msgMethods.Names("data", "headers", "subject") }
func (m *Msg) Attr(name string) (starlark.Value, error) {
	switch name {
	case "subject":
		return starlark.String(m.subject), nil
	case "data":
		return starlark.String(m.data), nil
	case "headers":
		return m.headers, nil
	}
	return msgMethods.Bind(name, m), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (m *Msg) Method(name string) *starlark.Builtin { return msgMethods.Method(name) }

// respond(data): publish data to the message's reply subject.
func msgRespond(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	m := b.Receiver().(*Msg)
	var data starutil.Bytes
	if err := starutil.Unpack(fn, args, kwargs, "data", &data); err != nil {
		return nil, err
	}
	if m.reply == "" {
		return nil, loop.Errorf(loop.KindValue, "%s: the message on %s has no reply subject (it was not sent by request)", fn, m.subject)
	}
	x, h, err := enter(th, fn)
	if err != nil {
		return nil, err
	}
	msg := &natsgo.Msg{Subject: m.reply, Data: []byte(data)}
	return offload(x, h, fn, starlark.None, func(_ context.Context, nc *natsgo.Conn) (starlark.Value, error) {
		return starlark.None, nc.PublishMsg(msg)
	})
}
