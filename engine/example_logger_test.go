package engine_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/corolang/coro/engine"
)

// Options.Logger receives the script's log module records: here as JSON
// on stdout, without the time so the output is the same on every run.
func ExampleOptions_logger() {
	h := slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	eng, _ := engine.New(engine.Options{Logger: slog.New(h).With("app", "billing")})
	defer eng.Close()
	eng.Exec(context.Background(), "main.star", []byte(`
log.debug("starting", workers=2)
def work(n):
    log.info("done", n=n, tags=["a"])
join(spawn(work, 1, name="w1"), spawn(work, 2, name="w2"))
`))
	// Output:
	// {"level":"DEBUG","msg":"starting","app":"billing","task":"main","workers":2}
	// {"level":"INFO","msg":"done","app":"billing","task":"w1","n":1,"tags":["a"]}
	// {"level":"INFO","msg":"done","app":"billing","task":"w2","n":2,"tags":["a"]}
}
