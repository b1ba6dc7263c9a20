// Command embed_http serves HTTP from Go and lets a coro script handle the
// requests: each request is an engine Call, so many are in flight at once
// on one event loop, and a slow Go lookup (an AsyncBuiltin) holds up only
// the request that made it. (In goja, a Go function that blocks stalls
// every script on the loop.)
//
//	go run ./examples/embed_http -addr 127.0.0.1:8080
//	curl '127.0.0.1:8080/user?id=1'
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
)

//go:embed handler.star
var handlerSrc string

// A LookupFunc finds a user's name; it may block (a database query).
type LookupFunc func(ctx context.Context, id string) (string, error)

// server routes HTTP requests to the script's handle().
type server struct {
	eng    *engine.Engine
	handle starlark.Value
}

// newServer starts an engine with the handler script; lookup backs the
// script's lookup_user().
func newServer(lookup LookupFunc) (*server, error) {
	lookupUser := engine.AsyncBuiltin("lookup_user", func(ctx context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var id string
		if err := starlark.UnpackArgs("lookup_user", args, kwargs, "id", &id); err != nil {
			return nil, engine.Errorf(engine.KindValue, "%v", err)
		}
		name, err := lookup(ctx, id)
		if err != nil {
			return nil, err
		}
		return starlark.String(name), nil
	})
	eng, err := engine.New(engine.Options{
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Globals: starlark.StringDict{"lookup_user": lookupUser},
	})
	if err != nil {
		return nil, err
	}
	globals, err := eng.Exec(context.Background(), "handler.star", handlerSrc)
	if err != nil {
		eng.Close()
		return nil, err
	}
	return &server{eng: eng, handle: globals["handle"]}, nil
}

func (s *server) Close() error { return s.eng.Close() }

// ServeHTTP calls handle(method, path, query) and writes the (status,
// body) it returns. The request's context cancels the script's task when
// the client goes away.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	query := starlark.NewDict(len(r.URL.Query()))
	for k := range r.URL.Query() {
		query.SetKey(starlark.String(k), starlark.String(r.URL.Query().Get(k)))
	}
	v, err := s.eng.Call(r.Context(), s.handle, starlark.String(r.Method), starlark.String(r.URL.Path), query)
	if err != nil {
		// The error's text holds the kind and the script traceback.
		log.Printf("handler failed: %v", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	status, body, err := response(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

// response unpacks the handler's (status, body).
func response(v starlark.Value) (int, string, error) {
	t, ok := v.(starlark.Tuple)
	if !ok || len(t) != 2 {
		return 0, "", fmt.Errorf("handle returned %s, want (status, body)", v.Type())
	}
	status, err := starlark.AsInt32(t[0])
	if err != nil {
		return 0, "", fmt.Errorf("handle: status: %v", err)
	}
	body, ok := starlark.AsString(t[1])
	if !ok {
		return 0, "", fmt.Errorf("handle: body is %s, want string", t[1].Type())
	}
	return status, body, nil
}

// slowLookup stands in for a database: 100 ms per query.
func slowLookup(ctx context.Context, id string) (string, error) {
	select {
	case <-time.After(100 * time.Millisecond):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if id == "1" {
		return "alice", nil
	}
	return "", engine.Errorf(engine.KindNotFound, "no user %q", id)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	s, err := newServer(slowLookup)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	log.Printf("serving on http://%s", *addr)
	if err := http.ListenAndServe(*addr, s); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
