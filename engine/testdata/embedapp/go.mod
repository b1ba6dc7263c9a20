module example.com/embedapp

go 1.26.8

require github.com/corolang/coro v0.0.0

require (
	github.com/fsnotify/fsnotify v1.10.1 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

// The test points this at the repository being tested; a real application
// has no replace at all (coro's own go.mod has none either).
replace github.com/corolang/coro => ../../..
