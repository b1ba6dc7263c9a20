// Package nats is the module scripts see as nats (SPEC 16): messaging,
// durable work queues and key-value buckets on NATS with JetStream, and
// the transport of remote() and `coro worker`. coro adds no cluster layer
// of its own: with no server configured, an engine runs a NATS server in
// its own process (started on first use, no port, memory store); the same
// scripts run unchanged against a real cluster.
//
// Every wait is a task wait on the loop: blocking calls of the NATS
// client run through Exec.Offload, and messages that arrive on the
// client's goroutines are posted to the loop (feed.go), with
// back-pressure.
package nats

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config says which NATS server an engine uses (engine.Options.NATS).
type Config struct {
	// URL is a server to connect to ("nats://host:4222"; several,
	// comma-separated, for a cluster). Empty: the embedded server.
	URL string
	// Conn is a connection of the embedder's own (it wins over URL; the
	// engine does not close it).
	Conn *natsgo.Conn
	// Listen makes the embedded server listen on this address
	// ("127.0.0.1:4222"), so that other processes (coro worker) can
	// connect; empty: in-process only.
	Listen string
	// StoreDir keeps the embedded server's JetStream data in this folder
	// (queues and buckets survive a restart); empty: in memory.
	StoreDir string
	// Replicas is how many servers of a cluster hold each queue and
	// bucket (JetStream replicas; 0 means 1). A cluster of 3 takes 3.
	Replicas int
}

// A Hub is an engine's NATS: the connection (and the embedded server),
// made on first use and closed with the engine. Its methods are safe
// from any goroutine; those that connect block, so the module calls them
// off the loop.
type Hub struct {
	cfg    Config
	report func(msg string) // a line for the engine's stderr, from any goroutine

	mu      sync.Mutex
	nc      *natsgo.Conn
	js      jetstream.JetStream
	srv     *server.Server
	tmpDir  string
	closed  bool
	drops   map[string]bool       // streams whose max-deliveries advisories are watched
	workers jetstream.Consumer    // remote()'s queue, once made (remote.go)
	spares  map[string]*spareJobs // by queue name (spare.go)
}

// spareJobs returns the spares of the queue name.
func (h *Hub) spareJobs(name string) *spareJobs {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.spares[name]
	if s == nil {
		s = newSpareJobs()
		if h.closed {
			s.closed = true
		}
		h.spares[name] = s
	}
	return s
}

// NewHub returns a hub for cfg; nothing connects until first use.
// report writes a line where the engine reports (its stderr), from any
// goroutine: a job dropped after its last attempt is reported there.
func NewHub(cfg Config, report func(msg string)) *Hub {
	return &Hub{cfg: cfg, report: report, drops: map[string]bool{}, spares: map[string]*spareJobs{}}
}

// Embedded reports whether the hub runs its own server.
func (h *Hub) Embedded() bool { return h.cfg.Conn == nil && h.cfg.URL == "" }

// storage is where queues and buckets keep their data: memory for the
// embedded server without a store folder, files otherwise.
func (h *Hub) storage() jetstream.StorageType {
	if h.Embedded() && h.cfg.StoreDir == "" {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

func (h *Hub) replicas() int { return max(h.cfg.Replicas, 1) }

// Conn returns the connection and its JetStream context, connecting (and
// starting the embedded server) on first use. It blocks: off the loop.
func (h *Hub) Conn() (*natsgo.Conn, jetstream.JetStream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, loop.Errorf(loop.KindClosed, "nats: the engine is closed")
	}
	if h.nc != nil {
		return h.nc, h.js, nil
	}
	nc, err := h.connect()
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		h.release(nc)
		return nil, nil, loop.Errorf(loop.KindIO, "nats: %v", err)
	}
	h.nc, h.js = nc, js
	return nc, js, nil
}

// clientOptions are the options of every connection coro makes: a
// client that keeps reconnecting (a cluster's node may restart) and
// bounds what it buffers meanwhile.
func clientOptions() []natsgo.Option {
	return []natsgo.Option{
		natsgo.Name("coro"),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(250 * time.Millisecond),
		natsgo.ReconnectBufSize(8 << 20),
	}
}

// connect makes the connection. h.mu is held.
func (h *Hub) connect() (*natsgo.Conn, error) {
	if h.cfg.Conn != nil {
		return h.cfg.Conn, nil
	}
	if h.cfg.URL != "" {
		nc, err := natsgo.Connect(h.cfg.URL, clientOptions()...)
		if err != nil {
			return nil, loop.Errorf(loop.KindRefused, "nats: cannot connect to %s: %v", h.cfg.URL, err)
		}
		return nc, nil
	}
	srv, err := h.startServer()
	if err != nil {
		return nil, err
	}
	nc, err := natsgo.Connect("", append(clientOptions(), natsgo.InProcessServer(srv))...)
	if err != nil {
		h.stopServer()
		return nil, loop.Errorf(loop.KindIO, "nats: connecting to the embedded server: %v", err)
	}
	return nc, nil
}

