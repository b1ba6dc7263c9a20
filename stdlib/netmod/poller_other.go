//go:build !linux

package netmod

import "github.com/corolang/coro/engine/core"

// Without epoll, every connection waits for readability through Go's
// netpoller (Conn.waitReadable's goroutine).
type poller struct{}

func pollerFor(*core.Engine) *poller { return nil }
func (p *poller) add(*Conn) bool     { return false }
func (p *poller) remove(*Conn)       {}
