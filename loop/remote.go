package loop

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"

	"github.com/corolang/coro/starlark"
	starjson "github.com/corolang/coro/starlark/lib/json"
	"github.com/corolang/coro/starlark/syntax"
)

// remote(fn, *args, timeout=None) is parallel() carried to another process
// (SPEC 16): the same contract (fn from a load()ed module, frozen
// arguments, only computation inside), but the call crosses NATS to any
// `coro worker` serving the same modules. This file is the call's one
// description on both sides: what the caller sends (RemoteCall: the
// module as its load() chain spells it, the hash of its source, the
// function's name, the arguments as JSON) and how a worker runs it
// (Exec.ServeRemote). The transport is a Remote, which package nats
// implements and package engine installs (Options.Remote): the loop does
// not know NATS.

// A Remote carries remote() calls to the workers that run them.
type Remote interface {
	// Call sends call and waits for its reply, off the loop, until ctx
	// is done (the caller's timeout, or its task cancelled).
	Call(ctx context.Context, call *RemoteCall) (*RemoteReply, error)
}

// A RemoteCall is one remote() call as it crosses the wire.
type RemoteCall struct {
	// Module is the module's slash-separated path relative to the main
	// script's folder, as the chain of load() calls spells it.
	Module string `json:"module"`
	// Hash is the hex SHA-256 of the caller's copy of the module.
	Hash string `json:"hash"`
	Func string `json:"func"`
	// Args is a JSON array: the arguments, encoded as json.encode does.
	Args json.RawMessage `json:"args"`
}

// A RemoteReply is a call's outcome: the function's value as JSON, or its
// error.
type RemoteReply struct {
	Value json.RawMessage `json:"value,omitempty"`
	Error *RemoteError    `json:"error,omitempty"`
}

// A RemoteError is an Error as it crosses the wire: its kind, message and
// the worker's script frames (its traceback).
type RemoteError struct {
	Kind   Kind          `json:"kind"`
	Msg    string        `json:"msg"`
	Frames []RemoteFrame `json:"frames,omitempty"`
}

// A RemoteFrame is one frame of a RemoteError's traceback.
type RemoteFrame struct {
	Name string `json:"name"`
	File string `json:"file"`
	Line int32  `json:"line"`
	Col  int32  `json:"col"`
}

// remoteError turns err into a RemoteError.
func remoteError(err error) *RemoteError {
	ce := ToError(err)
	re := &RemoteError{Kind: ce.Kind, Msg: ce.Msg}
	for _, fr := range ce.Stack {
		if fr.Pos.Line == 0 {
			continue
		}
		re.Frames = append(re.Frames, RemoteFrame{Name: fr.Name, File: fr.Pos.Filename(), Line: fr.Pos.Line, Col: fr.Pos.Col})
	}
	return re
}

// Err is the Error a RemoteError stands for, its frames the worker's.
func (re *RemoteError) Err() *Error {
	kind := re.Kind
	if kind == "" {
		kind = KindError
	}
	ce := &Error{Kind: kind, Msg: re.Msg}
	for _, fr := range re.Frames {
		file := fr.File
		ce.Stack = append(ce.Stack, starlark.CallFrame{Name: fr.Name, Pos: syntax.MakePosition(&file, fr.Line, fr.Col)})
	}
	return ce
}

// encodeJSON encodes v as json.encode does (a tuple becomes an array).
func encodeJSON(v starlark.Value) ([]byte, error) {
	s, err := starlark.Call(&starlark.Thread{Name: "json"}, starjson.Module.Members["encode"], starlark.Tuple{v}, nil)
	if err != nil {
		return nil, err
	}
	return []byte(s.(starlark.String)), nil
}

// decodeJSON decodes data as json.decode does.
func decodeJSON(data []byte) (starlark.Value, error) {
	return starlark.Call(&starlark.Thread{Name: "json"}, starjson.Module.Members["decode"], starlark.Tuple{starlark.String(data)}, nil)
}

// jsonMessage is a JSON codec's error without the interpreter's prefix.
func jsonMessage(err error) string {
	msg := err.Error()
	if ee, ok := err.(*starlark.EvalError); ok {
		msg = ee.Msg
	}
	return msg
}

