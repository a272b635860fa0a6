package setup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/pager"
	"github.com/sluicehq/sluice/pager/follow"
)

// follow builds the source of a follow-mode stream (docs/follow.md): it
// checks that the table has the shape [stream.source.follow] declares and
// prepares its bucket query. Problems are added to the builder, each at
// the line of the key at fault; the schema is nil then.
func (b *builder) follow(ctx context.Context, opts pager.Options) (pager.Source, pager.Plan, *abi.Schema) {
	sc := b.sc.Source
	f := sc.Follow
	srcPath := fmt.Sprintf("stream[%d].source", b.idx)
	at := func(key string) (int, string) {
		if key == "" {
			return b.cfg.Line(srcPath), "source"
		}
		if key == "columns" {
			return b.cfg.Line(srcPath + ".columns"), "source.columns"
		}
		return b.cfg.Line(srcPath + ".follow." + key), "source.follow." + key
	}
	bk := follow.Buckets{Width: f.BucketWidth, ShardColumn: f.ShardColumn, Shards: f.Shards}
	for i, c := range f.BucketColumns {
		bk.Columns = append(bk.Columns, follow.BucketColumn{Name: c, Format: f.BucketFormats[i]})
	}
	q, res, err := follow.NewCassandra(ctx, b.env.Session, follow.Table{Keyspace: sc.Keyspace, Table: sc.Table, Columns: sc.Columns}, bk, f.TimeColumn, opts)
	if err != nil {
		b.addFollow(err, at)
		return nil, pager.Plan{}, nil
	}
	start, err := config.ParseStart(f.Start, time.Now())
	if err != nil { // Parse checked it
		line, sub := at("start")
		b.add(line, sub, err)
		return nil, pager.Plan{}, nil
	}
	spec := follow.Spec{
		Buckets: bk, TimeColumn: f.TimeColumn, TimeKind: res.TimeKind, KeyColumns: res.KeyColumns,
		Start: start, Lateness: f.Lateness, Interval: f.Interval, MaxBuckets: f.MaxBuckets, Flush: f.Flush,
	}
	src, err := follow.New(spec, q, nil)
	if err != nil {
		line, sub := at("")
		b.add(line, sub, err)
		return nil, pager.Plan{}, nil
	}
	// The fingerprint covers what decides which rows exist and how they
	// are told apart (the statement, the bucket layout); start, lateness,
	// interval and flush may change between runs.
	plan, err := src.Plan(fmt.Sprintf("follow %s; buckets %s; width %s; shards %d", res.Query,
		strings.Join(f.BucketFormats, ","), f.BucketWidth, f.Shards))
	if err != nil {
		line, sub := at("")
		b.add(line, sub, err)
		return nil, pager.Plan{}, nil
	}
	return src, plan, q.Schema()
}

// addFollow adds the problems of NewCassandra at their keys.
func (b *builder) addFollow(err error, at func(string) (int, string)) {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		key := ""
		var se *follow.ShapeError
		var pe *pager.SourceError
		switch {
		case errors.As(e, &se):
			key = se.Key
		case errors.As(e, &pe) && pe.Key == "table":
			key = ""
		}
		line, sub := at(key)
		b.add(line, sub, e)
	}
}
