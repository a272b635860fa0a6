package follow

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testutil"
	"github.com/sluicehq/sluice/test/reliability/e2e"
)

// TestCheckRefusesTableShape: `sluice check` refuses a follow stream whose
// table does not have the declared shape, with the config key at fault,
// as `sluice run` does (both call setup.Build).
func TestCheckRefusesTableShape(t *testing.T) {
	s := e2e.Session(t)
	cases := []struct {
		name, ddl, extra string
		want             []string
	}{
		{"time column not clustering", "(bucket bigint, shard int, ts timestamp, id int, PRIMARY KEY ((bucket, shard), id))", "",
			[]string{"source.follow.time_column", `time column "ts" must be the first clustering column`}},
		{"time column text", "(bucket bigint, shard int, ts text, id int, PRIMARY KEY ((bucket, shard), ts, id))", "",
			[]string{"source.follow.time_column", `is a text, want a timestamp or a timeuuid`}},
		{"time column second", "(bucket bigint, shard int, ts timestamp, id int, PRIMARY KEY ((bucket, shard), id, ts))", "",
			[]string{"source.follow.time_column", "must be the first clustering column"}},
		{"partition key has more", "(bucket bigint, shard int, region text, ts timestamp, id int, PRIMARY KEY ((bucket, shard, region), ts, id))", "",
			[]string{"source.follow.bucket_columns", `partition key column "region" is neither a bucket column nor the shard column`}},
		{"bucket not in partition key", "(bucket bigint, shard int, ts timestamp, id int, PRIMARY KEY ((shard), bucket, ts, id))", "",
			[]string{"source.follow.bucket_columns", `bucket column "bucket" is a clustering column`}},
		{"epoch into text", "(bucket text, shard int, ts timestamp, id int, PRIMARY KEY ((bucket, shard), ts, id))", "",
			[]string{"source.follow.bucket_formats", `bucket column "bucket" is a text: format "epoch" needs an int or a bigint`}},
		{"shard column text", "(bucket bigint, shard text, ts timestamp, id int, PRIMARY KEY ((bucket, shard), ts, id))", "",
			[]string{"source.follow.shard_column", `shard column "shard" is a text`}},
		{"primary key not selected", "(bucket bigint, shard int, ts timestamp, id int, payload text, PRIMARY KEY ((bucket, shard), ts, id))", `  columns = ["bucket", "shard", "ts", "payload"]`,
			[]string{"source.columns", `"id" is missing`}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tbl := "shape_" + string(rune('a'+i))
			testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+"."+tbl)
			testutil.Exec(t, s, "CREATE TABLE "+ks+"."+tbl+" "+c.ddl)
			dir := t.TempDir()
			path := followConfig(t, dir, tbl, time.Now(), c.extra)
			res := e2e.Run(t, dir, nil, "check", "-config", path)
			if res.Code != 2 {
				t.Fatalf("check: exit %d, want 2:\n%s%s", res.Code, res.Stdout, e2e.Tail(res.Stderr, 20))
			}
			for _, w := range c.want {
				if !strings.Contains(res.Stderr, w) {
					t.Errorf("check does not say %q:\n%s", w, e2e.Tail(res.Stderr, 20))
				}
			}
			if !strings.Contains(res.Stderr, "sluice.toml:") {
				t.Errorf("check does not name the file and line:\n%s", e2e.Tail(res.Stderr, 20))
			}
			// run refuses the same, before reading anything.
			res = e2e.Run(t, dir, nil, "run", "-config", path)
			if res.Code != 2 || !strings.Contains(res.Stderr, c.want[1]) {
				t.Errorf("run: exit %d, want 2 with %q:\n%s", res.Code, c.want[1], e2e.Tail(res.Stderr, 20))
			}
		})
	}
	// The right shape passes.
	createTable(t, "shape_ok")
	dir := t.TempDir()
	res := e2e.Run(t, dir, nil, "check", "-config", followConfig(t, dir, "shape_ok", time.Now(), ""))
	if res.Code != 0 {
		t.Fatalf("check of a good table: exit %d:\n%s%s", res.Code, res.Stdout, e2e.Tail(res.Stderr, 20))
	}
	// A follow stream reads one split: -shard is refused, by check as by run.
	for _, cmd := range []string{"check", "run"} {
		res = e2e.Run(t, dir, nil, cmd, "-shard", "0/2", "-config", filepath.Join(dir, "sluice.toml"))
		if res.Code != 2 || !strings.Contains(res.Stderr, "cannot be sharded") {
			t.Errorf("%s -shard 0/2 of a follow stream: exit %d, want 2 saying it cannot be sharded:\n%s", cmd, res.Code, e2e.Tail(res.Stderr, 10))
		}
	}
}
