package sync

import (
	"fmt"
	"slices"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// A Broadcast is sync.broadcast(capacity=16): send delivers a value to
// every subscriber's channel. The sender never waits: a subscriber whose
// channel is full loses its oldest value, so one slow reader cannot hold
// up the rest. Closing a subscriber's channel unsubscribes it; closing the
// broadcast closes every subscriber's channel (their loops end).
type Broadcast struct {
	object
	capacity int
	subs     []*loop.Channel
	closed   bool
}

func newBroadcast(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	capacity := 16
	if err := starlark.UnpackArgs("sync.broadcast", args, kwargs, "capacity?", &capacity); err != nil {
		return nil, loop.ValueError(err)
	}
	if capacity < 1 {
		return nil, loop.Errorf(loop.KindValue, "sync.broadcast: capacity must be >= 1, got %d", capacity)
	}
	o, err := newObject(th, "sync.broadcast", "broadcast")
	if err != nil {
		return nil, err
	}
	return &Broadcast{object: o, capacity: capacity}, nil
}

func (bc *Broadcast) String() string {
	return fmt.Sprintf("<broadcast#%d %d subscribers>", bc.id, len(bc.subs))
}
func (bc *Broadcast) Type() string        { return "Broadcast" }
func (bc *Broadcast) AttrNames() []string { return bcMethods.Names("subscribers") }
func (bc *Broadcast) Attr(name string) (starlark.Value, error) {
	if name == "subscribers" {
		return starlark.MakeInt(len(bc.subs)), nil
	}
	return bcMethods.Bind(name, bc), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (bc *Broadcast) Method(name string) *starlark.Builtin { return bcMethods.Method(name) }

var (
	bcMethods = starutil.NewMethods("Broadcast", map[string]starutil.Func{"close": bcClose, "send": bcSend, "subscribe": bcSubscribe})
)

func bcSend(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	bc := b.Receiver().(*Broadcast)
	var v starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "value", &v); err != nil {
		return nil, loop.ValueError(err)
	}
	if _, err := bc.exec(th, b.Name()); err != nil {
		return nil, err
	}
	if bc.closed {
		return nil, loop.Errorf(loop.KindClosed, "%s: %s is closed", b.Name(), bc.name())
	}
	for _, c := range bc.subs {
		c.SendDropOldest(v)
	}
	return starlark.None, nil
}

func bcSubscribe(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	bc := b.Receiver().(*Broadcast)
	if _, err := bc.enter(th, b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	if bc.closed {
		return nil, loop.Errorf(loop.KindClosed, "%s: %s is closed", b.Name(), bc.name())
	}
	c := bc.eng.NewChannel(bc.capacity)
	bc.subs = append(bc.subs, c)
	c.OnClose(func() {
		if i := slices.Index(bc.subs, c); i >= 0 {
			bc.subs = slices.Delete(bc.subs, i, i+1)
		}
	})
	return c, nil
}

func bcClose(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	bc := b.Receiver().(*Broadcast)
	if _, err := bc.enter(th, b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	if bc.closed {
		return nil, loop.Errorf(loop.KindClosed, "%s: %s is already closed", b.Name(), bc.name())
	}
	bc.closed = true
	subs := bc.subs
	bc.subs = nil
	for _, c := range subs {
		c.Close()
	}
	return starlark.None, nil
}
