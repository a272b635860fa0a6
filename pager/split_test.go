package pager

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// covered sums the token counts of a plan: a valid plan covers the whole
// ring (MinToken, MaxToken], 2^64-1 tokens.
func covered(splits []Split) (sum uint64, overflow bool) {
	var carry uint64
	for _, s := range splits {
		sum, carry = bits.Add64(sum, s.size(), 0)
		if carry != 0 {
			return sum, true
		}
	}
	return sum, false
}

func TestRingRangesCoverTheRingExactly(t *testing.T) {
	for name, tokens := range map[string][]int64{
		"none":            nil,
		"one":             {0},
		"min token owned": {MinToken, 0, 100},
		"max token owned": {-5, MaxToken},
		"duplicates":      {7, 7, -3, 7, -3},
		"unsorted":        {900, -900, 0, 5},
	} {
		t.Run(name, func(t *testing.T) {
			rs := RingRanges(tokens)
			if err := ValidatePlan(rs); err != nil {
				t.Fatal(err)
			}
			if sum, of := covered(rs); of || sum != math.MaxUint64 {
				t.Fatalf("ranges cover %d tokens (overflow %v), want 2^64-1", sum, of)
			}
			for _, r := range rs {
				if r.Hi == MinToken {
					t.Fatalf("range %s ends at MinToken: Cassandra reads that as the end of the ring", r)
				}
			}
		})
	}
	// The wrapping vnode range (tn, t1] is cut at MinToken into two splits.
	rs := RingRanges([]int64{-100, 100})
	want := []Split{{0, MinToken, -100, false}, {1, -100, 100, false}, {2, 100, MaxToken, false}}
	if !slices.Equal(rs, want) {
		t.Fatalf("RingRanges = %v, want %v", rs, want)
	}
}

func TestSplitRing(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, nodes := range []int{1, 3} {
		for _, vnodes := range []int{1, 16, 256} {
			tokens := make([]int64, nodes*vnodes)
			for i := range tokens {
				tokens[i] = int64(r.Uint64())
			}
			for _, n := range []int{1, 2, 7, 16, 48, 100, 1000} {
				splits := SplitRing(tokens, n)
				if err := ValidatePlan(splits); err != nil {
					t.Fatalf("%d tokens, n=%d: %v", len(tokens), n, err)
				}
				if sum, of := covered(splits); of || sum != math.MaxUint64 {
					t.Fatalf("%d tokens, n=%d: plan covers %d tokens", len(tokens), n, sum)
				}
				ranges := len(tokens) + 1
				switch {
				case n >= ranges:
					// Every split lies inside one vnode range.
					sorted := slices.Sorted(slices.Values(tokens))
					for _, s := range splits {
						i, _ := slices.BinarySearch(sorted, s.Hi)
						if i > 0 && sorted[i-1] > s.Lo {
							t.Fatalf("n=%d: %s crosses the vnode token %d", n, s, sorted[i-1])
						}
					}
					if len(splits) < n/2 || len(splits) > n+ranges {
						t.Fatalf("n=%d, %d ranges: %d splits", n, ranges, len(splits))
					}
				default:
					if len(splits) > n || len(splits) < 1 {
						t.Fatalf("n=%d < %d ranges: %d splits, want at most n", n, ranges, len(splits))
					}
				}
				// Deterministic, whatever the order of the tokens.
				shuffled := slices.Clone(tokens)
				r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				if !slices.Equal(SplitRing(shuffled, n), splits) {
					t.Fatalf("plan depends on token order")
				}
			}
		}
	}
	// No tokens: the ring cut evenly.
	s := SplitRing(nil, 4)
	if len(s) != 4 || s[1].Lo != s[0].Hi || s[0].Lo != MinToken || s[3].Hi != MaxToken {
		t.Fatalf("SplitRing(nil, 4) = %v", s)
	}
}

func TestValidatePlanRefusesGapsOverlapsAndWraps(t *testing.T) {
	for name, splits := range map[string][]Split{
		"empty":      nil,
		"gap":        {{0, MinToken, 0, false}, {1, 5, MaxToken, false}},
		"overlap":    {{0, MinToken, 5, false}, {1, 0, MaxToken, false}},
		"wrap":       {{0, 0, MinToken, false}},
		"short":      {{0, MinToken, 0, false}},
		"index":      {{1, MinToken, MaxToken, false}},
		"mixed":      {{0, 0, 0, true}, {1, MinToken, MaxToken, false}},
		"empty part": {{0, MinToken, MinToken, false}, {1, MinToken, MaxToken, false}},
	} {
		if err := ValidatePlan(splits); err == nil {
			t.Errorf("%s: plan %v accepted", name, splits)
		}
	}
	if err := ValidatePlan(WholeSplit()); err != nil {
		t.Fatal(err)
	}
}

func TestParseShard(t *testing.T) {
	for in, want := range map[string]Shard{"0/1": {0, 1}, "2/8": {2, 8}, " 3 / 4 ": {3, 4}} {
		got, err := ParseShard(in)
		if err != nil || got != want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1", "1/1", "4/4", "-1/4", "a/b", "1/0", "1/2/3"} {
		if _, err := ParseShard(in); err == nil || !strings.Contains(err.Error(), "i/N") && !strings.Contains(err.Error(), "0 <= i < N") {
			t.Errorf("ParseShard(%q): error %v", in, err)
		}
	}
	sh := Shard{Index: 1, Count: 3}
	var got []int
	for i := 0; i < 10; i++ {
		if sh.Owns(i) {
			got = append(got, i)
		}
	}
	if !slices.Equal(got, []int{1, 4, 7}) || sh.String() != "1/3" || !(Shard{}).Owns(5) {
		t.Fatalf("Owns: %v", got)
	}
}

func TestFingerprint(t *testing.T) {
	a := Fingerprint("SELECT  a\n FROM t;", nil, WholeSplit())
	if b := Fingerprint("SELECT a FROM t", nil, WholeSplit()); a != b {
		t.Fatalf("white space changes the fingerprint: %s vs %s", a, b)
	}
	if b := Fingerprint("SELECT a FROM t", []any{1}, WholeSplit()); a == b {
		t.Fatal("bind values do not change the fingerprint")
	}
	c := Fingerprint("SELECT a FROM t", nil, SplitRing(nil, 2))
	qa, pa, _ := strings.Cut(a, ".")
	qc, pc, _ := strings.Cut(c, ".")
	if qa != qc || pa == pc {
		t.Fatalf("fingerprints %s and %s: same query part, different plan part expected", a, c)
	}
}
