package testutil

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaBrokers are the seed brokers of the test broker: $SLUICE_KAFKA
// (comma-separated host:port) or 127.0.0.1:9092, where scripts/kafka
// starts one.
func KafkaBrokers() []string {
	if h := os.Getenv("SLUICE_KAFKA"); h != "" {
		return strings.Split(h, ",")
	}
	return []string{"127.0.0.1:9092"}
}

// Kafka checks that the test broker answers a metadata request and returns
// its seed brokers. It fails the test when the broker is unreachable, never
// skips it: under CI=true that is the rule for every service, and outside
// CI a developer is told how to start one.
func Kafka(t testing.TB) []string {
	t.Helper()
	seeds := KafkaBrokers()
	if err := pingKafka(seeds, 20*time.Second); err != nil {
		how := "start one with `scripts/kafka start`"
		if os.Getenv("CI") == "true" {
			how = "CI must start it (.ci/run runs `scripts/kafka start`)"
		}
		t.Fatalf("integration test needs a real Kafka broker at %s (%s): %v", strings.Join(seeds, ","), how, err)
	}
	return seeds
}

func pingKafka(seeds []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	defer cl.Close()
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		return err
	}
	if md.Controller < 0 {
		return fmt.Errorf("no active controller")
	}
	return nil
}

// KafkaTopic creates a fresh topic named after the test (deleting one left
// by an earlier run first) with the given partitions, and returns its name.
func KafkaTopic(t testing.TB, seeds []string, suffix string, partitions int32) string {
	t.Helper()
	name := "t_" + strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if suffix != "" {
		name += "_" + suffix
	}
	if len(name) > 200 {
		name = name[:200]
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := adm.DeleteTopics(ctx, name); err != nil {
		t.Fatalf("delete topic %s: %v", name, err)
	}
	// A deleted topic lingers briefly; retry creation until it is gone.
	for {
		resp, err := adm.CreateTopics(ctx, partitions, 1, nil, name)
		if err == nil {
			err = resp.Error()
		}
		if err == nil {
			return name
		}
		if ctx.Err() != nil {
			t.Fatalf("create topic %s: %v", name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// KafkaReadCommitted reads every committed record of topic, as a
// read_committed consumer sees them (records of aborted or still open
// transactions are skipped), up to the partitions' last stable offsets as
// of the call.
func KafkaReadCommitted(t testing.TB, seeds []string, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	lso, err := kadm.NewClient(cl).ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("last stable offsets of %s: %v", topic, err)
	}
	if err := lso.Error(); err != nil {
		t.Fatalf("last stable offsets of %s: %v", topic, err)
	}
	want := map[int32]int64{}
	lso.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		return nil
	}
	// Control records (transaction markers) are kept so that the end is
	// seen: the last offset before the LSO is usually a commit marker.
	cons, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords())
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var recs []*kgo.Record
	for len(want) > 0 {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: timed out with partitions %v not read to their last stable offset", topic, want)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("read %s/%d: %v", tp, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := want[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if !r.Attrs.IsControl() {
				recs = append(recs, r)
			}
			if r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
	}
	return recs
}
