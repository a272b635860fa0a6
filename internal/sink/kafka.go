package sink

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/config"
)

// KafkaOptions configures a Kafka sink (see docs/sinks.md).
type KafkaOptions struct {
	Brokers []string
	// Topic receives every output not named in Topics.
	Topic string
	// Topics maps an output name to its topic.
	Topics map[string]string
	// Key lists the columns whose values make the record key (a JSON
	// array of the values); empty = records without a key.
	Key []string
	// Raw makes the value the row's ABI cell encoding instead of JSON.
	Raw         bool
	Headers     map[string]string
	Compression string // none, gzip, snappy, lz4, zstd
	Acks        string // all, leader, none
	// ExactlyOnce writes in transactions committed with the checkpoints
	// (Commit); false = at-least-once: Flush waits for the acks.
	ExactlyOnce        bool
	TransactionalID    string
	CheckpointTopic    string
	TransactionTimeout time.Duration
	// MaxBufferedBytes bounds the records buffered in the client: Write
	// blocks beyond it until the broker acknowledges earlier ones.
	MaxBufferedBytes int64
	TLS              *tls.Config      // nil = plaintext
	SASL             sasl.Mechanism   // nil = none
	Dial             func() []kgo.Opt // extra client options (tests)
}

// connOpts are the client options of every connection the sink makes (the
// producer and the checkpoint reader): TLS, SASL and the test dialer.
func (o *KafkaOptions) connOpts() []kgo.Opt {
	var opts []kgo.Opt
	if o.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(o.TLS))
	}
	if o.SASL != nil {
		opts = append(opts, kgo.SASL(o.SASL))
	}
	if o.Dial != nil {
		opts = append(opts, o.Dial()...)
	}
	return opts
}

// Kafka writes rows as Kafka records with franz-go. It is owned by the
// stream's committer goroutine; franz-go's own goroutines only report
// produce results through firstErr.
//
// Exactly once: the sink keeps one Kafka transaction open between
// checkpoints. Commit (the engine calls it after every other sink's Flush
// and before the checkpoint store's Save) writes the checkpoint as a
// record of CheckpointTopic, keyed by the transactional id, inside the
// transaction and commits it: the rows and the checkpoint that covers them
// become visible to read_committed consumers at once. Recover, on the next
// run, fences the transactional id (the broker aborts the killed run's open
// transaction, and finishes one whose commit had started) and reads the
// last committed checkpoint back, which the engine compares with the
// store's.
type Kafka struct {
	name   string
	o      KafkaOptions
	cl     *kgo.Client
	inTxn  bool
	closed bool
	broken error

	// firstErr is the first produce failure, set by franz-go's promise
	// goroutines and read by the owner.
	firstErr atomic.Pointer[error]
	promise  func(*kgo.Record, error)

	r       renderer
	schema  *abi.Schema
	keyCols []int
	headers []kgo.RecordHeader
}

var (
	_ Transactional = (*Kafka)(nil)
	_ OutputWriter  = (*Kafka)(nil)
)

// NewKafka connects a Kafka sink. It checks that the brokers answer and
// that every topic exists (sluice creates no data topic: their partitions,
// replication and retention are the operator's choice).
func NewKafka(ctx context.Context, name string, o KafkaOptions) (*Kafka, error) {
	k := &Kafka{name: name, o: o, r: renderer{format: JSONL}}
	k.promise = func(_ *kgo.Record, err error) {
		if err != nil {
			k.firstErr.CompareAndSwap(nil, &err)
		}
	}
	for h, v := range o.Headers {
		k.headers = append(k.headers, kgo.RecordHeader{Key: h, Value: []byte(v)})
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.MaxBufferedBytes(int(o.MaxBufferedBytes)),
		kgo.MaxBufferedRecords(1 << 20),
		kgo.ProducerLinger(5 * time.Millisecond),
		kgo.UnknownTopicRetries(3),
	}
	switch o.Compression {
	case "none":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	case "gzip":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	case "snappy":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	case "", "lz4":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	case "zstd":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	default:
		return nil, fmt.Errorf("sink %s: unknown compression %q", name, o.Compression)
	}
	switch o.Acks {
	case "", "all":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "leader":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "none":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, fmt.Errorf("sink %s: unknown acks %q", name, o.Acks)
	}
	if o.ExactlyOnce {
		if o.TransactionalID == "" || o.CheckpointTopic == "" {
			return nil, fmt.Errorf("sink %s: exactly once needs a transactional id and a checkpoint topic", name)
		}
		opts = append(opts, kgo.TransactionalID(o.TransactionalID), kgo.TransactionTimeout(o.TransactionTimeout))
	}
	opts = append(opts, o.connOpts()...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", name, err)
	}
	k.cl = cl
	if err := k.checkTopics(ctx); err != nil {
		cl.Close()
		return nil, err
	}
	return k, nil
}

