package engine_test

import (
	"context"
	"io"
	"testing"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/require"
)

func benchEngine(b *testing.B, opts engine.Options, src string) (*engine.Engine, starlark.StringDict) {
	b.Helper()
	opts.Stdout, opts.Stderr = io.Discard, io.Discard
	eng, err := engine.New(opts)
	require.NoError(b, err)
	b.Cleanup(func() { eng.Close() })
	g, err := eng.Exec(context.Background(), "bench.star", src)
	require.NoError(b, err)
	return eng, g
}

// BenchmarkCall: the caller finds the loop free and drives it itself.
func BenchmarkCall(b *testing.B) {
	eng, g := benchEngine(b, engine.Options{}, "def add(a, b):\n    return a + b\n")
	ctx := context.Background()
	one := starlark.MakeInt(1)
	for b.Loop() {
		if _, err := eng.Call(ctx, g["add"], one, one); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallPosted: another goroutine drives the loop (a RunFile that
// waits on the host), so every Call is posted to it and waited for.
func BenchmarkCallPosted(b *testing.B) {
	release := make(chan struct{})
	hostWait := engine.AsyncBuiltin("host_wait", func(ctx context.Context, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		<-release
		return starlark.None, nil
	})
	fns := make(chan starlark.Value, 1)
	register := starlark.NewBuiltin("register", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		fns <- args[0]
		return starlark.None, nil
	})
	eng, err := engine.New(engine.Options{Stdout: io.Discard, Stderr: io.Discard, Globals: starlark.StringDict{"host_wait": hostWait, "register": register}})
	require.NoError(b, err)
	defer eng.Close()
	done := make(chan error, 1)
	go func() {
		_, err := eng.Exec(context.Background(), "bench.star", "def add(a, b):\n    return a + b\nregister(add)\nhost_wait()\n")
		done <- err
	}()
	add := <-fns
	ctx := context.Background()
	one := starlark.MakeInt(1)
	for b.Loop() {
		if _, err := eng.Call(ctx, add, one, one); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(release)
	require.NoError(b, <-done)
}

// BenchmarkCallParallel: many goroutines call at once.
func BenchmarkCallParallel(b *testing.B) {
	eng, g := benchEngine(b, engine.Options{}, "def add(a, b):\n    return a + b\n")
	one := starlark.MakeInt(1)
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := eng.Call(ctx, g["add"], one, one); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAsyncBuiltin: one round trip of a task to a Go function on its
// own goroutine and back (the script loop is counted per iteration).
func BenchmarkAsyncBuiltin(b *testing.B) {
	echo := engine.AsyncBuiltin("echo", func(_ context.Context, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		return args[0], nil
	})
	eng, g := benchEngine(b, engine.Options{Globals: starlark.StringDict{"echo": echo}}, `
def run(n):
    for i in range(n):
        echo(i)
`)
	b.ResetTimer()
	if _, err := eng.Call(context.Background(), g["run"], starlark.MakeInt(b.N)); err != nil {
		b.Fatal(err)
	}
}
