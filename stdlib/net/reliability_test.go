package net_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoLoad opens n connections at once; each sends msgs messages of
// random sizes (up to 8 KiB, so some writes are split and some reads
// return part of a message) and checks every byte echoed back.
func echoLoad(t *testing.T, addr string, n, msgs int, seed uint64) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			for j := range msgs {
				out := make([]byte, 1+rng.IntN(8192))
				for k := range out {
					out[k] = byte(rng.Uint32())
				}
				// Write and read concurrently: a large message must not
				// deadlock on full socket buffers.
				werr := make(chan error, 1)
				go func() { _, err := c.Write(out); werr <- err }()
				in := make([]byte, len(out))
				if _, err := io.ReadFull(c, in); err != nil {
					errs <- fmt.Errorf("conn %d msg %d: %v", i, j, err)
					return
				}
				if err := <-werr; err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(in, out) {
					errs <- fmt.Errorf("conn %d msg %d: echoed bytes differ", i, j)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// vanish makes n clients that leave mid-message: half close normally
// after a partial message, half reset the connection (SO_LINGER 0 sends
// RST), some of them while the server is still writing back to them.
func vanish(t *testing.T, addr string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if !assert.NoError(t, err) {
				return
			}
			tc := c.(*net.TCPConn)
			payload := bytes.Repeat([]byte{'x'}, 1000+i*997)
			tc.Write(payload)
			if i%3 == 0 {
				// Read a little of the echo, then leave while more is coming.
				buf := make([]byte, 10)
				tc.SetReadDeadline(time.Now().Add(5 * time.Second))
				tc.Read(buf)
			}
			if i%2 == 0 {
				tc.SetLinger(0)
			}
			tc.Close()
		}()
	}
	wg.Wait()
}

// TestEchoServerReliability runs scripts/echo_server.star and puts it
// through good clients, vanishing clients (FIN and RST, mid-message, in
// the middle of the server's writes) and good clients again: every byte
// must come back intact, and the server must still be up at the end.
func TestEchoServerReliability(t *testing.T) {
	r := startFile(t, "../../scripts/echo_server.star", "127.0.0.1:0")
	addr, ok := strings.CutPrefix(r.Stdout.Next(t), "listening on ")
	require.True(t, ok)

	echoLoad(t, addr, 500, 4, 1)
	vanish(t, addr, 100)
	echoLoad(t, addr, 500, 4, 2)

	// Still up: one more client after all that.
	echoLoad(t, addr, 1, 1, 3)
	select {
	case err := <-r.Done:
		t.Fatalf("the server ended: %v\nstderr: %s", err, r.Stderr.String())
	default:
	}
	// A reset fails only that connection's task; nothing else is reported.
	t.Logf("connection tasks failed by a reset: %d", strings.Count(r.Stderr.String(), "\nreset: "))
	for _, line := range strings.Split(r.Stderr.String(), "\n") {
		if strings.HasPrefix(line, "reset: ") || strings.HasPrefix(line, "error") {
			assert.True(t, strings.HasPrefix(line, "reset: Conn."), "unexpected failure: %s", line)
		}
	}
}