// checkTopics fails when a data topic does not exist (sluice check reports
// it too).
func (k *Kafka) checkTopics(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(k.cl)
	want := map[string]bool{}
	if k.o.Topic != "" {
		want[k.o.Topic] = true
	}
	for _, t := range k.o.Topics {
		want[t] = true
	}
	names := make([]string, 0, len(want))
	for t := range want {
		names = append(names, t)
	}
	md, err := adm.Metadata(ctx, names...)
	if err != nil {
		return fmt.Errorf("sink %s: brokers %s do not answer: %w", k.name, strings.Join(k.o.Brokers, ","), err)
	}
	for _, t := range names {
		td, ok := md.Topics[t]
		if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("sink %s: topic %q does not exist on %s: create it (its partitions, replication and retention are yours to choose)", k.name, t, strings.Join(k.o.Brokers, ","))
		}
		if td.Err != nil {
			return fmt.Errorf("sink %s: topic %q: %w", k.name, t, td.Err)
		}
	}
	return nil
}

// ensureCheckpointTopic creates the checkpoint topic (compacted: only the
// last checkpoint of each transactional id matters) when it is missing.
// Run does it (Recover), never sluice check.
func (k *Kafka) ensureCheckpointTopic(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(k.cl).CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, k.o.CheckpointTopic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("sink %s: create checkpoint topic %q: %w", k.name, k.o.CheckpointTopic, err)
	}
	return nil
}

// Write produces the selected rows of p to the sink's default topic.
func (k *Kafka) Write(ctx context.Context, p *abi.Page, sel []byte) error {
	return k.WriteOutput(ctx, "", p, sel)
}

// WriteOutput produces the selected rows of p, an output of the chain, to
// the output's topic. It blocks while MaxBufferedBytes are buffered.
func (k *Kafka) WriteOutput(ctx context.Context, output string, p *abi.Page, sel []byte) error {
	if err := k.usable(); err != nil {
		return err
	}
	topic := k.o.Topic
	if t, ok := k.o.Topics[output]; ok {
		topic = t
	}
	if topic == "" {
		return fmt.Errorf("sink %s: output %q has no topic", k.name, output)
	}
	if err := k.prepare(p.Schema, output); err != nil {
		return err
	}
	if k.o.ExactlyOnce && !k.inTxn {
		if err := k.cl.BeginTransaction(); err != nil {
			return k.breakWith(fmt.Errorf("sink %s: begin transaction: %w", k.name, err))
		}
		k.inTxn = true
	}
	// Render the page first, so a bad cell fails it before any record is
	// produced; the records' keys and values are slices of two buffers
	// owned by this page's records.
	n := p.NumRows()
	var vals, keys []byte
	vend := make([]int, 0, n)
	kend := make([]int, 0, n)
	var err error
	for i := range n {
		if !selected(sel, i) {
			continue
		}
		row := p.Row(i)
		if k.o.Raw {
			vals = append(vals, row.Bytes()...)
		} else {
			if vals, err = k.r.appendJSONRow(vals, row); err != nil {
				return fmt.Errorf("sink %s: page %d, row %d: %w", k.name, p.Number, i, err)
			}
			vals = vals[:len(vals)-1] // the newline of a jsonl line
		}
		vend = append(vend, len(vals))
		if len(k.keyCols) > 0 {
			keys = append(keys, '[')
			for j, c := range k.keyCols {
				if j > 0 {
					keys = append(keys, ',')
				}
				cell, _ := row.Cell(c)
				if keys, err = abi.AppendJSONOf(keys, &p.Schema.Columns[c].Type, cell); err != nil {
					return fmt.Errorf("sink %s: page %d, row %d, key column %q: %w", k.name, p.Number, i, p.Schema.Columns[c].Name, err)
				}
			}
			keys = append(keys, ']')
		}
		kend = append(kend, len(keys))
	}
	vstart, kstart := 0, 0
	for j := range vend {
		rec := &kgo.Record{Topic: topic, Value: vals[vstart:vend[j]:vend[j]], Headers: k.headers}
		if len(k.keyCols) > 0 {
			rec.Key = keys[kstart:kend[j]:kend[j]]
		}
		vstart, kstart = vend[j], kend[j]
		// Produce blocks while the buffer is full: backpressure.
		k.cl.Produce(ctx, rec, k.promise)
	}
	if e := k.firstErr.Load(); e != nil {
		return k.breakWith(fmt.Errorf("sink %s: produce: %w", k.name, *e))
	}
	return nil
}

