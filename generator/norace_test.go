//go:build !race

package generator_test

// abandoned is how many generators the leak tests drop (SPEC 5's no-leak
// promise, checked at scale).
const abandoned = 50000
