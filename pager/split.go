package pager

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// Murmur3 token bounds. Murmur3Partitioner maps a key to a token in
// [MinToken+1, MaxToken]: its getToken normalizes the one hash equal to
// Long.MIN_VALUE to Long.MAX_VALUE (Murmur3Partitioner.normalize), so
// token(pk) is never MinToken. MinToken is the ring's minimum token: the
// position before every key. Hence the whole ring, wrap-around included, is
// exactly the linear range (MinToken, MaxToken].
const (
	MinToken int64 = math.MinInt64
	MaxToken int64 = math.MaxInt64
)

// Split is one token range of a table, paged by one owner goroutine. It
// selects the rows with Lo < token(pk) <= Hi, or every row when Whole is
// set (a single-split plan, CQL mode).
//
// Splits never wrap: a split always has Lo < Hi (the wrapping vnode range
// (t_last, t_first] is cut in two at MinToken, see SplitRing). Cassandra
// reads `token(pk) <= MinToken` as "up to the end of the ring", so a split
// with Hi == MinToken would select the wrong rows: SplitRing never makes one.
type Split struct {
	Index int   // position in the plan, 0-based; the split number in pages, metrics and errors
	Lo    int64 // exclusive lower token bound
	Hi    int64 // inclusive upper token bound
	Whole bool  // no token restriction: the whole table (Lo and Hi are ignored)
}

// String formats the split as "split 3 (-9223372036854775808, -4611686018427387904]"
// or "split 0 (whole table)".
func (s Split) String() string {
	if s.Whole {
		return fmt.Sprintf("split %d (whole table)", s.Index)
	}
	return fmt.Sprintf("split %d (%d, %d]", s.Index, s.Lo, s.Hi)
}

// Range formats only the token range: "(lo, hi]" or "whole table".
func (s Split) Range() string {
	if s.Whole {
		return "whole table"
	}
	return fmt.Sprintf("(%d, %d]", s.Lo, s.Hi)
}

// size returns the number of tokens in (Lo, Hi], 2^64-1 at most (the whole
// ring). It is only meaningful for a non-whole split with Lo < Hi.
func (s Split) size() uint64 { return uint64(s.Hi) - uint64(s.Lo) }

// WholeSplit returns the plan of a single split covering the whole table.
func WholeSplit() []Split { return []Split{{Index: 0, Whole: true}} }

// RingRanges turns the tokens of a Murmur3 ring (the vnode tokens of every
// node, in any order, duplicates allowed) into the ring's ranges as
// non-wrapping, sorted, contiguous splits whose union is exactly
// (MinToken, MaxToken], i.e. every row of the table:
//
//	(MinToken, t1], (t1, t2], ..., (t(n-1), tn], (tn, MaxToken]
//
// The last vnode range (tn, t1] wraps around the ring; it is the union of
// the first and the last range above. Empty ranges (t1 == MinToken, tn ==
// MaxToken) are dropped. With no tokens the result is the whole ring as one
// range.
func RingRanges(tokens []int64) []Split {
	ts := slices.Clone(tokens)
	slices.Sort(ts)
	ts = slices.Compact(ts)
	out := make([]Split, 0, len(ts)+1)
	lo := MinToken
	for _, t := range ts {
		if t > lo {
			out = append(out, Split{Lo: lo, Hi: t})
			lo = t
		}
	}
	if lo < MaxToken {
		out = append(out, Split{Lo: lo, Hi: MaxToken})
	}
	for i := range out {
		out[i].Index = i
	}
	return out
}

// SplitRing computes the deterministic split plan of a table: n splits
// (n >= 1) derived from the ring's vnode tokens, in token order, with
// indexes 0..len-1. The plan depends only on the token set and n, so every
// process that sees the same ring computes the same plan (what sharding
// relies on).
//
// The ranges come from RingRanges. Like dsbulk and the Spark connector,
// when n is at least the number of ranges each range is cut into
// max(1, round(n × range size / ring size)) equal parts, so splits follow
// vnode boundaries (one replica set per split) and have about the same
// size; the plan then has about n splits, at least one per range. When n is
// smaller than the number of ranges, adjacent ranges are coalesced into at
// most n contiguous groups of about equal token count (the cut points are
// the vnode tokens nearest to i × ring/n).
//
// The union of the splits is exactly (MinToken, MaxToken]: every token
// belongs to exactly one split.
func SplitRing(tokens []int64, n int) []Split {
	if n < 1 {
		n = 1
	}
	ranges := RingRanges(tokens)
	var out []Split
	if n >= len(ranges) {
		for _, r := range ranges {
			out = appendPieces(out, r, pieces(r.size(), uint64(n)))
		}
	} else {
		out = coalesce(ranges, n)
	}
	for i := range out {
		out[i].Index = i
	}
	return out
}

// pieces returns max(1, round(size × n / 2^64)).
func pieces(size, n uint64) uint64 {
	hi, lo := bits.Mul64(size, n)
	if lo >= 1<<63 {
		hi++
	}
	return max(hi, 1)
}

// appendPieces cuts r into k parts of equal token count (the first parts
// one token larger when k does not divide the size) and appends them.
func appendPieces(out []Split, r Split, k uint64) []Split {
	size := r.size()
	if k > size {
		k = size
	}
	lo := r.Lo
	for i := uint64(1); i <= k; i++ {
		hi := r.Hi
		if i < k {
			h, l := bits.Mul64(size, i)
			q, _ := bits.Div64(h, l, k) // h < k since i < k
			hi = int64(uint64(r.Lo) + q)
		}
		if hi > lo {
			out = append(out, Split{Lo: lo, Hi: hi})
			lo = hi
		}
	}
	return out
}

