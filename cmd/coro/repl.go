package main

// TEMPORARY until the REPL lands (issue 6).

import (
	"fmt"
	"io"
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
