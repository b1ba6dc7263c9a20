package repl

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestConsoleWritesThroughWithoutPrompt(t *testing.T) {
	var buf bytes.Buffer
	redraws := 0
	c := &Console{redraw: func() { redraws++ }}
	w := c.Writer(&buf)
	w.Write([]byte("partial"))
	w.Write([]byte(" line\n"))
	assert.Equal(t, "partial line\n", buf.String())
	assert.Zero(t, redraws)
}

func TestConsoleClearsAndRedrawsThePrompt(t *testing.T) {
	var buf bytes.Buffer
	redraws := 0
	c := &Console{redraw: func() { redraws++ }}
	w := c.Writer(&buf)
	c.setPrompting(true)
	n, err := w.Write([]byte("tick\n"))
	assert.NoError(t, err)
	assert.Equal(t, 5, n)
	// Output without a final newline still ends its line: the prompt is
	// redrawn on a line of its own.
	n, err = w.Write([]byte("no newline"))
	assert.NoError(t, err)
	assert.Equal(t, 10, n)
	assert.Equal(t, "\r\x1b[Ktick\n\r\x1b[Kno newline\n", buf.String())
	assert.Equal(t, 2, redraws)
	c.setPrompting(false)
	w.Write([]byte("x"))
	assert.Equal(t, 2, redraws)
}
