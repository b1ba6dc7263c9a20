package main

// TEMPORARY: replaced by the REPL, coro test and --trace work in progress.

import (
	"fmt"
	"io"

	"github.com/corolang/coro/engine"
)

type replStart struct {
	file string
	src  []byte
	args []string
}

func runREPL(c *config, start *replStart, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "coro: the REPL is not built yet")
	return exitUsage
}

func runTests(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "coro: coro test is not built yet")
	return exitUsage
}

func startTrace(c *config, eng *engine.Engine) (func() error, error) {
	if c.tracePath != "" {
		return nil, fmt.Errorf("--trace is not built yet")
	}
	return func() error { return nil }, nil
}
