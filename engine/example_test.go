package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
)

func ExampleNew() {
	eng, err := engine.New(engine.Options{
		Stdout:  os.Stdout,
		Globals: starlark.StringDict{"app": starlark.String("demo")},
		// Permissions: engine.Permissions{Net: true}, // the zero value allows no I/O
	})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	_, err = eng.Exec(context.Background(), "main.star", `print("hello from", app)`)
	fmt.Println(err)
	// Output:
	// hello from demo
	// <nil>
}

func ExampleEngine_Exec() {
	eng, _ := engine.New(engine.Options{Stdout: os.Stdout})
	defer eng.Close()
	// Exec runs the module, then the loop until every task has finished.
	globals, err := eng.Exec(context.Background(), "main.star", `
def work(n):
    sleep(0.001 * n)
    return n * n
squares = join(*[spawn(work, n) for n in range(4)])
`)
	fmt.Println(globals["squares"], err)

	// A failure is a Go error holding the kind and the script traceback.
	_, err = eng.Exec(context.Background(), "bad.star", "def f():\n    fail('no luck')\nf()\n")
	fmt.Println(err)
	var ce *engine.Error
	if errors.As(err, &ce) {
		fmt.Println("kind:", ce.Kind)
	}
	// Output:
	// [0, 1, 4, 9] <nil>
	// error: no luck
	// Traceback (most recent call last):
	//   bad.star:3:2: in <toplevel>
	//   bad.star:2:9: in f
	// kind: error
}

func ExampleEngine_RunFile() {
	dir, _ := os.MkdirTemp("", "coro-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "main.star")
	os.WriteFile(path, []byte("answer = 6 * 7\n"), 0o644)

	eng, _ := engine.New(engine.Options{})
	defer eng.Close()
	globals, err := eng.RunFile(context.Background(), path)
	fmt.Println(globals["answer"], err)
	// Output:
	// 42 <nil>
}

func ExampleEngine_Call() {
	eng, _ := engine.New(engine.Options{Stdout: os.Stdout})
	defer eng.Close()
	globals, _ := eng.Exec(context.Background(), "handlers.star", `
def greet(name):
    sleep(0.001)   # a task: it may wait
    return "hello, " + name
`)
	// Call is safe from any goroutine; here, from the main one.
	v, err := eng.Call(context.Background(), globals["greet"], starlark.String("gopher"))
	fmt.Println(v, err)

	// Cancelling ctx cancels the call's task.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	slow, _ := eng.Exec(context.Background(), "slow.star", "def slow():\n    sleep(3600)\n")
	_, err = eng.Call(ctx, slow["slow"])
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output:
	// "hello, gopher" <nil>
	// true
}

func ExampleAsyncBuiltin() {
	// fetch blocks its own goroutine (on a slow database, say: here until
	// the script has ticked three times); meanwhile the other tasks keep
	// running. In goja, the same blocking call would stall every script.
	dbReady := make(chan struct{})
	fetch := engine.AsyncBuiltin("fetch", func(ctx context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var id int
		if err := starlark.UnpackArgs("fetch", args, kwargs, "id", &id); err != nil {
			return nil, err
		}
		select {
		case <-dbReady:
		case <-ctx.Done(): // the task was cancelled or timed out
			return nil, ctx.Err()
		}
		if id != 1 {
			return nil, engine.Errorf(engine.KindNotFound, "no user %d", id)
		}
		return starlark.String("alice"), nil
	})
	ready := starlark.NewBuiltin("db_ready", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		close(dbReady)
		return starlark.None, nil
	})
	eng, _ := engine.New(engine.Options{Stdout: os.Stdout, Globals: starlark.StringDict{"fetch": fetch, "db_ready": ready}})
	defer eng.Close()
	_, err := eng.Exec(context.Background(), "main.star", `
def ticker():
    for i in range(3):
        print("tick", i)
        sleep(0.001)
    db_ready()
spawn(ticker)
print(fetch(1))
print(catch(fetch, 2).error)
`)
	fmt.Println(err)
	// Output:
	// tick 0
	// tick 1
	// tick 2
	// alice
	// not_found: fetch: no user 2
	// <nil>
}

func ExampleEngine_Poll() {
	// A host with its own loop (a game, a GUI) drives the engine a slice
	// at a time. VirtualTime makes the example's sleeps instant.
	eng, _ := engine.New(engine.Options{Stdout: os.Stdout, VirtualTime: true})
	defer eng.Close()
	globals, _ := eng.Exec(context.Background(), "game.star", `
def animate(frames):
    for i in range(frames):
        print("frame", i)
        sleep(1 / 60)
`)
	eng.Start("animation", globals["animate"], starlark.MakeInt(3))
	for frame := 0; frame < 10; frame++ {
		if _, err := eng.Poll(2 * time.Millisecond); err != nil {
			panic(err)
		}
		if tasks, _ := eng.TaskInfos(); len(tasks) == 0 {
			fmt.Println("animation finished")
			break
		}
	}
	// Output:
	// frame 0
	// frame 1
	// frame 2
	// animation finished
}

func ExampleEngine_TaskInfos() {
	eng, _ := engine.New(engine.Options{})
	defer eng.Close()
	globals, _ := eng.Exec(context.Background(), "main.star", `
gate = future()
def worker():
    gate.wait()
`)
	eng.Start("worker", globals["worker"])
	eng.Poll(0)
	tasks, _ := eng.TaskInfos()
	for _, t := range tasks {
		fmt.Println(t.Name, t.State, t.WaitingOn, t.Stack)
	}
	// Output:
	// worker waiting wait future [main.star:4:14 in worker]
}

// A Session runs statements one at a time, as a REPL does: an
// expression's value is printed, tasks spawned by one statement go on
// while the session waits for the next.
func ExampleSession() {
	eng, _ := engine.New(engine.Options{Stdout: os.Stdout, VirtualTime: true})
	s := eng.NewSession()
	s.Start()
	for _, stmt := range []string{
		"x = 20",
		"x * 2 + 2",
		"t = spawn(lambda: sleep(1) or print('the task ran'))",
		"t.wait()",
		"fail('oops')",
	} {
		pending := []byte(stmt + "\n")
		f, err := s.FileOptions().ParseCompoundStmt("<stdin>", func() ([]byte, error) {
			line := pending
			pending = nil
			return line, nil
		})
		if err != nil {
			fmt.Println(err)
			continue
		}
		if out := s.Exec(f); out.Err != nil {
			fmt.Println(out.Err.Error())
		}
	}
	s.Finish()
	// Output:
	// 42
	// the task ran
	// error: oops
}
