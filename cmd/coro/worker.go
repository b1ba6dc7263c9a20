package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// runWorker is `coro worker [--concurrency N] [DIR]` (SPEC 16): it serves
// remote() calls from every coro connected to the same NATS (--nats, or
// the embedded server with --nats-listen), with the modules under DIR
// (default "."), until interrupted.
func runWorker(c *config, args []string, stdout, stderr io.Writer) int {
	concurrency := runtime.NumCPU()
	var dirs []string
	for len(args) > 0 {
		a := args[0]
		args = args[1:]
		name, val, hasVal := strings.Cut(a, "=")
		switch {
		case name == "--concurrency" || name == "-concurrency":
			if !hasVal {
				if len(args) == 0 {
					fmt.Fprintf(stderr, "coro worker: --concurrency needs a value\n%s", usage)
					return exitUsage
				}
				val, args = args[0], args[1:]
			}
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > 1024 {
				fmt.Fprintf(stderr, "coro worker: --concurrency: %q is not a number from 1 to 1024\n", val)
				return exitUsage
			}
			concurrency = n
		case a == "-h" || a == "--help" || a == "-help":
			fmt.Fprint(stdout, usage)
			return exitOK
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "coro worker: unknown flag %s\n%s", name, usage)
			return exitUsage
		default:
			dirs = append(dirs, a)
		}
	}
	if len(dirs) > 1 {
		fmt.Fprintf(stderr, "coro worker: one DIR at most, got %d\n", len(dirs))
		return exitUsage
	}
	dir := "."
	if len(dirs) == 1 {
		dir = dirs[0]
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "coro worker: %s is not a folder\n", dir)
		return exitUsage
	}
	c.loadDirs = []string{dir}
	ctx, stop, signalled, _ := interruptContext(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	eng, closeTrace, err := newEngine(c, stdout, stderr, nil, nil)
	if err != nil {
		fmt.Fprintf(stderr, "coro: %v\n", err)
		return exitUsage
	}
	err = eng.Serve(ctx, dir, concurrency)
	code := exitStatus(err, eng, signalled(), c.goTrace, stderr)
	closeTrace(eng.Close())
	return code
}
