// Package log is the script module `log` (SPEC 13): structured logging
// through Go's log/slog. Each call writes one record, so one line, with
// the time, the level, the message, the calling task's name (as "task")
// and the keyword arguments as fields, in the order given.
//
// The records go to Options.Logger when the embedder sets one (the coro
// command makes it from --log-level and --log-format); otherwise to a
// text handler at level info on the engine's stderr. slog's handlers
// write each record with one Write under their own lock, and the
// engine's stderr takes one lock per Write, so lines from different
// tasks (or parallel workers) never interleave.
package log

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/lib/json"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// Module returns the log module of an engine configured by opts.
func Module(opts *loop.Options) *starlarkstruct.Module {
	m := &module{logger: opts.Logger}
	return &starlarkstruct.Module{Name: "log", Members: starlark.StringDict{
		"debug": starlark.NewBuiltin("log.debug", m.at(slog.LevelDebug)),
		"info":  starlark.NewBuiltin("log.info", m.at(slog.LevelInfo)),
		"warn":  starlark.NewBuiltin("log.warn", m.at(slog.LevelWarn)),
		"error": starlark.NewBuiltin("log.error", m.at(slog.LevelError)),
	}}
}

type module struct {
	logger *slog.Logger // Options.Logger, or the default once made
	once   sync.Once
}

// target returns the logger and the time for a record: the engine's
// clock (so the virtual clock too) when th runs for a task.
func (m *module) target(th *starlark.Thread, fn string) (*slog.Logger, time.Time, string, error) {
	x := loop.ExecOf(th)
	if x == nil || x.Task == nil {
		// A parallel worker: only a logger given in the Options (no
		// engine to find the default's stderr from).
		if m.logger == nil {
			return nil, time.Time{}, "", loop.Errorf(loop.KindValue, "%s: inside parallel, log needs Options.Logger (return what to log to the task)", fn)
		}
		return m.logger, time.Now(), th.Name, nil
	}
	e := x.Task.Engine()
	m.once.Do(func() {
		if m.logger == nil {
			m.logger = slog.New(slog.NewTextHandler(e.Stderr(), nil))
		}
	})
	return m.logger, e.Wall(), x.Task.Name(), nil
}

// at makes log.LEVEL(message, **fields).
func (m *module) at(level slog.Level) starutil.Func {
	return func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var msg starlark.Value
		if err := starutil.Unpack(b.Name(), args, nil, "message", &msg); err != nil {
			return nil, err
		}
		logger, now, task, err := m.target(th, b.Name())
		if err != nil {
			return nil, err
		}
		ctx := context.Background()
		h := logger.Handler()
		if !h.Enabled(ctx, level) {
			return starlark.None, nil
		}
		r := slog.NewRecord(now, level, starutil.Str(msg), 0)
		r.AddAttrs(slog.String("task", task))
		for _, kv := range kwargs {
			r.AddAttrs(slog.Attr{Key: fieldKey(string(kv[0].(starlark.String))), Value: value(kv[1])})
		}
		if err := h.Handle(ctx, r); err != nil {
			return nil, loop.Errorf(loop.KindIO, "%s: %v", b.Name(), err)
		}
		return starlark.None, nil
	}
}

// fieldKey is the key a field is written under: its name, or for a
// name the record's own keys use ("time", "level", "msg", "task"), that
// name after "fields.", as logrus does. Written as it was, a JSON line
// had the key twice, and JSON readers (jq, Python's json) keep the last:
// log.info("done", time=1.5) lost the record's time.
func fieldKey(name string) string {
	switch name {
	case slog.TimeKey, slog.LevelKey, slog.MessageKey, "task":
		return "fields." + name
	}
	return name
}

// value is a field's value for slog: strings, ints, floats and bools as
// themselves; anything else as a Value that a text handler writes as its
// repr and a JSON handler as JSON.
func value(v starlark.Value) slog.Value {
	switch v := v.(type) {
	case starlark.String:
		return slog.StringValue(string(v))
	case starlark.Int:
		if n, ok := v.Int64(); ok {
			return slog.Int64Value(n)
		}
	case starlark.Float:
		return slog.Float64Value(float64(v))
	case starlark.Bool:
		return slog.BoolValue(bool(v))
	}
	return slog.AnyValue(scriptValue{v})
}

// scriptValue is any other script value in a record.
type scriptValue struct{ v starlark.Value }

func (s scriptValue) String() string { return s.v.String() }

// MarshalText is the value's repr (what a text handler writes).
func (s scriptValue) MarshalText() ([]byte, error) { return []byte(s.v.String()), nil }

// MarshalJSON is the value as json.encode writes it (null for None), or
// its repr as a JSON string when it has no JSON form (a function).
func (s scriptValue) MarshalJSON() ([]byte, error) {
	out, err := starlark.Call(&starlark.Thread{}, json.Module.Members["encode"], starlark.Tuple{s.v}, nil)
	if err != nil {
		out, _ = starlark.Call(&starlark.Thread{}, json.Module.Members["encode"], starlark.Tuple{starlark.String(s.v.String())}, nil)
	}
	return []byte(string(out.(starlark.String))), nil
}
