package stream_test

import (
	"strings"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/stdlib/internal/stream"
)

// lineSource is a Source that always has more: 64-byte lines, as much
// of them as a read has room for.
type lineSource struct{ pos int }

var sourceLines = strings.Repeat(strings.Repeat("x", 63)+"\n", 1024)

func (s *lineSource) TryRead(_ string, p []byte) (int, error) {
	n := copy(p, sourceLines[s.pos:])
	s.pos = (s.pos + n) % len(sourceLines)
	return n, nil
}

func (s *lineSource) Wait(*loop.Exec, string) error { return nil }

// BenchmarkReadLine measures read_line's own work on lines that have
// arrived: the scan for the newline, the buffer's upkeep and the bound
// on a line's length.
func BenchmarkReadLine(b *testing.B) {
	r := stream.NewReader(&lineSource{}, stream.Options{Name: "bench"})
	b.ReportAllocs()
	b.SetBytes(64)
	for b.Loop() {
		if l, err := r.ReadLine(nil, "read_line", stream.DefaultLineLimit); err != nil || len(l) != 64 {
			b.Fatal(l, err)
		}
	}
}
