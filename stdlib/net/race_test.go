//go:build race

package net_test

// raceEnabled: the race detector is on. Its sync.Pool drops a quarter of
// what is put back, so allocation counts do not hold under it.
const raceEnabled = true
