package stream

// CountLoopCopies has f told the size of each copy of stream bytes made
// on the loop (copiedOnLoop) until restore is called.
func CountLoopCopies(f func(n int)) (restore func()) {
	copiedOnLoop = f
	return func() { copiedOnLoop = nil }
}
