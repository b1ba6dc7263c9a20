//go:build !amd64 && !arm64

package loop

var stackSink byte
var stackIndex = 1

// growStack (portable version) uses a Go array; it is zeroed, so it touches
// the pages, but the one-step growth still saves the repeated copies.
//
//go:noinline
func growStack() {
	var buf [2 << 10]byte
	buf[stackIndex] = 1
	stackSink = buf[stackIndex]
}
