module example.com/embedapp

go 1.26.8

require (
	github.com/corolang/coro v0.0.0
	go.starlark.net v0.0.0-20260908191801-89a6a09411d5
)

require (
	github.com/fsnotify/fsnotify v1.10.1 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/corolang/coro => ../../..

// coro builds on its patched copy of go.starlark.net; a replace in a
// dependency's go.mod does not apply to the application, so it is repeated.
replace go.starlark.net => ../../../third_party/go.starlark.net
