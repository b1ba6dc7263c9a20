//go:build amd64 || arm64

package loop

// growStack grows a new worker goroutine's stack in one step, while it is
// still shallow, from the 2 KB a goroutine starts with to 4 KB: a task
// parked in a wait one Starlark call deep uses about 2.3 KB, and reaches
// more than 2 KB (so 4 KB) while it runs. Reaching that by doubling deep
// inside the interpreter copies (and unwinds) a deeper stack, which was a
// large part of the cost of starting a task. This version is assembly with
// a 2 KB frame and no body: the runtime's stack check grows the stack, and
// no page of the new stack is touched (a Go array of the same size would
// be zeroed, costing memory).
//
// It must not grow the stack further: the GC halves a goroutine's stack
// only while it uses less than a quarter of it, so a parked task keeps the
// size it grew to, and 100k tasks parked in sleep hold 4 KB each rather
// than 8 KB (BenchmarkParkedTaskMemory). That needs the interpreter's small
// frame (starlark/ORIGIN.md): with upstream's 1.6 KB frame one call level
// did not fit in 4 KB.
func growStack()
