//go:build amd64 || arm64

package core

// growStack grows a new worker goroutine's stack in one step, while it is
// still shallow. A task suspends about 4 KB deep inside the interpreter;
// reaching that by repeated doubling copies (and unwinds) an ever deeper
// stack several times, which dominated the cost of starting a task. This
// version is assembly with a large frame and no body: the runtime's stack
// check grows the stack, and no page of the new stack is touched (a Go
// array of the same size would be zeroed, costing memory).
func growStack()
