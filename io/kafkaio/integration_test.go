package kafkaio

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Integration tests against a real Apache Kafka broker. They run when
// FLAVABEAM_KAFKA_BROKERS is set (CI sets it after scripts/kafka/kafka.sh
// start) and skip with a message otherwise.

func TestRealBrokerWriteThenBoundedRead(t *testing.T) {
	brokers := realBrokers(t)
	topic := uniqueTopic("it-bounded")
	createTopic(t, brokers, topic, 4)
	testWriteThenBoundedRead(t, brokers, topic, 2000, "lz4")
}

func TestRealBrokerUnboundedKeepsUpWithProducer(t *testing.T) {
	brokers := realBrokers(t)
	topic := uniqueTopic("it-unbounded")
	createTopic(t, brokers, topic, 4)
	testUnboundedKeepsUp(t, brokers, topic, 10*time.Second)
}

// testUnboundedKeepsUp produces batches for d while an unbounded read runs,
// then requires every record exactly once.
func testUnboundedKeepsUp(t *testing.T, brokers []string, topic string, d time.Duration) {
	var produced atomic.Int64
	name := t.Name() + "/" + topic // unique per run: -count=N reuses t.Name()
	start := time.Now()
	runUnbounded(t, ReadConfig{ConnConfig: ConnConfig{Brokers: brokers}, Topics: []string{topic}, ResumeDelay: 200 * time.Millisecond},
		name,
		func() {
			for time.Since(start) < d {
				n := int(produced.Load())
				produce(t, brokers, topic, n, n+200, 1024)
				produced.Add(200)
				time.Sleep(100 * time.Millisecond)
			}
		},
		func() bool { return len(collectedKeys(name)) >= int(produced.Load()) },
		60*time.Second)
	n := int(produced.Load())
	missing, dups := lossAndDuplicates(collectedKeys(name), n)
	t.Logf("produced %d records in %v; read all within %v of the start", n, d, time.Since(start).Round(time.Millisecond))
	if len(missing) > 0 {
		t.Errorf("%d of %d records missing, first %v", len(missing), n, missing[0])
	}
	if dups > 0 {
		t.Errorf("%d duplicates without any failure", dups)
	}
}

// kafkaScript is scripts/kafka/kafka.sh, found from this package's directory.
func kafkaScript(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../scripts/kafka/kafka.sh")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("kafka script: %v", err)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// privateBroker starts a second broker with scripts/kafka/kafka.sh on free
// ports and its own state, so that stopping it cannot disturb tests of other
// packages that share the CI broker. It returns the brokers and a function
// running the script with a command (stop, start).
func privateBroker(t *testing.T) ([]string, func(cmd string)) {
	t.Helper()
	script := kafkaScript(t)
	port, cport := freePort(t), freePort(t)
	env := append(os.Environ(),
		fmt.Sprintf("FLAVABEAM_KAFKA_PORT=%d", port),
		fmt.Sprintf("FLAVABEAM_KAFKA_CONTROLLER_PORT=%d", cport),
		"FLAVABEAM_KAFKA_STATE="+t.TempDir(),
		"FLAVABEAM_KAFKA_HEAP=-Xms128m -Xmx512m",
	)
	run := func(cmd string) {
		c := exec.Command("bash", script, cmd)
		c.Env = env
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("kafka.sh %s: %v\n%s", cmd, err, out)
		}
		t.Logf("kafka.sh %s: %s", cmd, strings.TrimSpace(string(out)))
	}
	run("start")
	t.Cleanup(func() { run("stop") })
	return []string{fmt.Sprintf("127.0.0.1:%d", port)}, run
}

// TestRealBrokerRestartLosesNoRecord stops and restarts a broker while an
// unbounded read runs: every record produced before the stop and after the
// restart must arrive; duplicates are reported, not failed (at-least-once).
func TestRealBrokerRestartLosesNoRecord(t *testing.T) {
	realBrokers(t)
	brokers, script := privateBroker(t)
	topic := uniqueTopic("it-restart")
	createTopic(t, brokers, topic, 2)
	const half = 500
	produce(t, brokers, topic, 0, half, 1024)
	name := t.Name() + "/" + topic // unique per run: -count=N reuses t.Name()
	start := time.Now()
	runUnbounded(t, ReadConfig{ConnConfig: ConnConfig{Brokers: brokers}, Topics: []string{topic}, ResumeDelay: 200 * time.Millisecond},
		name,
		func() {
			for len(collectedKeys(name)) < half && time.Since(start) < 30*time.Second {
				time.Sleep(100 * time.Millisecond)
			}
			script("stop")
			time.Sleep(2 * time.Second) // the reader sees the broker gone
			script("start")
			produce(t, brokers, topic, half, 2*half, 1024)
		},
		func() bool { return len(collectedKeys(name)) >= 2*half },
		60*time.Second)
	missing, dups := lossAndDuplicates(collectedKeys(name), 2*half)
	t.Logf("broker restart: %d records, %d duplicates, %v", 2*half, dups, time.Since(start).Round(time.Millisecond))
	if len(missing) > 0 {
		t.Errorf("%d of %d records lost across a broker restart, first %v", len(missing), 2*half, missing[0])
	}
}

// TestRealBrokerCommitsAfterWrites checks that a bounded Read → Write →
// Commit pipeline commits every offset it wrote, on a real broker.
func TestRealBrokerCommitsAfterWrites(t *testing.T) {
	brokers := realBrokers(t)
	topic, out := uniqueTopic("it-commit"), uniqueTopic("it-commit-out")
	createTopic(t, brokers, topic, 3)
	createTopic(t, brokers, out, 2)
	produce(t, brokers, topic, 0, 120, 10)
	group := uniqueTopic("it-group")
	checkCommitted(t, brokers, group, topic, 0)
	readAndCommit(t, brokers, topic, out, group, 120)
	checkCommitted(t, brokers, group, topic, 120)
}
