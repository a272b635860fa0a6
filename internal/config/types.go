package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// valueDecoder is implemented by the config's own value types. decodeValue
// sets the receiver from a decoded TOML value and returns a message (no key
// path, no line) when the value is not acceptable.
type valueDecoder interface {
	decodeValue(v any) (msg string)
}

// ByteSize is a size in bytes. In TOML it is a string with a unit, "64MiB",
// "512KiB", "1GB" (binary units KiB, MiB, GiB, TiB; decimal KB, MB, GB, TB;
// B for bytes), or a plain integer number of bytes.
type ByteSize int64

// Binary and decimal size units.
const (
	KiB ByteSize = 1 << 10
	MiB ByteSize = 1 << 20
	GiB ByteSize = 1 << 30
	TiB ByteSize = 1 << 40
)

// WasmPageSize is the size of a WebAssembly memory page.
const WasmPageSize ByteSize = 64 * KiB

var sizeUnits = []struct {
	name string
	mult ByteSize
}{
	{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
	{"B", 1},
}

// ParseByteSize parses "64MiB", "1 GB", "4096B" and the like.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	if num == "" || unit == "" {
		return 0, fmt.Errorf("invalid size %q: want an integer and a unit, e.g. \"64MiB\" (units B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: %v", s, err)
	}
	for _, u := range sizeUnits {
		if unit == u.name {
			if n > math.MaxInt64/int64(u.mult) {
				return 0, fmt.Errorf("invalid size %q: too large", s)
			}
			return ByteSize(n) * u.mult, nil
		}
	}
	return 0, fmt.Errorf("invalid size %q: unknown unit %q (units B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)", s, unit)
}

// String renders the size with the largest binary unit that divides it
// exactly ("64MiB"), or in bytes ("1000B").
func (b ByteSize) String() string {
	if b == 0 {
		return "0B"
	}
	for _, u := range []struct {
		name string
		mult ByteSize
	}{{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}} {
		if b%u.mult == 0 {
			return strconv.FormatInt(int64(b/u.mult), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// WasmPages returns the size in 64KiB WebAssembly pages, rounded up.
func (b ByteSize) WasmPages() uint32 {
	return uint32((b + WasmPageSize - 1) / WasmPageSize)
}

func (b *ByteSize) decodeValue(v any) string {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return fmt.Sprintf("must not be negative, got %d", x)
		}
		*b = ByteSize(x)
	case string:
		if x == "" {
			*b = 0
			return ""
		}
		n, err := ParseByteSize(x)
		if err != nil {
			return err.Error()
		}
		*b = n
	default:
		return "must be a size such as \"64MiB\" or an integer number of bytes, got " + describe(v)
	}
	return ""
}

// Consistency is a Cassandra consistency level name, stored upper case
// ("LOCAL_ONE"). After Parse it is never empty.
type Consistency string

var consistencyNames = []string{"ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE", "SERIAL", "LOCAL_SERIAL"}

// Gocql returns the driver's value of the level. It must only be called on a
// validated Consistency (any value from a parsed Config is); it panics on an
// unknown name.
func (c Consistency) Gocql() gocql.Consistency {
	return gocql.ParseConsistency(string(c))
}

func (c *Consistency) decodeValue(v any) string {
	s, ok := v.(string)
	if !ok {
		return "must be a consistency level name (a string), got " + describe(v)
	}
	if s == "" {
		*c = ""
		return ""
	}
	u := strings.ToUpper(s)
	for _, n := range consistencyNames {
		if u == n {
			*c = Consistency(u)
			return ""
		}
	}
	return fmt.Sprintf("unknown consistency level %q (want one of %s)", s, strings.Join(consistencyNames, ", "))
}

// Shard selects one of Count equal slices of the token ring. In TOML it is
// "i/N" with 0 <= i < N; the zero Shard (Count 0, written "") is the whole
// ring. "auto/N" (Auto) takes the index from the environment when the
// process starts: JOB_COMPLETION_INDEX, which a Kubernetes Indexed Job
// sets in each of its pods (see Resolve).
type Shard struct {
	Index, Count int
	Auto         bool // index from JOB_COMPLETION_INDEX; Index is 0 until Resolve
}

// IndexEnv is the environment variable an "auto/N" shard takes its index
// from: Kubernetes sets it in every pod of an Indexed Job.
const IndexEnv = "JOB_COMPLETION_INDEX"

// IsZero reports whether s is the whole ring.
func (s Shard) IsZero() bool { return s.Count == 0 }

// String renders "i/N", "auto/N", or "" for the whole ring.
func (s Shard) String() string {
	if s.Count == 0 {
		return ""
	}
	if s.Auto {
		return "auto/" + strconv.Itoa(s.Count)
	}
	return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count)
}

// ParseShard parses "i/N" or "auto/N".
func ParseShard(str string) (Shard, error) {
	if str == "" {
		return Shard{}, nil
	}
	is, ns, ok := strings.Cut(str, "/")
	auto := strings.TrimSpace(is) == "auto"
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	if auto {
		i, err1 = 0, nil
	}
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("invalid shard %q: want \"i/N\", e.g. \"0/4\", or \"auto/N\" (the index from %s)", str, IndexEnv)
	}
	if n < 1 || n > 65536 {
		return Shard{}, fmt.Errorf("invalid shard %q: N must be between 1 and 65536", str)
	}
	if i < 0 || i >= n {
		return Shard{}, fmt.Errorf("invalid shard %q: the index is 0-based and must be between 0 and %d", str, n-1)
	}
	return Shard{Index: i, Count: n, Auto: auto}, nil
}

