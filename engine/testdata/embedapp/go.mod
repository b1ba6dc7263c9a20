module example.com/embedapp

go 1.26.8

require github.com/corolang/coro v0.0.0

// The test adds coro's own requirements (engine/embedapp_test.go).

// The test points this at the repository being tested; a real application
// has no replace at all (coro's own go.mod has none either).
replace github.com/corolang/coro => ../../..
