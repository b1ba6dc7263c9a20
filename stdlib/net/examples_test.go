package net_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type chatClient struct {
	c net.Conn
	r *bufio.Reader
}

func joinChat(t *testing.T, addr, name string) *chatClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	cc := &chatClient{c, bufio.NewReader(c)}
	require.Equal(t, "name?", cc.line(t))
	cc.say(t, name)
	require.Equal(t, "welcome, "+name, cc.line(t))
	return cc
}

func (cc *chatClient) say(t *testing.T, s string) {
	_, err := cc.c.Write([]byte(s + "\n"))
	require.NoError(t, err)
}

func (cc *chatClient) line(t *testing.T) string {
	t.Helper()
	l, err := cc.r.ReadString('\n')
	require.NoError(t, err)
	return strings.TrimSuffix(l, "\n")
}

// TestChatServer runs scripts/chat_server.star for three clients: each
// line is broadcast to the others (not back to its sender), joins and
// departures are announced, and the server ends once all have left.
func TestChatServer(t *testing.T) {
	r := startFile(t, "../../scripts/chat_server.star", "127.0.0.1:0", "3")
	addr, ok := strings.CutPrefix(r.Stdout.Next(t), "listening on ")
	require.True(t, ok)

	ann := joinChat(t, addr, "ann")
	bob := joinChat(t, addr, "bob")
	assert.Equal(t, "* bob joined", ann.line(t))
	cid := joinChat(t, addr, "cid")
	assert.Equal(t, "* cid joined", ann.line(t))
	assert.Equal(t, "* cid joined", bob.line(t))

	ann.say(t, "hello all")
	assert.Equal(t, "ann: hello all", bob.line(t))
	assert.Equal(t, "ann: hello all", cid.line(t))
	bob.say(t, "hi ann")
	assert.Equal(t, "bob: hi ann", ann.line(t))
	assert.Equal(t, "bob: hi ann", cid.line(t))
	cid.say(t, "hey")
	assert.Equal(t, "cid: hey", ann.line(t))
	assert.Equal(t, "cid: hey", bob.line(t))

	cid.c.Close()
	assert.Equal(t, "* cid left", ann.line(t))
	assert.Equal(t, "* cid left", bob.line(t))
	ann.c.Close()
	assert.Equal(t, "* ann left", bob.line(t))
	bob.c.Close()
	assert.NoError(t, r.Wait(t))
	assert.Empty(t, r.Stderr.String())
}
