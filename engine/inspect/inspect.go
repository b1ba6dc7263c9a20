// Package inspect serves a live web console of an engine (coro --inspect,
// SPEC 14): every task with its state, what it waits on, where it was
// spawned, its stack and run time; the spawn tree; and a timeline of the
// last seconds, refreshing by itself. The page is plain HTML, CSS and a
// little JavaScript served from the binary: no build step, no CDN, so it
// works on an offline machine.
//
// The data comes from the engine (Engine.TaskInfos, made on the loop)
// and from a trace.Recorder installed as its Options.Recorder. Routes:
//
//	/            the console
//	/tasks.json  a JSON array, one object per live task: id, name, state,
//	             waiting_on, spawned_at, stack (and parent, run_ms, age_ms)
//	/trace.json  the recorded events, in the --trace file's format
//	/state.json  what the console polls: now, tasks and the last seconds' events
package inspect

import (
	_ "embed"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/engine/trace"
)

//go:embed page.html
var page []byte

// Window is how far back the console's timeline reaches.
const Window = 10 * time.Second

// A Task is one element of /tasks.json.
type Task struct {
	ID        int64    `json:"id"`
	Name      string   `json:"name"`
	State     string   `json:"state"`
	WaitingOn *string  `json:"waiting_on"` // null unless waiting
	SpawnedAt *string  `json:"spawned_at"` // null for main and host calls
	Stack     []string `json:"stack"`
	Parent    int64    `json:"parent"` // 0: none (or not recorded)
	RunMs     float64  `json:"run_ms"` // time run on the loop so far
	AgeMs     float64  `json:"age_ms"` // time since it was spawned
}

// Handler returns the console of eng, whose Options.Recorder is rec; title
// names the run (the script's file) on the page.
//
// It answers only requests whose Host header is localhost, an IP address
// or one of hosts (the names of a server bound to more than loopback),
// port aside; any other gets 403 Forbidden. A web page the browser loaded
// from a name its attacker then points at 127.0.0.1 (DNS rebinding) asks
// with that name, and would otherwise read every stack, as with Node's
// inspector before CVE-2018-7160, whose rule this is.
func Handler(eng *engine.Engine, rec *trace.Recorder, title string, hosts ...string) http.Handler {
	h := &handler{eng: eng, rec: rec, title: title}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.page)
	mux.HandleFunc("GET /tasks.json", h.tasksJSON)
	mux.HandleFunc("GET /trace.json", h.traceJSON)
	mux.HandleFunc("GET /state.json", h.stateJSON)
	allowed := map[string]bool{"localhost": true}
	for _, name := range hosts {
		allowed[strings.ToLower(name)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host, allowed) {
			// The Host is not echoed: the page asking is not ours.
			http.Error(w, "forbidden: the inspector answers requests for localhost or an IP address only", http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// hostAllowed reports whether host, a request's Host header ("name",
// "name:port", "[::1]:port"), names an IP address or one of allowed
// (lower case): no DNS name but those can be rebound to reach the console.
func hostAllowed(host string, allowed map[string]bool) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return allowed[strings.ToLower(host)]
}

type handler struct {
	eng   *engine.Engine
	rec   *trace.Recorder
	title string
}

func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The page is fixed; nothing from the script is in it (the title
	// and every task field are set by the script as text, not HTML).
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
	w.Write(page)
}

// tasks returns the live tasks and the engine's clock, read together on
// the loop.
func (h *handler) tasks() ([]Task, time.Duration, error) {
	infos, err := h.eng.TaskInfos()
	if err != nil {
		return nil, 0, err
	}
	var now time.Duration
	if err := h.eng.Do(func() { now = h.rec.Now() }); err != nil {
		return nil, 0, err
	}
	out := make([]Task, 0, len(infos))
	for _, ti := range infos {
		t := Task{ID: ti.ID, Name: ti.Name, State: ti.State, Stack: ti.Stack}
		if t.Stack == nil {
			t.Stack = []string{}
		}
		if ti.WaitingOn != "" {
			t.WaitingOn = &ti.WaitingOn
		}
		if ti.SpawnedAt != "" {
			t.SpawnedAt = &ti.SpawnedAt
		}
		if st, ok := h.rec.Task(ti.ID); ok {
			t.Parent = st.Parent
			t.RunMs = ms(st.RunTime)
			t.AgeMs = ms(now - st.Spawned)
		}
		out = append(out, t)
	}
	return out, now, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (h *handler) tasksJSON(w http.ResponseWriter, r *http.Request) {
	tasks, _, err := h.tasks()
	if err != nil {
		http.Error(w, "the run has ended", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, tasks)
}

func (h *handler) traceJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	h.rec.WriteJSON(w, 0)
}

// state is /state.json: the console's one request per refresh.
type state struct {
	Title  string          `json:"title"`
	NowMs  float64         `json:"now_ms"`
	Tasks  []Task          `json:"tasks"`
	Events json.RawMessage `json:"trace"` // the last Window of /trace.json
}

func (h *handler) stateJSON(w http.ResponseWriter, r *http.Request) {
	tasks, now, err := h.tasks()
	if err != nil {
		http.Error(w, "the run has ended", http.StatusServiceUnavailable)
		return
	}
	var buf jsonBuffer
	h.rec.WriteJSON(&buf, now-Window)
	writeJSON(w, state{Title: h.title, NowMs: ms(now), Tasks: tasks, Events: json.RawMessage(buf)})
}

type jsonBuffer []byte

func (b *jsonBuffer) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}
