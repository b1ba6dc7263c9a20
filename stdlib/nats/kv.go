package nats

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/starutil"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A KV is nats.kv(bucket): a JetStream key-value bucket.
type KV struct {
	hub    *Hub
	bucket string
	kv     jetstream.KeyValue
}

// kv(bucket)
func kv(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var bucket string
	if err := starutil.Unpack(fn, args, kwargs, "bucket", &bucket); err != nil {
		return nil, err
	}
	if !validName(bucket) {
		return nil, loop.Errorf(loop.KindValue, "%s: bucket %s: want 1 to 64 letters, digits, _ or -", fn, loop.QuoteArg(bucket))
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
		var store jetstream.KeyValue
		err = retry(ctx, func(ctx context.Context) error {
			var err error
			// A bucket another process made is used as it is.
			store, err = js.KeyValue(ctx, bucket)
			if errors.Is(err, jetstream.ErrBucketNotFound) {
				store, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
					Bucket: bucket, Storage: h.storage(), Replicas: h.replicas(),
				})
				if errors.Is(err, jetstream.ErrBucketExists) {
					store, err = js.KeyValue(ctx, bucket)
				}
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		return &KV{hub: h, bucket: bucket, kv: store}, nil
	})
}

var kvMethods = starutil.NewMethods("KV", map[string]starutil.Func{
	"get":    kvGet,
	"put":    kvPut,
	"delete": kvDelete,
	"keys":   kvKeys,
	"watch":  kvWatch,
})

func (k *KV) String() string        { return fmt.Sprintf("<KV %s>", k.bucket) }
func (k *KV) Type() string          { return "KV" }
func (k *KV) Freeze()               {}
func (k *KV) OwnedByLoop()          {}
func (k *KV) Truth() starlark.Bool  { return true }
func (k *KV) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: KV") }
func (k *KV) AttrNames() []string   { return kvMethods.Names("bucket") }
func (k *KV) Attr(name string) (starlark.Value, error) {
	if name == "bucket" {
		return starlark.String(k.bucket), nil
	}
	return kvMethods.Bind(name, k), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (k *KV) Method(name string) *starlark.Builtin { return kvMethods.Method(name) }

// kvOp runs op on the bucket as a wait of the calling task.
func kvOp(th *starlark.Thread, b *starlark.Builtin, op func(ctx context.Context, k *KV) (starlark.Value, error)) (starlark.Value, error) {
	fn := b.Name()
	k := b.Receiver().(*KV)
	x, h, err := enter(th, fn)
	if err != nil {
		return nil, err
	}
	return offload(x, h, fn, starlark.None, func(ctx context.Context, _ *natsgo.Conn) (starlark.Value, error) {
		var v starlark.Value
		err := retry(ctx, func(ctx context.Context) error {
			var err error
			v, err = op(ctx, k)
			return err
		})
		return v, err
	})
}

// get(key): the value, or None.
func kvGet(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var key string
	if err := starutil.Unpack(b.Name(), args, kwargs, "key", &key); err != nil {
		return nil, err
	}
	if err := checkSubject(b.Name(), "key", key, false); err != nil {
		return nil, err
	}
	return kvOp(th, b, func(ctx context.Context, k *KV) (starlark.Value, error) {
		ent, err := k.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return starlark.None, nil
		}
		if err != nil {
			return nil, err
		}
		return starlark.String(ent.Value()), nil
	})
}

// put(key, value)
func kvPut(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var key string
	var value starutil.Bytes
	if err := starutil.Unpack(b.Name(), args, kwargs, "key", &key, "value", &value); err != nil {
		return nil, err
	}
	if err := checkSubject(b.Name(), "key", key, false); err != nil {
		return nil, err
	}
	return kvOp(th, b, func(ctx context.Context, k *KV) (starlark.Value, error) {
		_, err := k.kv.Put(ctx, key, []byte(value))
		return starlark.None, err
	})
}

