package wide

import (
	"reflect"
	"strings"
	"testing"
)

func TestMakeDeterministic(t *testing.T) {
	for _, i := range []int64{0, 1, 3, 7, 99, 100, 123_456, 4_999_999} {
		a, b := Make(i), Make(i)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("Make(%d) differs between calls", i)
		}
		if a.Seq != i || a.Bucket != int(i%100) || len(a.Payload) != 64 {
			t.Errorf("Make(%d): seq %d bucket %d payload %d bytes", i, a.Seq, a.Bucket, len(a.Payload))
		}
		if (a.Email == nil) != (i%10 == 3) || (a.Amount == nil) != (i%7 == 0) || (a.Tags == nil) != (i%4 == 0) {
			t.Errorf("Make(%d): NULL pattern wrong", i)
		}
		if a.ID[6]>>4 != 4 || a.ID[8]>>6 != 2 {
			t.Errorf("Make(%d): id %s is not an RFC 4122 version 4 uuid", i, a.ID)
		}
		if n := len(a.Values()); n != len(strings.Split(Columns, ",")) {
			t.Errorf("Values has %d values for %d columns", n, len(strings.Split(Columns, ",")))
		}
	}
}

func TestIDsDistinct(t *testing.T) {
	seen := map[[16]byte]int64{}
	for i := int64(0); i < 50_000; i++ {
		id := Make(i).ID
		if j, ok := seen[id]; ok {
			t.Fatalf("rows %d and %d share id %s", j, i, id)
		}
		seen[id] = i
	}
}

func TestCheckTable(t *testing.T) {
	for name, ok := range map[string]bool{"wide": true, "wide_big": true, "w1": true, "": false, "Wide": false, "1w": false, "a;drop": false, strings.Repeat("a", 49): false} {
		if err := CheckTable(name); (err == nil) != ok {
			t.Errorf("CheckTable(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}
