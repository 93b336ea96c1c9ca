package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestEmbedToKafka runs the CLI from the test file to Kafka topics: on the
// real broker when FLAVABEAM_KAFKA_BROKERS is set (topics auto-created, as
// scripts/kafka/kafka.sh configures it), else on the in-process fake.
func TestEmbedToKafka(t *testing.T) {
	out := fmt.Sprintf("cli-emb-%d", time.Now().UnixNano())
	brokers := os.Getenv("FLAVABEAM_KAFKA_BROKERS")
	if brokers == "" {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, out, out+"-dead-letters"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		brokers = strings.Join(c.ListenAddrs(), ",")
	} else {
		client := &kafka.Client{Addr: kafka.TCP(strings.Split(brokers, ",")...), Timeout: 30 * time.Second}
		if _, err := client.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
			{Topic: out, NumPartitions: 1, ReplicationFactor: 1},
			{Topic: out + "-dead-letters", NumPartitions: 1, ReplicationFactor: 1},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	code, _, stderr := cli(t, "embed", "--input", records, "--kafka-brokers", brokers, "--output-topic", out, "--compression", "zstd", "--progress=0")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "dead letters: Kafka topic "+out+"-dead-letters") {
		t.Errorf("stderr does not name the dead-letter topic:\n%s", stderr)
	}
	client := &kafka.Client{Addr: kafka.TCP(strings.Split(brokers, ",")...), Timeout: 30 * time.Second}
	for topic, want := range map[string]int64{out: 22, out + "-dead-letters": 2} {
		res, err := client.ListOffsets(context.Background(), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
			topic: {kafka.LastOffsetOf(0)}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Topics[topic][0].LastOffset; got != want {
			t.Errorf("%s holds %d records, want %d", topic, got, want)
		}
	}
}
