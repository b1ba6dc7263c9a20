package re

import (
	"context"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/pycheck"
	"github.com/stretchr/testify/assert"
)

// re.sub's result is bounded (1 GiB, lowered here), for a template,
// known before anything is made: an empty pattern matches at every
// character, so a 1.5 MB text and a 1,000-byte replacement made 1.5 GB.
func TestSubResultIsBounded(t *testing.T) {
	defer func(n int) { maxSub = n }(maxSub)
	maxSub = 10_000
	out := pycheck.Run(t, starlark.StringDict{"re": Module()}, `
big = "a" * 20000  # offloaded: the pool makes the result
for args in [("", "xy", "a" * 5000), ("a", r"\g<0>" * 3, "a" * 5000), ("(a)", r"<\1>", big),
             ("a", lambda m: "xyz", "a" * 5000), ("a", "b", big), ("b", "c", big)]:
    r = catch(re.sub, *args)
    print(r.error if r.error else len(r.value))
print(len(re.sub("", "xy", "a" * 3000)), re.compile("a").sub(r"\g<0>\g<0>", "a" * 5000) == "a" * 10000)
print(re.sub("(a)(b)?", r"\2\1\1", "ab" * 2 + "a" * 2), re.sub("a", lambda m: "<%s>" % m.group(), "bab"))
`)
	assert.Equal(t, `value: re.sub: result too long (more than 10000 bytes)
value: re.sub: result too long (more than 10000 bytes)
value: re.sub: result too long (more than 10000 bytes)
value: re.sub: result too long (more than 10000 bytes)
value: re.sub: result too long (more than 10000 bytes)
20000
9002 True
baabaaaaaa b<a>b
`, out)
}

// Once the task no longer waits for it (a timeout() expired, it was
// cancelled), the pool's work on re.sub stops: ctx is cancelled, and the
// size and the result are not made. It went on building a 1.5 GB string
// after the task had moved on.
func TestSubStopsWhenCancelled(t *testing.T) {
	p, err := compile("re.sub", "a", 0)
	assert.NoError(t, err)
	s := "ba"
	found := p.all(s, -1)
	tmpl := []piece{{lit: "x", group: -1}, {group: 0}}
	ctx, cancel := context.WithCancel(context.Background())
	size, err := subSize(ctx, s, found, tmpl)
	assert.Equal(t, 3, size)
	assert.NoError(t, err)
	v, err := subTemplate(ctx, s, found, tmpl, size)
	assert.Equal(t, starlark.String("bxa"), v)
	assert.NoError(t, err)
	cancel()
	_, err = subSize(ctx, s, found, tmpl)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = subTemplate(ctx, s, found, tmpl, size)
	assert.ErrorIs(t, err, context.Canceled)
}