// prepare resolves the key columns of a schema, once per schema.
func (k *Kafka) prepare(s *abi.Schema, output string) error {
	if k.schema == s {
		return nil
	}
	if err := k.r.prepare(s); err != nil {
		return fmt.Errorf("sink %s: %w", k.name, err)
	}
	k.keyCols = k.keyCols[:0]
	for _, name := range k.o.Key {
		idx := -1
		for c, col := range s.Columns {
			if col.Name == name {
				idx = c
			}
		}
		if idx < 0 {
			have := make([]string, len(s.Columns))
			for c, col := range s.Columns {
				have[c] = col.Name
			}
			return fmt.Errorf("sink %s: key column %q is not in output %q (columns: %s): set key to columns the output has", k.name, name, output, strings.Join(have, ", "))
		}
		k.keyCols = append(k.keyCols, idx)
	}
	k.schema = s
	return nil
}

// Flush waits until the broker has acknowledged every record produced.
// With exactly once the records stay invisible to read_committed consumers
// until Commit.
func (k *Kafka) Flush(ctx context.Context) error {
	if err := k.usable(); err != nil {
		return err
	}
	if err := k.cl.Flush(ctx); err != nil {
		return k.breakWith(fmt.Errorf("sink %s: flush: %w", k.name, err))
	}
	if e := k.firstErr.Load(); e != nil {
		return k.breakWith(fmt.Errorf("sink %s: produce: %w", k.name, *e))
	}
	return nil
}

// Commit commits the open transaction with checkpoint written in it as a
// record of the checkpoint topic. Without exactly once it does nothing
// (Flush made the records durable).
func (k *Kafka) Commit(ctx context.Context, checkpoint []byte) error {
	if err := k.usable(); err != nil {
		return err
	}
	if !k.o.ExactlyOnce {
		return nil
	}
	if !k.inTxn {
		if err := k.cl.BeginTransaction(); err != nil {
			return k.breakWith(fmt.Errorf("sink %s: begin transaction: %w", k.name, err))
		}
		k.inTxn = true
	}
	if checkpoint != nil {
		rec := &kgo.Record{Topic: k.o.CheckpointTopic, Key: []byte(k.o.TransactionalID), Value: checkpoint}
		if err := k.cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			if errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge) {
				err = fmt.Errorf("%w (the checkpoint is %d bytes: plugin states too large for one Kafka record; raise max.message.bytes of topic %q)", err, len(checkpoint), k.o.CheckpointTopic)
			}
			return k.breakWith(fmt.Errorf("sink %s: write checkpoint record: %w", k.name, err))
		}
	}
	if err := k.cl.Flush(ctx); err != nil {
		return k.breakWith(fmt.Errorf("sink %s: flush: %w", k.name, err))
	}
	if e := k.firstErr.Load(); e != nil {
		// A record failed: abort, so none of the transaction is visible.
		_ = k.cl.EndTransaction(ctx, kgo.TryAbort)
		k.inTxn = false
		return k.breakWith(fmt.Errorf("sink %s: produce: %w", k.name, *e))
	}
	if err := k.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		k.inTxn = false
		return k.breakWith(fmt.Errorf("sink %s: commit transaction: %w", k.name, err))
	}
	k.inTxn = false
	return nil
}

// Recover fences the transactional id and returns the checkpoint of its
// last committed transaction, nil when none. Without exactly once it
// returns nil.
func (k *Kafka) Recover(ctx context.Context) ([]byte, error) {
	if err := k.usable(); err != nil {
		return nil, err
	}
	if !k.o.ExactlyOnce {
		return nil, nil
	}
	if err := k.ensureCheckpointTopic(ctx); err != nil {
		return nil, k.breakWith(err)
	}
	// InitProducerID with our transactional id: the coordinator aborts an
	// open transaction of an earlier producer with this id and completes
	// one whose commit it had accepted, before it answers.
	if _, _, err := k.cl.ProducerID(ctx); err != nil {
		return nil, k.breakWith(fmt.Errorf("sink %s: fence transactional id %q: %w", k.name, k.o.TransactionalID, err))
	}
	b, err := lastCheckpoint(ctx, k.o, k.cl)
	if err != nil {
		return nil, fmt.Errorf("sink %s: read checkpoint topic %q: %w", k.name, k.o.CheckpointTopic, err)
	}
	return b, nil
}