// delete(key)
func kvDelete(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var key string
	if err := starutil.Unpack(b.Name(), args, kwargs, "key", &key); err != nil {
		return nil, err
	}
	if err := checkSubject(b.Name(), "key", key, false); err != nil {
		return nil, err
	}
	return kvOp(th, b, func(ctx context.Context, k *KV) (starlark.Value, error) {
		return starlark.None, k.kv.Delete(ctx, key)
	})
}

// keys(): the keys, sorted.
func kvKeys(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starutil.Unpack(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return kvOp(th, b, func(ctx context.Context, k *KV) (starlark.Value, error) {
		keys, err := k.kv.Keys(ctx)
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return starlark.NewList(nil), nil
		}
		if err != nil {
			return nil, err
		}
		list := make([]starlark.Value, len(keys))
		slices.Sort(keys)
		for i, key := range keys {
			list[i] = starlark.String(key)
		}
		return starlark.NewList(list), nil
	})
}

// watch(pattern=">"): a channel of (key, value), value None for a delete:
// returns once the watch is in place, then delivers the current values
// and every later change. Closing the channel stops the watch.
func kvWatch(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	k := b.Receiver().(*KV)
	pattern := ">"
	if err := starutil.Unpack(fn, args, kwargs, "pattern?", &pattern); err != nil {
		return nil, err
	}
	if err := checkSubject(fn, "pattern", pattern, true); err != nil {
		return nil, err
	}
	x, h, err := enter(th, fn)
	if err != nil {
		return nil, err
	}
	e := x.Task.Engine()
	var w jetstream.KeyWatcher
	f := newFeed(e, func() {
		if w != nil {
			kw := w
			e.Go(func() { kw.Stop() }, nil)
		}
	})
	var made jetstream.KeyWatcher // by Work, for Done or Drop
	var first jetstream.KeyValueEntry
	var got bool // first is an update (the watcher did not stop before one)
	_, err = x.Offload(loop.Offload{Why: loop.ReasonString(fn), Op: fn, Timeout: loop.NoTimeout, Own: true,
		Work: func(ctx context.Context) (starlark.Value, error) {
			if _, _, err := h.Conn(); err != nil {
				return nil, err
			}
			// The watch lives until the channel is closed, or the engine.
			kw, err := k.kv.Watch(e.Context(), pattern)
			if err != nil {
				return nil, errorOf(fn, err)
			}
			made = kw
			// Watch returns before its consumer has taken its place in
			// the stream: a put right after watch() could land before
			// it, and be delivered as the current value instead of as a
			// change (the change the script waited for never came). The
			// first update (a current value, or the nil that ends them)
			// says the place is taken.
			select {
			case ent, ok := <-kw.Updates():
				first, got = ent, ok
			case <-ctx.Done():
			}
			return starlark.None, nil
		},
		Done: func(v starlark.Value, err error) (starlark.Value, error) {
			if made != nil {
				w = made
				go pumpWatch(made, first, got, f)
			}
			return v, err
		},
		Drop: func(starlark.Value, error) {
			if kw := made; kw != nil {
				e.Go(func() { kw.Stop() }, nil)
			}
		}})
	if err != nil {
		f.c.Close()
		return nil, err
	}
	return f.c, nil
}

// pumpWatch forwards a watcher's entries to the feed until it stops.
// A key deleted before the watch began is no current value: only later
// deletes are delivered. first is the watcher's first update, which
// kvWatch took already; got is false when there was none (the watcher
// stopped first).
func pumpWatch(kw jetstream.KeyWatcher, first jetstream.KeyValueEntry, got bool, f *feed) {
	initial := true
	updates := kw.Updates()
	for ent, ok := first, got; ok; ent, ok = <-updates {
		if ent == nil {
			initial = false // the end of the current values
			continue
		}
		key := ent.Key()
		var val starlark.Value = starlark.None
		if ent.Operation() == jetstream.KeyValuePut {
			val = starlark.String(ent.Value())
		} else if initial {
			continue
		}
		if !f.send(len(key)+len(ent.Value()), func() starlark.Value { return starlark.Tuple{starlark.String(key), val} }) {
			kw.Stop()
			return
		}
	}
}
