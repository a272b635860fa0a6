// Command kprobe checks that a Kafka broker really answers: it asks for the
// cluster's metadata and for the transaction coordinator's readiness, with
// franz-go. scripts/kafka uses it to know when a started broker is ready
// (an open port alone is not enough: the listener opens before the KRaft
// controller has elected itself).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated seed brokers host:port")
	timeout := flag.Duration("timeout", 10*time.Second, "time to wait for an answer")
	flag.Parse()
	if err := probe(strings.Split(*brokers, ","), *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "kprobe:", err)
		os.Exit(1)
	}
}

func probe(seeds []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.RequestRetries(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	md, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return fmt.Errorf("metadata from %s: %w", strings.Join(seeds, ","), err)
	}
	if md.Controller < 0 {
		return fmt.Errorf("%s: no active controller yet", strings.Join(seeds, ","))
	}
	fmt.Printf("cluster %s: %d broker(s), controller %d\n", md.Cluster, len(md.Brokers), md.Controller)
	return nil
}