// Resolve returns the shard with its index: s itself unless s is
// "auto/N", whose index is the value of JOB_COMPLETION_INDEX as getenv
// returns it. An unset, malformed or out-of-range index is an error that
// says so: a pod must never guess its shard.
func (s Shard) Resolve(getenv func(string) string) (Shard, error) {
	if !s.Auto {
		return s, nil
	}
	v := strings.TrimSpace(getenv(IndexEnv))
	if v == "" {
		return Shard{}, fmt.Errorf("shard %q takes its index from %s, which is not set (Kubernetes sets it in the pods of a Job with completionMode: Indexed; elsewhere set it, or give the shard as \"i/%d\")", s, IndexEnv, s.Count)
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return Shard{}, fmt.Errorf("shard %q: %s=%q is not an integer", s, IndexEnv, v)
	}
	if i < 0 || i >= s.Count {
		return Shard{}, fmt.Errorf("shard %q: %s=%d is outside 0..%d: the Job's completions must equal the shard count %d", s, IndexEnv, i, s.Count-1, s.Count)
	}
	return Shard{Index: i, Count: s.Count}, nil
}

// ShardPlaceholder in a file sink's path is replaced by the stream's
// shard, "i-of-N" ("0-of-1" unsharded), when the shard is resolved: the
// processes of an Indexed Job share one config and, on a shared volume,
// each writes its own files.
const ShardPlaceholder = "{shard}"

// ResolveShards resolves every stream's "auto/N" shard with getenv (see
// Shard.Resolve) and replaces ShardPlaceholder in its file sinks' paths.
// Call it once, after any override of the shards.
func (c *Config) ResolveShards(getenv func(string) string) error {
	for i := range c.Streams {
		s := &c.Streams[i]
		sh, err := s.Shard.Resolve(getenv)
		if err != nil {
			return fmt.Errorf("stream %q: %w", s.Name, err)
		}
		s.Shard = sh
		tag := fmt.Sprintf("%d-of-%d", sh.Index, max(1, sh.Count))
		for j := range s.Sinks {
			s.Sinks[j].Path = strings.ReplaceAll(s.Sinks[j].Path, ShardPlaceholder, tag)
		}
	}
	return nil
}

func (s *Shard) decodeValue(v any) string {
	str, ok := v.(string)
	if !ok {
		return "must be a string \"i/N\", got " + describe(v)
	}
	sh, err := ParseShard(str)
	if err != nil {
		return err.Error()
	}
	*s = sh
	return ""
}

// describe renders a decoded TOML value for a message: its TOML type and,
// for scalars, the value.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 60 {
			x = x[:57] + "..."
		}
		return "string " + strconv.Quote(x)
	case int64:
		return "integer " + strconv.FormatInt(x, 10)
	case float64:
		f := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.ContainsAny(f, ".eEnN") {
			f += ".0"
		}
		return "float " + f
	case bool:
		return "boolean " + strconv.FormatBool(x)
	case []map[string]any:
		return "array of tables"
	case []any:
		return "array"
	case map[string]any:
		return "table"
	case nil:
		return "nothing"
	default:
		return fmt.Sprintf("datetime %v", x)
	}
}
