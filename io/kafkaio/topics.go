package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// DefaultMaxMessageBytes is Kafka's default max.message.bytes (1 MiB plus
// the record batch overhead Kafka allows for), used when the cluster does not
// report a topic's limit.
const DefaultMaxMessageBytes = 1048588

// CheckTopics returns an error wrapping ErrNotFound that names the first of
// topics the cluster does not have. It never asks the broker to create a
// topic. Other failures wrap ErrBroker.
func CheckTopics(ctx context.Context, conn ConnConfig, topics ...string) error {
	client, tr, err := conn.client()
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return fmt.Errorf("%w: metadata from %s: %w", ErrBroker, strings.Join(conn.brokers(), ","), err)
	}
	byName := make(map[string]kafka.Topic, len(meta.Topics))
	for _, t := range meta.Topics {
		byName[t.Name] = t
	}
	for _, name := range topics {
		t, ok := byName[name]
		if !ok || errors.Is(t.Error, kafka.UnknownTopicOrPartition) || (t.Error == nil && len(t.Partitions) == 0) {
			return fmt.Errorf("%w: topic %q does not exist on %s (create it, or let the broker auto-create it "+
				"by writing to it once)", ErrNotFound, name, strings.Join(conn.brokers(), ","))
		}
		if t.Error != nil {
			return fmt.Errorf("%w: metadata of topic %q: %w", ErrBroker, name, t.Error)
		}
	}
	return nil
}

// TopicMaxMessageBytes returns the topic's max.message.bytes: the largest
// record batch the broker accepts for it. A missing topic wraps ErrNotFound;
// a cluster that does not answer the DescribeConfigs request wraps
// ErrBroker.
func TopicMaxMessageBytes(ctx context.Context, conn ConnConfig, topic string) (int64, error) {
	if err := CheckTopics(ctx, conn, topic); err != nil {
		return 0, err
	}
	client, tr, err := conn.client()
	if err != nil {
		return 0, err
	}
	defer tr.CloseIdleConnections()
	res, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{
		Resources: []kafka.DescribeConfigRequestResource{{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"max.message.bytes"},
		}},
	})
	if err != nil {
		return 0, fmt.Errorf("%w: describe configs of topic %q: %w", ErrBroker, topic, err)
	}
	for _, r := range res.Resources {
		if r.Error != nil {
			return 0, fmt.Errorf("%w: describe configs of topic %q: %w", ErrBroker, topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName == "max.message.bytes" {
				v, err := strconv.ParseInt(e.ConfigValue, 10, 64)
				if err != nil || v <= MessageOverhead {
					return 0, fmt.Errorf("%w: topic %q has max.message.bytes %q", ErrBroker, topic, e.ConfigValue)
				}
				return v, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: the cluster did not report max.message.bytes of topic %q", ErrBroker, topic)
}

// maxMessageBytes is TopicMaxMessageBytes, retried for up to retry while the
// cluster fails, and DefaultMaxMessageBytes when it cannot tell (it answers
// but without the setting). A missing topic is an error.
func maxMessageBytes(ctx context.Context, conn ConnConfig, topic string, retry time.Duration) (int64, error) {
	began := time.Now()
	for {
		ctx1, cancel := context.WithTimeout(ctx, conn.requestTimeout())
		v, err := TopicMaxMessageBytes(ctx1, conn, topic)
		cancel()
		switch {
		case err == nil:
			return v, nil
		case errors.Is(err, ErrNotFound):
			return 0, err
		case time.Since(began) > retry || ctx.Err() != nil:
			return 0, err
		}
		var ke kafka.Error
		if errors.As(err, &ke) && !ke.Temporary() {
			return DefaultMaxMessageBytes, nil // e.g. the request is not supported
		}
		sleep(ctx, time.Second)
	}
}
