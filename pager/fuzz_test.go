package pager

import (
	"encoding/json"
	"strings"
	"testing"
)

func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"0/1", "3/4", " 1 / 2 ", "4/4", "-1/3", "a/b", "1", "", "1/2/3", "9999999999999999999/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := ParseShard(s)
		if err != nil {
			if !strings.Contains(err.Error(), "shard") {
				t.Fatalf("error does not name the shard: %v", err)
			}
			return
		}
		if sh.Index < 0 || sh.Index >= sh.Count {
			t.Fatalf("ParseShard(%q) = %+v", s, sh)
		}
		if back, err := ParseShard(sh.String()); err != nil || back != sh {
			t.Fatalf("round trip of %v: %v, %v", sh, back, err)
		}
	})
}

// Checkpoint files are read back after crashes and by other versions:
// whatever the bytes, decoding and validation never panic, and a valid
// checkpoint survives a round trip.
func FuzzCheckpointJSON(f *testing.F) {
	f.Add([]byte(`{"version":1,"stream":"s","fingerprint":"a.b","shard":{"Index":0,"Count":1},"positions":[{"split":0,"lo":-9223372036854775808,"hi":0,"page_state":"AQI=","pages":3,"rows":9}],"extra":{"k":"dg=="},"saved_at":"2024-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"version":1,"stream":"s","positions":[{"split":2,"done":true},{"split":1}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var cp Checkpoint
		if json.Unmarshal(b, &cp) != nil || cp.Validate() != nil {
			return
		}
		out, err := json.Marshal(&cp)
		if err != nil {
			t.Fatal(err)
		}
		var back Checkpoint
		if err := json.Unmarshal(out, &back); err != nil || back.Validate() != nil {
			t.Fatalf("valid checkpoint does not round trip: %v", err)
		}
		_ = cp.Clone()
	})
}
