// Command streamcheck produces input records for the Flink streaming crash
// test (scripts/flink/stream-crash.sh) and checks afterwards that every
// input id came out, as an embedding or a dead letter.
//
// Usage:
//
//	streamcheck produce -brokers B -topic T -count N -rate R [-bad K] [-prefix P]
//	    write N records (testdata/records.parquet's valid images and texts,
//	    cycled, with ids P-000000 ...) at R records/s; every K-th record (K>0)
//	    carries undecodable image bytes, so it must become a dead letter
//	streamcheck create -brokers B [-partitions N] TOPIC...
//	    create the topics (the job's output and dead-letter topics) unless
//	    they exist
//	streamcheck verify -brokers B -input T -output O -dead D [-prefix P] [-wait DUR]
//	    read the three topics to their end offsets, repeating until every
//	    input id is in O or D or -wait has passed; print records, lost,
//	    duplicates; exit 1 if any id is lost. -group G also prints G's
//	    committed offsets, waiting up to -wait-commits for them to reach the
//	    end offsets
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/segmentio/kafka-go"

	"github.com/flavabeam/flavabeam/schemas"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: streamcheck produce|verify [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "produce":
		err = produce(os.Args[2:])
	case "verify":
		err = verify(os.Args[2:])
	case "create":
		err = create(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: streamcheck produce|verify|create [flags]")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "streamcheck:", err)
		os.Exit(1)
	}
}

func produce(args []string) error {
	fs := flag.NewFlagSet("produce", flag.ContinueOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "bootstrap addresses")
	topic := fs.String("topic", "", "input topic")
	count := fs.Int("count", 600, "records to write")
	rate := fs.Float64("rate", 5, "records per second")
	bad := fs.Int("bad", 50, "every bad-th record has undecodable image bytes (0: none)")
	prefix := fs.String("prefix", "s", "id prefix")
	src := fs.String("source", "testdata/records.parquet", "records whose images and texts are cycled")
	partitions := fs.Int("partitions", 4, "partitions of the topic when it is created here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *topic == "" || *count < 1 || *rate <= 0 {
		return errors.New("produce: -topic, -count >= 1 and -rate > 0 are required")
	}
	recs, err := parquet.ReadFile[schemas.ImageText](*src)
	if err != nil {
		return fmt.Errorf("%s: %w", *src, err)
	}
	var good []schemas.ImageText
	for _, r := range recs {
		if r.Metadata["bad"] == "" {
			good = append(good, r)
		}
	}
	if len(good) == 0 {
		return fmt.Errorf("%s has no valid records", *src)
	}
	if err := createTopic(strings.Split(*brokers, ",")[0], *topic, *partitions); err != nil {
		return err
	}
	w := &kafka.Writer{
		Addr:         kafka.TCP(strings.Split(*brokers, ",")...),
		Topic:        *topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    1,
	}
	defer w.Close()
	ctx := context.Background()
	interval := time.Duration(float64(time.Second) / *rate)
	next := time.Now()
	start := next
	for i := 0; i < *count; i++ {
		r := good[i%len(good)]
		r.ID = fmt.Sprintf("%s-%06d", *prefix, i)
		r.EventTime = time.Now().UTC()
		if *bad > 0 && i%*bad == *bad-1 {
			r.Image = []byte("not an image: streamcheck's deliberate dead letter")
		}
		key, value, _, err := schemas.CodecJSON.EncodeImageText(r)
		if err != nil {
			return err
		}
		if err := w.WriteMessages(ctx, kafka.Message{Key: key, Value: value}); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		if (i+1)%100 == 0 {
			fmt.Fprintf(os.Stderr, "streamcheck: produced %d/%d (%.1f/s)\n", i+1, *count, float64(i+1)/time.Since(start).Seconds())
		}
		next = next.Add(interval)
		time.Sleep(time.Until(next))
	}
	fmt.Printf("produced %d records to %s in %s\n", *count, *topic, time.Since(start).Round(time.Millisecond))
	return nil
}

func create(args []string) error {
	fs := flag.NewFlagSet("create", flag.ContinueOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "bootstrap addresses")
	partitions := fs.Int("partitions", 4, "partitions of each topic")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, t := range fs.Args() {
		if err := createTopic(strings.Split(*brokers, ",")[0], t, *partitions); err != nil {
			return err
		}
	}
	return nil
}

// createTopic creates topic with the given partitions unless it exists.
func createTopic(broker, topic string, partitions int) error {
	conn, err := kafka.Dial("tcp", broker)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		return err
	}
	cc, err := kafka.Dial("tcp", fmt.Sprintf("%s:%d", ctrl.Host, ctrl.Port))
	if err != nil {
		return err
	}
	defer cc.Close()
	err = cc.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1})
	if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create %s: %w", topic, err)
	}
	return nil
}

// readAll returns the keys and values of every record in topic up to the
// end offsets at the time of the call.
func readAll(ctx context.Context, brokers []string, topic string, each func(key, value []byte) error) error {
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return err
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", topic, err)
	}
	for _, p := range parts {
		leader, err := kafka.DialLeader(ctx, "tcp", brokers[0], topic, p.ID)
		if err != nil {
			return err
		}
		first, last, err := leader.ReadOffsets()
		leader.Close()
		if err != nil {
			return err
		}
		if last <= first {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p.ID, MinBytes: 1, MaxBytes: 16 << 20})
		if err := r.SetOffset(first); err != nil {
			r.Close()
			return err
		}
		for off := first; off < last; {
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			m, err := r.ReadMessage(rctx)
			cancel()
			if err != nil {
				r.Close()
				return fmt.Errorf("%s/%d at %d: %w", topic, p.ID, off, err)
			}
			off = m.Offset + 1
			if err := each(m.Key, m.Value); err != nil {
				r.Close()
				return err
			}
		}
		r.Close()
	}
	return nil
}

