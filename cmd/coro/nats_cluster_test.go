package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// freePorts returns n ports free on 127.0.0.1 right now.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// natsNode is one nats-server process of the test's cluster.
type natsNode struct {
	args []string
	cmd  *exec.Cmd
}

func (n *natsNode) start(t *testing.T, bin string) {
	t.Helper()
	n.cmd = exec.Command(bin, n.args...)
	require.NoError(t, n.cmd.Start())
}

func (n *natsNode) stop() {
	if n.cmd != nil && n.cmd.Process != nil {
		n.cmd.Process.Signal(syscall.SIGTERM)
		n.cmd.Wait()
	}
}

// TestNATSClusterQueue runs a work queue with 3 replicas on a real
// 3-node NATS cluster on loopback, its producer and consumers real coro
// processes: one consumer is killed (SIGKILL) half-way and one server
// node restarted, and still every job is processed, none lost, and the
// only jobs processed twice are the killed consumer's. It needs a
// nats-server binary: CORO_NATS_SERVER=/path/to/nats-server (.ci/run
// builds one from the module cache).
func TestNATSClusterQueue(t *testing.T) {
	bin := os.Getenv("CORO_NATS_SERVER")
	if bin == "" {
		t.Skip("CORO_NATS_SERVER (a nats-server binary) is not set")
	}
	const jobs = 200
	coro := buildCoro(t)
	ports := freePorts(t, 6)
	clientPorts, routePorts := ports[:3], ports[3:]
	var routes []string
	for _, p := range routePorts {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	nodes := make([]*natsNode, 3)
	var urls []string
	for i := range nodes {
		nodes[i] = &natsNode{args: []string{
			"-n", fmt.Sprintf("n%d", i+1), "-a", "127.0.0.1", "-p", fmt.Sprint(clientPorts[i]),
			"-js", "-sd", filepath.Join(t.TempDir(), "store"),
			"--cluster_name", "coro", "--cluster", routes[i], "--routes", strings.Join(routes, ","),
		}}
		nodes[i].start(t, bin)
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", clientPorts[i]))
	}
	defer func() {
		for _, n := range nodes {
			n.stop()
		}
	}()
	url := strings.Join(urls, ",")
	waitJetStream(t, url)

	env := append(os.Environ(), "CORO_NATS="+url, "CORO_NATS_REPLICAS=3")
	dir := t.TempDir()
	producer := filepath.Join(dir, "producer.star")
	require.NoError(t, os.WriteFile(producer, []byte(fmt.Sprintf(`
q = nats.queue("work", ack_wait=8)
for i in range(%d):
    q.put("job-%%d" %% i, id="job-%%d" %% i)
print("put", q.pending)
`, jobs)), 0o644))
	consumer := filepath.Join(dir, "consumer.star")
	// "done" is printed before the ack: a consumer killed between the
	// two is the one way a job is processed twice. ack_wait is longer
	// than a leader election, so an ack made while the restarted node's
	// streams change leaders still lands before the job would be
	// delivered again.
	require.NoError(t, os.WriteFile(consumer, []byte(`
q = nats.queue("work", ack_wait=8)
while True:
    r = catch(q.take, timeout=12)
    if not r.ok:
        print("idle", r.error.kind)
        break
    j = r.value
    sleep(0.01)
    print("done", j.data)
    j.ack()
`), 0o644))

	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	prod := exec.CommandContext(ctx, coro, producer)
	prod.Env = env
	out, err := prod.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, fmt.Sprintf("put %d\n", jobs), string(out))

	var mu sync.Mutex
	done := map[string][]int{} // job -> the consumers that processed it
	total := 0
	progress := make(chan int, 1024)
	consumers := make([]*exec.Cmd, 3)
	var wg sync.WaitGroup
	for i := range consumers {
		c := exec.CommandContext(ctx, coro, consumer)
		c.Env = env
		c.Stderr = os.Stderr
		stdout, err := c.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, c.Start())
		consumers[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if job, ok := strings.CutPrefix(sc.Text(), "done "); ok {
					mu.Lock()
					done[job] = append(done[job], i)
					total++
					n := total
					mu.Unlock()
					select {
					case progress <- n:
					default:
					}
				}
			}
		}()
	}
	killed, restarted := false, false
	for !restarted {
		select {
		case n := <-progress:
			if n >= jobs/5 && !killed {
				require.NoError(t, consumers[0].Process.Signal(syscall.SIGKILL))
				killed = true
			}
			if n >= jobs/2 && killed {
				nodes[1].stop()
				nodes[1].start(t, bin)
				restarted = true
			}
		case <-ctx.Done():
			t.Fatal("the consumers made no progress")
		}
	}
	consumers[0].Wait()
	for _, c := range consumers[1:] {
		assert.NoError(t, c.Wait())
	}
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	var missing, dupes []string
	for i := range jobs {
		job := fmt.Sprintf("job-%d", i)
		switch by := done[job]; {
		case len(by) == 0:
			missing = append(missing, job)
		case len(by) > 1:
			dupes = append(dupes, job)
			assert.Contains(t, by, 0, "%s processed twice, and not because consumer 0 was killed: %v", job, by)
		}
	}
	assert.Empty(t, missing, "jobs lost")
	assert.LessOrEqual(t, len(dupes), 1, "only the job in the killed consumer's hands may run twice: %v", dupes)
	assert.Len(t, done, jobs)
}

// waitJetStream waits until the cluster has elected its JetStream leader.
func waitJetStream(t *testing.T, url string) {
	t.Helper()
	nc, err := natsgo.Connect(url, natsgo.MaxReconnects(-1), natsgo.RetryOnFailedConnect(true))
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err == nil
	}, 30*time.Second, 100*time.Millisecond, "the cluster's JetStream never became ready")
}
