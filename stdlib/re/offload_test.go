package re_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/corolang/coro/stdlib/internal/offload"
	"github.com/stretchr/testify/assert"
)

// A regexp over a large text runs on the blocking pool: the task waits
// ("re.findall (computing)") while the others go on running.
func TestLargeTextOffTheLoop(t *testing.T) {
	out := run(t, `
text = "abc 123 " * 1000000   # 8 MB
seen = []
def watch(t):
    for i in range(1000):
        for info in tasks():
            if info.id == t.id and info.waiting_on:
                seen.append(info.waiting_on)
                return
        sleep(0)
def work():
    return len(re.findall(r"\d+", text))
w = spawn(work)
spawn(watch, w)
print(w.wait(), seen)
print(len(re.findall(r"\d+", "1 2 3")))
`)
	assert.Equal(t, "1000000 [\"re.findall (computing)\"]\n3\n", out)
}

// BenchmarkThreshold measures how long Go's regexp takes over a text of
// offload.Threshold bytes, for a pattern with a literal prefix (fast), one
// needing the backtracker, and one needing the NFA (slowest): the work a
// call does on the loop before it is handed to the pool.
func BenchmarkThreshold(b *testing.B) {
	text := strings.Repeat("GET /index.html 200 1234 x@y.com\n", offload.Threshold/33+1)[:offload.Threshold]
	for _, p := range []string{`user=(\w+)`, `(\w+)@(\w+)\.com`, `(?i)(a|b|c|d|e)+\d{3}[^x]*?z`} {
		re := regexp.MustCompile(p)
		b.Run(p, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				re.FindAllStringSubmatchIndex(text, -1)
			}
		})
	}
	_ = fmt.Sprint()
}
