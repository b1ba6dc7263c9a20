package inspect_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/engine/inspect"
	"github.com/corolang/coro/engine/trace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An embedder mounts the console on its own server; it shows the tasks
// of a run in progress.
func TestHandlerShowsTheTasks(t *testing.T) {
	rec := trace.NewRecorder(0)
	eng, err := engine.New(engine.Options{Recorder: rec, Stdout: io.Discard, Stderr: io.Discard})
	require.NoError(t, err)
	defer eng.Close()
	srv := httptest.NewServer(inspect.Handler(eng, rec, "embedded"))
	defer srv.Close()

	// A task waits on a future the host sets once it has looked.
	globals, err := eng.Exec(context.Background(), "app.star", "gate = future()\ndef release():\n    gate.set(1)\n")
	require.NoError(t, err)
	wait, err := eng.Exec(context.Background(), "waiter.star", "def waiter(gate):\n    return gate.wait()\n")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := eng.Call(context.Background(), wait["waiter"], globals["gate"])
		done <- err
	}()

	var tasks []inspect.Task
	require.Eventually(t, func() bool {
		resp, err := http.Get(srv.URL + "/tasks.json")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		tasks = nil
		return json.NewDecoder(resp.Body).Decode(&tasks) == nil && len(tasks) == 1 && tasks[0].WaitingOn != nil
	}, 10e9, 10e6)
	assert.Contains(t, *tasks[0].WaitingOn, "future")

	resp, err := http.Get(srv.URL + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.True(t, strings.Contains(string(body), "coro inspector"))

	resp, err = http.Get(srv.URL + "/state.json")
	require.NoError(t, err)
	var st struct {
		Title string `json:"title"`
		Trace struct {
			TraceEvents []map[string]any `json:"traceEvents"`
		} `json:"trace"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	resp.Body.Close()
	assert.Equal(t, "embedded", st.Title)
	assert.NotEmpty(t, st.Trace.TraceEvents)

	_, err = eng.Call(context.Background(), globals["release"])
	require.NoError(t, err)
	require.NoError(t, <-done)
}

// The console answers only a Host that no one can rebind: localhost, an
// IP address, or a name the embedder gave. A page from attacker.example
// whose name was pointed at 127.0.0.1 (DNS rebinding) read every stack.
func TestHandlerRefusesOtherHosts(t *testing.T) {
	rec := trace.NewRecorder(0)
	eng, err := engine.New(engine.Options{Recorder: rec, Stdout: io.Discard, Stderr: io.Discard})
	require.NoError(t, err)
	defer eng.Close()
	srv := httptest.NewServer(inspect.Handler(eng, rec, "embedded", "Console.Example"))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)

	status := func(host string) int {
		req, err := http.NewRequest("GET", srv.URL+"/tasks.json", nil)
		require.NoError(t, err)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusForbidden {
			assert.NotContains(t, string(body), host, "the refused Host is not echoed")
		}
		return resp.StatusCode
	}
	for _, host := range []string{
		"localhost", "localhost:" + port, "LocalHost:" + port,
		"127.0.0.1:" + port, "127.0.0.1", "127.1.2.3:" + port,
		"[::1]:" + port, "[::1]", "192.168.1.5:" + port,
		"console.example:" + port, "console.example",
	} {
		assert.Equal(t, http.StatusOK, status(host), "Host %q", host)
	}
	for _, host := range []string{
		"attacker.example", "attacker.example:" + port,
		"localhost.attacker.example:" + port, "127.0.0.1.nip.io:" + port,
		"localhost.:" + port, "[attacker.example]:" + port,
		"example:" + port,
	} {
		assert.Equal(t, http.StatusForbidden, status(host), "Host %q", host)
	}
	// No Host at all (HTTP/1.0): a browser always sends one.
	w := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/tasks.json", nil)
	req.Host = ""
	srv.Config.Handler.ServeHTTP(w, req)
	assert.Equal(t, http.StatusForbidden, w.Code)
}