// startServer starts the embedded server. h.mu is held.
func (h *Hub) startServer() (*server.Server, error) {
	opts := &server.Options{
		ServerName:         "coro",
		JetStream:          true,
		JetStreamMaxMemory: 256 << 20,
		NoLog:              true,
		NoSigs:             true,
		DontListen:         h.cfg.Listen == "",
		StoreDir:           h.cfg.StoreDir,
	}
	if h.cfg.Listen != "" {
		host, port, err := net.SplitHostPort(h.cfg.Listen)
		if err != nil {
			return nil, loop.Errorf(loop.KindValue, "nats: listen address %q: %v", h.cfg.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return nil, loop.Errorf(loop.KindValue, "nats: listen address %q: bad port", h.cfg.Listen)
		}
		if p == 0 {
			p = server.RANDOM_PORT
		}
		opts.Host, opts.Port = host, p
	}
	if opts.StoreDir == "" {
		// JetStream wants a folder even when every stream is in memory:
		// one of its own, so two engines' servers never share one.
		dir, err := os.MkdirTemp("", "coro-nats-")
		if err != nil {
			return nil, loop.Errorf(loop.KindIO, "nats: %v", err)
		}
		h.tmpDir, opts.StoreDir = dir, dir
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		h.removeTmp()
		return nil, loop.Errorf(loop.KindValue, "nats: embedded server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		h.removeTmp()
		return nil, loop.Errorf(loop.KindIO, "nats: the embedded server did not start (is %s free?)", h.cfg.Listen)
	}
	h.srv = srv
	return srv, nil
}

// ListenURL returns the URL other processes reach the embedded server at,
// once it has started with Config.Listen; "" otherwise.
func (h *Hub) ListenURL() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.srv == nil || h.cfg.Listen == "" {
		return ""
	}
	return h.srv.ClientURL()
}

func (h *Hub) stopServer() {
	if h.srv != nil {
		h.srv.Shutdown()
		h.srv.WaitForShutdown()
		h.srv = nil
	}
	h.removeTmp()
}

func (h *Hub) removeTmp() {
	if h.tmpDir != "" {
		os.RemoveAll(h.tmpDir)
		h.tmpDir = ""
	}
}

// release closes nc unless it is the embedder's.
func (h *Hub) release(nc *natsgo.Conn) {
	if nc != h.cfg.Conn {
		nc.Close()
	}
}

// Close closes the connection (not an embedder's own) and shuts the
// embedded server down; every subscription ends with it. Package engine
// calls it when the engine closes.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for _, s := range h.spares {
		s.close()
	}
	if h.nc != nil {
		h.release(h.nc)
		h.nc, h.js = nil, nil
	}
	h.stopServer()
}

// errorOf maps a NATS client error to an Error of the right kind, its
// message prefixed with fn.
func errorOf(fn string, err error) *loop.Error {
	var ce *loop.Error
	if errors.As(err, &ce) {
		return ce
	}
	kind := loop.KindIO
	switch {
	case errors.Is(err, natsgo.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse):
		kind = loop.KindRefused
	case errors.Is(err, natsgo.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		kind = loop.KindTimeout
	case errors.Is(err, context.Canceled):
		kind = loop.KindCancelled
	case errors.Is(err, natsgo.ErrConnectionClosed):
		kind = loop.KindClosed
	case errors.Is(err, natsgo.ErrBadSubject), errors.Is(err, natsgo.ErrMaxPayload),
		errors.Is(err, jetstream.ErrInvalidKey), errors.Is(err, jetstream.ErrInvalidBucketName),
		errors.Is(err, natsgo.ErrBadHeaderMsg):
		kind = loop.KindValue
	}
	return loop.NewError(kind, fmt.Sprintf("%s: %v", fn, err), err)
}

// transient reports whether err is one a cluster gives while a node
// restarts or a stream elects a leader: worth trying again.
func transient(err error) bool {
	return errors.Is(err, natsgo.ErrNoResponders) || errors.Is(err, natsgo.ErrTimeout) ||
		errors.Is(err, natsgo.ErrConnectionReconnecting) || errors.Is(err, jetstream.ErrNoHeartbeat) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrServerShutdown) ||
		errors.Is(err, jetstream.ErrConsumerLeadershipChanged) ||
		errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}

// retry runs op until it succeeds, fails for good, or ctx is done; a
// transient failure is tried again after a short pause.
func retry(ctx context.Context, op func(ctx context.Context) error) error {
	pause := 50 * time.Millisecond
	for {
		octx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := op(octx)
		cancel()
		if err == nil || !transient(err) || ctx.Err() != nil {
			if err != nil && ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

// flush returns once the server has everything nc sent before (a round
// trip); it waits up to 10 s, as the client wants a deadline.
func flush(ctx context.Context, nc *natsgo.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return nc.FlushWithContext(ctx)
}
