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
		resp, err := adm.CreateTopic(ctx, partitions, 1, nil, name)
		if err == nil {
			err = resp.Err
		}
		if err == nil {
			// Wait until the metadata shows it with a leader everywhere.
			for ctx.Err() == nil {
				md, err := adm.Metadata(ctx, name)
				if td, ok := md.Topics[name]; err == nil && ok && td.Err == nil && td.ID == resp.ID && len(td.Partitions) == int(partitions) {
					ready := true
					for _, p := range td.Partitions {
						ready = ready && p.Err == nil && p.Leader >= 0
					}
					if ready {
						return name
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Fatalf("topic %s: not in the metadata after its creation", name)
		}
		if ctx.Err() != nil {
			t.Fatalf("create topic %s: %v", name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// KafkaDeleteTopic deletes topic and waits until the metadata no longer
// shows it.
func KafkaDeleteTopic(t testing.TB, seeds []string, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := adm.DeleteTopics(ctx, topic); err != nil {
		t.Fatalf("delete topic %s: %v", topic, err)
	}
	for ctx.Err() == nil {
		md, err := adm.Metadata(ctx, topic)
		if td, ok := md.Topics[topic]; err == nil && (!ok || td.Err != nil) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("topic %s still in the metadata after its deletion", topic)
}

// KafkaReadCommitted reads every committed record of topic, as a
// read_committed consumer sees them (records of aborted or still open
// transactions are skipped), up to the partitions' last stable offsets as
// of the call. The broker writes a transaction's commit markers just
// after the commit returns, so it first waits (up to 30 s) until no
// transaction is open in the topic (last stable offsets = end offsets):
// tests call it once the writers are done.
func KafkaReadCommitted(t testing.TB, seeds []string, topic string) []*kgo.Record {
	t.Helper()
	return readCommitted(t, seeds, topic, 30*time.Second)
}

// KafkaReadCommittedNow is KafkaReadCommitted without the wait, for a
// test that knows a transaction is open.
func KafkaReadCommittedNow(t testing.TB, seeds []string, topic string) []*kgo.Record {
	t.Helper()
	return readCommitted(t, seeds, topic, 0)
}

func readCommitted(t testing.TB, seeds []string, topic string, wait time.Duration) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var lso kadm.ListedOffsets
	for deadline := time.Now().Add(wait); ; {
		lso, err = adm.ListCommittedOffsets(ctx, topic)
		if err == nil {
			err = lso.Error()
		}
		if err != nil {
			t.Fatalf("last stable offsets of %s: %v", topic, err)
		}
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
		if err != nil {
			t.Fatalf("end offsets of %s: %v", topic, err)
		}
		stable := true
		ends.Each(func(o kadm.ListedOffset) {
			if l, ok := lso.Lookup(topic, o.Partition); !ok || l.Offset != o.Offset {
				stable = false
			}
		})
		if stable || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
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