// coalesce groups the contiguous ranges into at most n splits, cutting at
// the range boundaries nearest to the ideal cut points MinToken + i×ring/n.
func coalesce(ranges []Split, n int) []Split {
	const ring = math.MaxUint64 // tokens in (MinToken, MaxToken]
	// Candidate cut points: the inner boundaries (Hi of every range but the last).
	cuts := make([]int64, 0, len(ranges)-1)
	for _, r := range ranges[:len(ranges)-1] {
		cuts = append(cuts, r.Hi)
	}
	var chosen []int64
	j := 0 // next candidate index usable (keeps cuts strictly increasing)
	for i := 1; i < n && j < len(cuts); i++ {
		h, l := bits.Mul64(ring, uint64(i))
		q, _ := bits.Div64(h, l, uint64(n))
		ideal := int64(1<<63 + q) // MinToken + q, as two's complement
		// Nearest candidate at or after j.
		k, _ := slices.BinarySearch(cuts[j:], ideal)
		k += j
		best := k
		if k == len(cuts) || (k > j && dist(cuts[k-1], ideal) <= dist(cuts[k], ideal)) {
			best = k - 1
		}
		if best < j {
			best = j
		}
		chosen = append(chosen, cuts[best])
		j = best + 1
	}
	out := make([]Split, 0, len(chosen)+1)
	lo := MinToken
	for _, c := range chosen {
		out = append(out, Split{Lo: lo, Hi: c})
		lo = c
	}
	return append(out, Split{Lo: lo, Hi: MaxToken})
}

func dist(a, b int64) uint64 {
	if a > b {
		return uint64(a) - uint64(b)
	}
	return uint64(b) - uint64(a)
}

// ValidatePlan checks that splits form a valid plan: indexes 0..len-1 in
// order, and either one Whole split or non-whole splits with Lo < Hi,
// Hi != MinToken, sorted and contiguous from MinToken to MaxToken (so
// their union is exactly the ring and no two overlap).
func ValidatePlan(splits []Split) error {
	if len(splits) == 0 {
		return errors.New("pager: plan has no splits")
	}
	if splits[0].Whole {
		if len(splits) != 1 {
			return fmt.Errorf("pager: plan has a whole-table split and %d others", len(splits)-1)
		}
		if splits[0].Index != 0 {
			return fmt.Errorf("pager: whole-table split has index %d, want 0", splits[0].Index)
		}
		return nil
	}
	prev := MinToken
	for i, s := range splits {
		switch {
		case s.Index != i:
			return fmt.Errorf("pager: plan split at position %d has index %d", i, s.Index)
		case s.Whole:
			return fmt.Errorf("pager: plan mixes a whole-table split (index %d) with token ranges", i)
		case s.Lo != prev:
			return fmt.Errorf("pager: %s does not start where the previous split ends (%d): the plan must cover the ring contiguously", s, prev)
		case s.Lo >= s.Hi:
			return fmt.Errorf("pager: %s is empty or wraps: splits need lo < hi", s)
		}
		prev = s.Hi
	}
	if prev != MaxToken {
		return fmt.Errorf("pager: plan ends at token %d, not at the end of the ring %d", prev, MaxToken)
	}
	return nil
}

// Shard selects this process's share of a plan when N processes divide one
// stream between them with no coordinator: process Index of Count takes
// the splits whose index % Count == Index. Every process computes the same
// plan (SplitRing is deterministic), so together the N processes page every
// split exactly once. The zero value means "not sharded" (0/1).
type Shard struct {
	Index int // 0-based
	Count int // >= 1; 0 is read as 1
}

// ParseShard parses "i/N" (0 <= i < N), e.g. "2/8".
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Shard{}, fmt.Errorf("pager: shard %q: want \"i/N\" with 0 <= i < N, e.g. \"0/4\"", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("pager: shard %q: i and N must be decimal integers (want \"i/N\", e.g. \"0/4\")", s)
	}
	sh := Shard{Index: i, Count: n}
	if n < 1 {
		return Shard{}, fmt.Errorf("pager: shard %q: N must be >= 1 (want \"i/N\" with 0 <= i < N)", s)
	}
	if err := sh.Validate(); err != nil {
		return Shard{}, err
	}
	return sh, nil
}

// Validate checks 0 <= Index < Count (Count 0 counts as 1).
func (s Shard) Validate() error {
	n := s.count()
	if n < 1 || s.Index < 0 || s.Index >= n {
		return fmt.Errorf("pager: shard %d/%d: need 0 <= i < N and N >= 1", s.Index, s.Count)
	}
	return nil
}

func (s Shard) count() int {
	if s.Count == 0 {
		return 1
	}
	return s.Count
}

// Owns reports whether the split with this index belongs to the shard.
func (s Shard) Owns(split int) bool { return split%s.count() == s.Index }

// String formats the shard as "i/N".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.count()) }

// Equal reports whether both shards select the same splits (0/0 == 0/1).
func (s Shard) Equal(o Shard) bool { return s.Index == o.Index && s.count() == o.count() }