// lastCheckpoint reads partition 0 of the checkpoint topic, as a
// read_committed consumer, up to its last stable offset, and returns the
// value of the last record keyed by the transactional id.
func lastCheckpoint(ctx context.Context, o KafkaOptions, cl *kgo.Client) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// A topic just created may take a moment to show in the metadata.
	var end kadm.ListedOffset
	for attempt := 0; ; attempt++ {
		lso, err := kadm.NewClient(cl).ListCommittedOffsets(ctx, o.CheckpointTopic)
		if err == nil {
			var ok bool
			if end, ok = lso.Lookup(o.CheckpointTopic, 0); !ok {
				err = fmt.Errorf("no partition 0")
			} else {
				err = end.Err
			}
		}
		if err == nil {
			break
		}
		if attempt >= 50 || ctx.Err() != nil {
			return nil, err
		}
		time.Sleep(200 * time.Millisecond)
	}
	if end.Offset <= 0 {
		return nil, nil
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.CheckpointTopic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(), // the last offset before the LSO is a commit marker
	}
	opts = append(opts, o.connOpts()...)
	cons, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cons.Close()
	var last []byte
	key := []byte(o.TransactionalID)
	for {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading up to offset %d: %w", end.Offset, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return nil, ferr
		}
		done := false
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset+1 >= end.Offset {
				done = true
			}
			if !r.Attrs.IsControl() && bytes.Equal(r.Key, key) && r.Offset < end.Offset {
				last = r.Value
			}
		})
		if done {
			return last, nil
		}
	}
}

// Position is nil: a topic cannot be rewound; exactly once comes from
// transactions (Commit, Recover).
func (k *Kafka) Position() Offset { return nil }

// Restore checks that no checkpoint offset is given (a kafka sink has
// none); an open transaction of an earlier run was aborted by Recover.
func (k *Kafka) Restore(off Offset) error {
	if k.closed {
		return ErrClosed
	}
	if off != nil {
		return fmt.Errorf("sink %s: %w: a kafka sink keeps no offset", k.name, ErrBadOffset)
	}
	return nil
}

// Close aborts an open transaction (what it holds was never checkpointed)
// and closes the client.
func (k *Kafka) Close() error {
	if k.closed {
		return nil
	}
	k.closed = true
	if k.inTxn {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = k.cl.AbortBufferedRecords(ctx)
		_ = k.cl.EndTransaction(ctx, kgo.TryAbort)
		cancel()
	}
	k.cl.Close()
	return nil
}

func (k *Kafka) usable() error {
	if k.closed {
		return ErrClosed
	}
	return k.broken
}

func (k *Kafka) breakWith(err error) error {
	k.broken = err
	return err
}

// newKafkaFromConfig resolves a validated config.Sink of type kafka.
func newKafkaFromConfig(ctx context.Context, name string, c config.Sink, env Env) (*Kafka, error) {
	o := KafkaOptions{
		Brokers: c.Brokers, Topic: c.Topic, Topics: map[string]string{}, Key: c.Key, Raw: c.Value == "raw",
		Headers: map[string]string{}, Compression: c.Compression, Acks: c.Acks, ExactlyOnce: c.ExactlyOnce,
		TransactionalID: c.TransactionalID, CheckpointTopic: c.CheckpointTopic,
		TransactionTimeout: c.TransactionTimeout, MaxBufferedBytes: int64(c.MaxBufferedBytes),
	}
	if len(o.Key) == 0 {
		o.Key = env.PartitionKey
	}
	for out, t := range c.Topics {
		if s, ok := t.(string); ok {
			o.Topics[out] = s
		}
	}
	for h, v := range c.Headers {
		if s, ok := v.(string); ok {
			o.Headers[h] = s
		}
	}
	if o.TransactionalID == "" {
		o.TransactionalID = "sluice." + strings.ReplaceAll(name, "/", ".")
	}
	if c.TLS {
		tc, err := tlsConfig(c)
		if err != nil {
			return nil, fmt.Errorf("sink %s: %w", name, err)
		}
		o.TLS = tc
	}
	switch c.SASLMechanism {
	case "":
	case "plain":
		o.SASL = plain.Auth{User: c.SASLUser, Pass: env.KafkaPassword}.AsMechanism()
	case "scram-sha-256":
		o.SASL = scram.Auth{User: c.SASLUser, Pass: env.KafkaPassword}.AsSha256Mechanism()
	case "scram-sha-512":
		o.SASL = scram.Auth{User: c.SASLUser, Pass: env.KafkaPassword}.AsSha512Mechanism()
	default:
		return nil, fmt.Errorf("sink %s: unknown sasl_mechanism %q", name, c.SASLMechanism)
	}
	return NewKafka(ctx, name, o)
}

func tlsConfig(c config.Sink) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_ca_file %s: no PEM certificate in it", c.TLSCAFile)
		}
		tc.RootCAs = pool
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls_cert_file/tls_key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
