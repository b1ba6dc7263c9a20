package stream

// CountLoopCopies has f told the size of each copy of stream bytes made
// on the loop (copiedOnLoop) until restore is called.
func CountLoopCopies(f func(n int)) (restore func()) {
	copiedOnLoop = f
	return func() { copiedOnLoop = nil }
}

// Held is how many bytes of buffers r and its Pump (if it reads one)
// hold.
func Held(r *Reader) int {
	n := cap(r.buf)
	if p, ok := r.src.(*Pump); ok {
		n += cap(p.array) + cap(p.spare)
		if p.array == nil {
			n += cap(p.chunk)
		}
	}
	return n
}