func verify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "bootstrap addresses")
	input := fs.String("input", "", "input topic")
	output := fs.String("output", "", "output topic")
	dead := fs.String("dead", "", "dead-letter topic")
	prefix := fs.String("prefix", "s", "only input ids with this prefix count")
	wait := fs.Duration("wait", 0, "keep re-reading until nothing is lost or this has passed")
	group := fs.String("group", "", "also print this consumer group's committed offsets of the input topic")
	waitCommits := fs.Duration("wait-commits", 0, "with -group: once nothing is lost, wait up to this long for the group to commit the end offsets")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *input == "" || *output == "" || *dead == "" {
		return errors.New("verify: -input, -output and -dead are required")
	}
	bs := strings.Split(*brokers, ",")
	ctx := context.Background()
	deadline := time.Now().Add(*wait)
	for {
		inputs := map[string]bool{}
		err := readAll(ctx, bs, *input, func(key, _ []byte) error {
			if id := string(key); strings.HasPrefix(id, *prefix+"-") {
				inputs[id] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		outs, deads := map[string]int{}, map[string]int{}
		err = readAll(ctx, bs, *output, func(_, value []byte) error {
			e, err := schemas.DecodeEmbedding(value)
			if err != nil {
				return fmt.Errorf("%s: %w", *output, err)
			}
			outs[e.ID]++
			return nil
		})
		if err != nil {
			return err
		}
		reasons := map[string]int{}
		err = readAll(ctx, bs, *dead, func(_, value []byte) error {
			d, err := schemas.DecodeDeadLetter(value)
			if err != nil {
				return fmt.Errorf("%s: %w", *dead, err)
			}
			deads[d.ID]++
			reasons[d.Reason]++
			return nil
		})
		if err != nil && !strings.Contains(err.Error(), "Unknown Topic") {
			return err
		}
		var lost []string
		dupOut, dupDead, both, extra := 0, 0, 0, 0
		for id := range inputs {
			if outs[id] == 0 && deads[id] == 0 {
				lost = append(lost, id)
			}
			if outs[id] > 1 {
				dupOut += outs[id] - 1
			}
			if deads[id] > 1 {
				dupDead += deads[id] - 1
			}
			if outs[id] > 0 && deads[id] > 0 {
				both++
			}
		}
		for id := range outs {
			if !inputs[id] {
				extra++
			}
		}
		sort.Strings(lost)
		if len(lost) == 0 || time.Now().After(deadline) {
			fmt.Printf("records: %d in %s; outputs: %d records (%d distinct ids), dead letters: %d records (%d distinct ids, reasons %v)\n",
				len(inputs), *input, sum(outs), len(outs), sum(deads), len(deads), reasons)
			fmt.Printf("lost: %d; duplicates: %d outputs, %d dead letters; ids both output and dead-lettered: %d; outputs for unknown ids: %d\n",
				len(lost), dupOut, dupDead, both, extra)
			if *group != "" {
				start := time.Now()
				for {
					behind, err := printCommitted(ctx, bs, *group, *input)
					if err != nil {
						return err
					}
					if behind == 0 || len(lost) > 0 || time.Since(start) >= *waitCommits {
						if behind == 0 {
							fmt.Printf("all offsets committed %.1f s after the last id came out\n", time.Since(start).Seconds())
						}
						break
					}
					time.Sleep(2 * time.Second)
				}
			}
			if len(lost) > 0 {
				if len(lost) > 20 {
					lost = lost[:20]
				}
				return fmt.Errorf("lost ids (first 20): %v", lost)
			}
			return nil
		}
		fmt.Fprintf(os.Stderr, "streamcheck: %d of %d ids not out yet; re-reading\n", len(lost), len(inputs))
		time.Sleep(5 * time.Second)
	}
}

// printCommitted prints group's committed offset of each partition of topic
// beside the partition's end offset.
func printCommitted(ctx context.Context, brokers []string, group, topic string) (behind int64, err error) {
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return 0, err
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return 0, err
	}
	ids := make([]int, 0, len(parts))
	for _, p := range parts {
		ids = append(ids, p.ID)
	}
	sort.Ints(ids)
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second}
	res, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err != nil {
		return 0, fmt.Errorf("offsets of group %s: %w", group, err)
	}
	committed := map[int]int64{}
	for _, p := range res.Topics[topic] {
		committed[p.Partition] = p.CommittedOffset
	}
	var line []string
	for _, id := range ids {
		leader, err := kafka.DialLeader(ctx, "tcp", brokers[0], topic, id)
		if err != nil {
			return 0, err
		}
		_, last, err := leader.ReadOffsets()
		leader.Close()
		if err != nil {
			return 0, err
		}
		c := committed[id]
		line = append(line, fmt.Sprintf("%d:%d/%d", id, c, last))
		if c < last {
			behind += last - max(c, 0)
		}
	}
	fmt.Printf("group %s committed/end offsets of %s: %s (%d records not committed)\n", group, topic, strings.Join(line, " "), behind)
	return behind, nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
