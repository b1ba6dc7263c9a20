package main

// TEMPORARY until coro test lands (issue 3).

import (
	"fmt"
	"io"
)

func runTests(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "coro: coro test is not built yet")
	return exitUsage
}
