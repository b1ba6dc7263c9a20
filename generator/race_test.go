//go:build race

package generator_test

// abandoned is how many generators the leak tests drop. The race detector
// makes each goroutine far more expensive (and caps live ones at 8128),
// so a -race run checks the same paths with fewer.
const abandoned = 5000