func builtinRemote(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var timeout starlark.Value = starlark.None
	for _, kv := range kwargs {
		if name, _ := starlark.AsString(kv[0]); name != "timeout" {
			return nil, Errorf(KindValue, "remote: unexpected keyword argument %s (fn takes positional arguments only here)", kv[0])
		}
		timeout = kv[1]
	}
	if len(args) == 0 {
		return nil, Errorf(KindValue, "remote: missing argument fn")
	}
	d, err := TimeoutArg("remote", timeout)
	if err != nil {
		return nil, err
	}
	x, err := TaskOf(th, "remote")
	if err != nil {
		return nil, err
	}
	e := x.Task.eng
	if err := e.CheckNet("remote"); err != nil {
		return nil, err
	}
	fn, rest, err := e.offCoreCall("remote", args)
	if err != nil {
		return nil, err
	}
	r := e.opts.Remote
	if r == nil {
		return nil, Errorf(KindValue, "remote: this engine has no NATS connection to send calls over")
	}
	ent := e.moduleEntryOf(fn.Module())
	if ent == nil || !filepath.IsLocal(filepath.FromSlash(ent.rel)) {
		return nil, Errorf(KindValue, "remote: function %s is from a module outside the main script's folder (workers find modules by the path load() gave, below their own folder)", fn.Name())
	}
	argv, err := encodeJSON(starlark.Tuple(rest))
	if err != nil {
		return nil, Errorf(KindValue, "remote: the arguments of %s do not cross as JSON: %s", fn.Name(), jsonMessage(err))
	}
	call := &RemoteCall{Module: ent.rel, Hash: hex.EncodeToString(ent.hash[:]), Func: fn.Name(), Args: argv}
	name := fn.Name()
	body := starlark.NewBuiltin("remote", func(th *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		x, err := TaskOf(th, "remote")
		if err != nil {
			return nil, err
		}
		return x.Offload(Offload{Why: remoteReason(name), Op: "remote " + name, Timeout: d, Own: true,
			Work: func(ctx context.Context) (starlark.Value, error) {
				if d >= 0 {
					// The deadline travels with the call: a worker
					// skips a call its caller has given up on.
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, d)
					defer cancel()
				}
				reply, err := r.Call(ctx, call)
				if err != nil {
					return nil, err
				}
				if reply.Error != nil {
					return nil, reply.Error.Err()
				}
				v, err := decodeJSON(reply.Value)
				if err != nil {
					return nil, Errorf(KindValue, "remote %s: the worker's reply is not JSON: %s", name, jsonMessage(err))
				}
				return v, nil
			}})
	})
	return e.Spawn(body, nil, nil, "", x.Task, Callers(th)).Value(), nil
}

type remoteReason string

func (r remoteReason) WaitingOn() string {
	return fmt.Sprintf("remote %s() on a worker", string(r))
}

// moduleEntryOf returns the entry of the load()ed module m, or nil.
func (e *Engine) moduleEntryOf(m *starlark.Module) *moduleEntry {
	for _, ent := range e.modules {
		if ent.loading || ent.err != nil {
			continue
		}
		for _, v := range ent.globals {
			if f, ok := v.(*starlark.Function); ok && f.Module() == m {
				return ent
			}
		}
	}
	return nil
}

// relModule is the path of module as the main script's chain of load()
// calls spells it: relative to the loading module's own (the main
// script, a test file, the REPL: "."), slash-separated.
func (e *Engine) relModule(th *starlark.Thread, module string) string {
	module = filepath.ToSlash(module)
	if path.IsAbs(module) || th.CallStackDepth() == 0 {
		return module
	}
	from := th.CallFrame(0).Pos.Filename()
	if ent, ok := e.modules[from]; ok && ent.rel != "" {
		return path.Join(path.Dir(ent.rel), module)
	}
	return path.Clean(module)
}

// ServeRemote runs call for the worker task in x (`coro worker`): it
// loads call.Module below dir (once; frozen, as load() does), refuses a
// module whose source is not the caller's, and runs the function as
// parallel does, on a goroutine of its own where only computation is
// allowed. The reply carries the value as JSON or the error with the
// worker's traceback.
func (x *Exec) ServeRemote(dir string, call *RemoteCall) *RemoteReply {
	fail := func(err error) *RemoteReply { return &RemoteReply{Error: remoteError(err)} }
	e := x.Task.eng
	local := filepath.FromSlash(call.Module)
	if !filepath.IsLocal(local) {
		return fail(Errorf(KindValue, "remote: module %s is not a path below the worker's folder", QuoteArg(call.Module)))
	}
	file := filepath.Join(dir, local)
	g, err := e.load(x.thread, file)
	if err != nil {
		return fail(err)
	}
	ent := e.modules[file]
	if ent == nil || hex.EncodeToString(ent.hash[:]) != call.Hash {
		return fail(Errorf(KindValue, "remote: module %s differs from the caller's (the worker has another version of it)", call.Module))
	}
	fn, ok := g[call.Func].(*starlark.Function)
	if !ok {
		return fail(Errorf(KindValue, "remote: module %s has no function %s", call.Module, call.Func))
	}
	av, err := decodeJSON(call.Args)
	if err != nil {
		return fail(Errorf(KindValue, "remote: the arguments of %s are not JSON: %s", call.Func, jsonMessage(err)))
	}
	list, ok := av.(*starlark.List)
	if !ok {
		return fail(Errorf(KindValue, "remote: the arguments of %s are not a JSON array", call.Func))
	}
	args := make(starlark.Tuple, list.Len())
	for i := range args {
		args[i] = list.Index(i)
	}
	args.Freeze()
	wth, err := e.workerThread("remote", fn.Name())
	if err != nil {
		return fail(err)
	}
	var reply *RemoteReply
	_, err = x.Offload(Offload{Why: remoteReason(fn.Name()), Op: "remote " + fn.Name(), Timeout: NoTimeout, Own: true,
		Work: func(ctx context.Context) (starlark.Value, error) {
			stop := context.AfterFunc(ctx, func() { wth.Cancel("cancelled") })
			defer stop()
			v, err := callWorker(wth, fn, args)
			if err != nil {
				reply = fail(err)
				return nil, nil
			}
			out, err := encodeJSON(v)
			if err != nil {
				reply = fail(Errorf(KindValue, "remote: the value of %s does not cross as JSON: %s", fn.Name(), jsonMessage(err)))
				return nil, nil
			}
			reply = &RemoteReply{Value: out}
			return nil, nil
		}})
	if err != nil {
		return fail(err)
	}
	return reply
}
