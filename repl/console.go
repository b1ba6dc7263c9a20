package repl

import (
	"bytes"
	"io"
	"os"
	"sync"
	"syscall"
)

// A Console shares the terminal between the line editor and the output of
// tasks. liner owns the line being typed (its buffer and cursor are private
// and it writes to the terminal itself), so output that arrives while a
// prompt is up cannot simply be written: it would land in the middle of the
// typed text. Instead a Console clears the prompt line, writes the output
// (completing its last line), and asks liner to redraw the prompt and the
// typed text below it. liner redraws on SIGWINCH (a terminal resize), so
// that is the request: a resize that changed nothing is harmless to every
// other part of the process.
//
// One race remains, and it is cosmetic: liner draws a line in several
// writes, so output that lands in the middle of a redraw pushes the rest of
// that redraw to the next line; the SIGWINCH redraw then repairs it, unless
// liner handles Enter first, in which case the submitted line stays on the
// screen without its prompt. The output itself is never split: it is one
// write.
type Console struct {
	mu        sync.Mutex
	prompting bool
	redraw    func()
}

// NewConsole returns a console whose redraw request is a SIGWINCH to this
// process (what liner listens for).
func NewConsole() *Console {
	return &Console{redraw: func() { syscall.Kill(os.Getpid(), syscall.SIGWINCH) }}
}

// Writer returns w wrapped so that writes keep clear of an active prompt.
// Give it to the engine as its Stdout and Stderr.
func (c *Console) Writer(w io.Writer) io.Writer { return &consoleWriter{c, w} }

// setPrompting records whether a prompt is on the screen.
func (c *Console) setPrompting(on bool) {
	c.mu.Lock()
	c.prompting = on
	c.mu.Unlock()
}

type consoleWriter struct {
	c *Console
	w io.Writer
}

func (cw *consoleWriter) Write(p []byte) (int, error) {
	c := cw.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.prompting {
		return cw.w.Write(p)
	}
	// Return to column 0 and erase the prompt line, write the output on
	// its own lines, then have the prompt redrawn underneath.
	buf := make([]byte, 0, len(p)+8)
	buf = append(buf, "\r\x1b[K"...)
	buf = append(buf, p...)
	if !bytes.HasSuffix(p, []byte("\n")) {
		buf = append(buf, '\n')
	}
	if _, err := cw.w.Write(buf); err != nil {
		return 0, err
	}
	c.redraw()
	return len(p), nil
}
