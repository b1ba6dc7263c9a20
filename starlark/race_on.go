//go:build race

package starlark

// raceEnabled reports a build with the race detector (coro patch, ORIGIN 22).
const raceEnabled = true
