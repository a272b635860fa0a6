package sink

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/testutil"
)

func kafkaOpts(seeds []string, topic, txid string) KafkaOptions {
	return KafkaOptions{Brokers: seeds, Topic: topic, Key: []string{"id"}, Compression: "lz4", Acks: "all",
		ExactlyOnce: true, TransactionalID: txid, CheckpointTopic: "sluice_test_checkpoints",
		TransactionTimeout: time.Minute, MaxBufferedBytes: 1 << 20, Headers: map[string]string{"src": "sluice"}}
}

func values(recs []*kgo.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}

// TestKafkaTransactions writes the mixed page through a transactional
// kafka sink and reads the topic back with franz-go's consumer in
// read_committed mode: rows of a committed transaction are there, in
// order, keyed and with headers; rows of a transaction a "killed" sink
// left open are never seen, and the next sink's Recover fences it and
// returns the checkpoint of the last commit.
func TestKafkaTransactions(t *testing.T) {
	seeds := testutil.Kafka(t)
	topic := testutil.KafkaTopic(t, seeds, "", 1)
	ctx := context.Background()
	txid := fmt.Sprintf("sluice.test.%s.%d", topic, time.Now().UnixNano())

	k, err := NewKafka(ctx, "t/k", kafkaOpts(seeds, topic, txid))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := k.Recover(ctx); err != nil || b != nil {
		t.Fatalf("Recover on a fresh transactional id = %q, %v; want nil, nil", b, err)
	}
	if err := k.Restore(nil); err != nil {
		t.Fatal(err)
	}
	if err := k.Write(ctx, mixedPage(t, 1), nil); err != nil {
		t.Fatal(err)
	}
	if err := k.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := testutil.KafkaReadCommittedNow(t, seeds, topic); len(got) != 0 {
		t.Fatalf("read_committed sees %d records before the commit", len(got))
	}
	if err := k.Commit(ctx, []byte(`{"cp":1}`)); err != nil {
		t.Fatal(err)
	}
	recs := testutil.KafkaReadCommitted(t, seeds, topic)
	want := strings.Split(strings.TrimSuffix(mixedJSONL, "\n"), "\n")
	if got := values(recs); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("committed records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if string(recs[0].Key) != "[1]" || string(recs[1].Key) != "[-2]" {
		t.Fatalf("keys %q %q, want [1] [-2]", recs[0].Key, recs[1].Key)
	}
	if len(recs[0].Headers) != 1 || recs[0].Headers[0].Key != "src" || string(recs[0].Headers[0].Value) != "sluice" {
		t.Fatalf("headers %+v", recs[0].Headers)
	}

	// A second transaction is written and flushed, then the process
	// "dies": the client is abandoned with the transaction open.
	sel := []byte{0b0001}
	if err := k.Write(ctx, mixedPage(t, 2), sel); err != nil {
		t.Fatal(err)
	}
	if err := k.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	k2, err := NewKafka(ctx, "t/k", kafkaOpts(seeds, topic, txid))
	if err != nil {
		t.Fatal(err)
	}
	defer k2.Close()
	b, err := k2.Recover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"cp":1}` {
		t.Fatalf("Recover = %q, want the checkpoint of the last commit", b)
	}
	// The abandoned sink is fenced: its commit fails, nothing of it shows.
	if err := k.Commit(ctx, []byte(`{"cp":2}`)); err == nil {
		t.Fatal("a fenced sink committed")
	}
	k.Close()
	if got := testutil.KafkaReadCommitted(t, seeds, topic); len(got) != len(want) {
		t.Fatalf("read_committed sees %d records after the fenced transaction, want %d", len(got), len(want))
	}
	// The new sink goes on.
	if err := k2.Write(ctx, mixedPage(t, 3), sel); err != nil {
		t.Fatal(err)
	}
	if err := k2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := k2.Commit(ctx, []byte(`{"cp":3}`)); err != nil {
		t.Fatal(err)
	}
	if got := testutil.KafkaReadCommitted(t, seeds, topic); len(got) != len(want)+1 || string(got[len(got)-1].Key) != "[1]" {
		t.Fatalf("after the new sink's commit: %d records, want %d", len(got), len(want)+1)
	}
	if b, err := k2.Recover(ctx); err != nil || string(b) != `{"cp":3}` {
		t.Fatalf("Recover = %q, %v", b, err)
	}
}

// TestKafkaPerOutputTopicsAndRaw: named outputs go to their own topics;
// raw values are the row's ABI cells.
func TestKafkaPerOutputTopicsAndRaw(t *testing.T) {
	seeds := testutil.Kafka(t)
	main := testutil.KafkaTopic(t, seeds, "main", 2)
	dlq := testutil.KafkaTopic(t, seeds, "dlq", 1)
	ctx := context.Background()
	o := kafkaOpts(seeds, main, "sluice.test."+main)
	o.Topics = map[string]string{"rejected": dlq}
	o.Raw = true
	k, err := NewKafka(ctx, "t/k", o)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := k.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	p := mixedPage(t, 1)
	if err := k.WriteOutput(ctx, "", p, nil); err != nil {
		t.Fatal(err)
	}
	if err := k.WriteOutput(ctx, "rejected", p, []byte{0b0010}); err != nil {
		t.Fatal(err)
	}
	if err := k.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := k.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := testutil.KafkaReadCommitted(t, seeds, main); len(got) != 4 {
		t.Fatalf("main topic: %d records, want 4", len(got))
	}
	got := testutil.KafkaReadCommitted(t, seeds, dlq)
	if len(got) != 1 || string(got[0].Value) != string(p.Row(1).Bytes()) {
		t.Fatalf("dlq topic: %d records (%x), want row 1's raw cells", len(got), values(got))
	}
}

// TestKafkaFreshCheckpointTopic: Recover creates a missing checkpoint
// topic (NewKafka, which sluice check runs, does not) and finds no
// checkpoint in it.
func TestKafkaFreshCheckpointTopic(t *testing.T) {
	seeds := testutil.Kafka(t)
	topic := testutil.KafkaTopic(t, seeds, "", 1)
	cpTopic := testutil.KafkaTopic(t, seeds, "cp", 1)
	testutil.KafkaDeleteTopic(t, seeds, cpTopic)
	ctx := context.Background()
	o := kafkaOpts(seeds, topic, fmt.Sprintf("sluice.test.fresh.%d", time.Now().UnixNano()))
	o.CheckpointTopic = cpTopic
	k, err := NewKafka(ctx, "t/k", o)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if b, err := k.Recover(ctx); err != nil || b != nil {
		t.Fatalf("Recover with a new checkpoint topic = %q, %v", b, err)
	}
	if err := k.Write(ctx, mixedPage(t, 1), nil); err != nil {
		t.Fatal(err)
	}
	if err := k.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := k.Commit(ctx, []byte(`{"cp":1}`)); err != nil {
		t.Fatal(err)
	}
	if got := testutil.KafkaReadCommitted(t, seeds, topic); len(got) != 4 {
		t.Fatalf("%d records, want 4", len(got))
	}
}

// TestKafkaMissingTopicAndKey: a topic that does not exist and a key column
// the output lacks are clear errors.
func TestKafkaMissingTopicAndKey(t *testing.T) {
	seeds := testutil.Kafka(t)
	ctx := context.Background()
	_, err := NewKafka(ctx, "t/k", kafkaOpts(seeds, "sluice_no_such_topic_x", "sluice.test.none"))
	if err == nil || !strings.Contains(err.Error(), `topic "sluice_no_such_topic_x" does not exist`) {
		t.Fatalf("NewKafka with a missing topic: %v", err)
	}
	topic := testutil.KafkaTopic(t, seeds, "", 1)
	o := kafkaOpts(seeds, topic, "sluice.test."+topic)
	o.Key = []string{"nope"}
	k, err := NewKafka(ctx, "t/k", o)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	err = k.Write(ctx, page(t, 1, abi.NewSchema(col("id", tInt)), [][]byte{abi.AppendInt(nil, 1)}), nil)
	if err == nil || !strings.Contains(err.Error(), `key column "nope" is not in output ""`) {
		t.Fatalf("Write with a missing key column: %v", err)
	}
}
