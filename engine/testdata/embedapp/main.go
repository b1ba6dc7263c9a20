// Command embedapp embeds coro the way an application outside the
// repository does; engine's TestEmbedFromSeparateModule builds and runs it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
)

func main() {
	double := engine.AsyncBuiltin("double", func(_ context.Context, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		n, err := starlark.AsInt32(args[0])
		if err != nil {
			return nil, err
		}
		return starlark.MakeInt(2 * n), nil
	})
	eng, err := engine.New(engine.Options{Stdout: os.Stdout, Globals: starlark.StringDict{"double": double}})
	if err != nil {
		fail(err)
	}
	defer eng.Close()
	globals, err := eng.Exec(context.Background(), "app.star", `
def compute(n):
    return join(*[spawn(double, i) for i in range(n)])
print("module loaded")
print("%-6s|%5.2f|%03d" % ("pi", 3.14159, 7))
`)
	if err != nil {
		fail(err)
	}
	v, err := eng.Call(context.Background(), globals["compute"], starlark.MakeInt(4))
	if err != nil {
		fail(err)
	}
	fmt.Println("compute(4) =", v)
	_, err = eng.Exec(context.Background(), "bad.star", `fail("on purpose")`)
	var ce *engine.Error
	fmt.Println("kind:", errors.As(err, &ce) && ce.Kind == engine.KindError, strings.SplitN(err.Error(), "\n", 2)[0])
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
