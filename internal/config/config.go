// Package config loads sluice's TOML configuration file.
//
// The loader is strict: unknown keys, values of the wrong type, missing
// required values and out-of-range or inconsistent values are all reported
// at once, each with the file, the line and the full key path, as a single
// *Error. Parsing, validation and the creation of resources are separate
// steps: Parse and Load only read and check the file, and ResolveSecrets
// reads the environment variables the file names.
//
// Every default lives in one place, the defaults variable in defaults.go;
// docs/config.md is generated from the struct tags in this file and that
// variable (see TestDocsInStep).
//
// A *Config is immutable after Parse returns: it may be read from any number
// of goroutines.
package config

import (
	"time"
)

// Config is a parsed and validated sluice configuration file.
//
// After Parse, every "inherit" value has been resolved: an empty consistency
// holds the effective consistency, a zero memory limit the runtime's, and so
// on, so callers never look anything up twice. Relative paths have been made
// relative to the directory of the file (Load) or left as written (Parse).
type Config struct {
	// File is the name the configuration was read from, used in messages.
	File string `toml:"-"`
	// Dir is the directory relative paths were resolved against; "" when
	// the configuration came from Parse (paths are left as written).
	Dir string `toml:"-"`

	Cassandra  Cassandra  `toml:"cassandra" doc:"Connection to the Cassandra cluster, shared by every stream and by the cassandra sinks and checkpoint store."`
	Runtime    Runtime    `toml:"runtime" doc:"The WebAssembly runtime (wazero) and process-wide settings."`
	Admin      Admin      `toml:"admin" doc:"The optional admin HTTP server: Prometheus metrics and plugin reload."`
	Checkpoint Checkpoint `toml:"checkpoint" doc:"Where and how often stream positions are saved, so a restarted run resumes instead of starting over."`
	Streams    []Stream   `toml:"stream" doc:"One [[stream]] table per stream: a source query, a chain of plugins and the sinks that receive the output." required:"true"`

	lines map[string]int // raw key path → line, for messages after Parse
}

// Cassandra is the [cassandra] table.
type Cassandra struct {
	Hosts           []string      `toml:"hosts" doc:"Contact points, \"host\" or \"host:port\" (port 9042 when omitted); at least one."`
	Keyspace        string        `toml:"keyspace" doc:"Default keyspace for sources, cassandra sinks and unqualified names; optional."`
	HostLookup      bool          `toml:"host_lookup" doc:"Discover the cluster's other nodes from system.peers and connect to them; false = use only the hosts listed (behind a proxy, NAT or port mapping, where the nodes' own addresses are unreachable)."`
	LocalDC         string        `toml:"local_dc" doc:"Datacenter whose nodes are preferred (DC-aware, token-aware routing); \"\" = token-aware round robin over all nodes."`
	Consistency     Consistency   `toml:"consistency" doc:"Default consistency level for reads and writes: ANY, ONE, TWO, THREE, QUORUM, ALL, LOCAL_QUORUM, EACH_QUORUM, LOCAL_ONE, SERIAL, LOCAL_SERIAL."`
	ProtocolVersion int           `toml:"protocol_version" doc:"Native protocol version; 0 = negotiate the highest both sides support." min:"0" max:"5"`
	ConnectTimeout  time.Duration `toml:"connect_timeout" doc:"Timeout to establish a connection." min:"1ms"`
	Timeout         time.Duration `toml:"timeout" doc:"Timeout of one request (one page, one write)." min:"1ms"`
	Username        string        `toml:"username" doc:"User for PasswordAuthenticator; requires password_env."`
	PasswordEnv     string        `toml:"password_env" doc:"Name of the environment variable holding the password (the password itself never appears in the file). Requires username."`
	TLS             TLS           `toml:"tls" doc:"Client TLS to the cluster."`
}

// TLS is the [cassandra.tls] table.
type TLS struct {
	Enabled            bool   `toml:"enabled" doc:"Connect with TLS."`
	CAFile             string `toml:"ca_file" doc:"PEM file of the CAs that sign the nodes' certificates; \"\" = the system pool." path:"true"`
	CertFile           string `toml:"cert_file" doc:"PEM client certificate (with key_file) for mutual TLS." path:"true"`
	KeyFile            string `toml:"key_file" doc:"PEM private key of cert_file." path:"true"`
	ServerName         string `toml:"server_name" doc:"Name to verify the nodes' certificates against; \"\" = the host being dialled."`
	InsecureSkipVerify bool   `toml:"insecure_skip_verify" doc:"Do not verify the nodes' certificates (testing only)."`
}

// Runtime is the [runtime] table.
type Runtime struct {
	CacheDir             string        `toml:"cache_dir" doc:"Directory of wazero's compilation cache; \"\" = in memory only (compile on every start)." path:"true"`
	MemoryLimit          ByteSize      `toml:"memory_limit" doc:"Default linear-memory limit of one plugin instance; a multiple of 64KiB, at most 4GiB." min:"64KiB" max:"4GiB"`
	PageTimeout          time.Duration `toml:"page_timeout" doc:"Default time limit of one plugin call (one page)." min:"1ms"`
	MaxResultSize        ByteSize      `toml:"max_result_size" doc:"Largest result a plugin may return for one page." min:"1KiB" max:"1GiB"`
	MaxConcurrentStreams int           `toml:"max_concurrent_streams" doc:"Streams that run at the same time; the others wait for a slot." min:"1" max:"1024"`
	LogFormat            string        `toml:"log_format" doc:"Format of sluice's own log on stderr." enum:"text,json"`
	LogLevel             string        `toml:"log_level" doc:"Lowest level logged." enum:"debug,info,warn,error"`
	Progress             string        `toml:"progress" doc:"Progress bars on stderr: auto = when stderr is a terminal." enum:"auto,on,off"`
}

// Admin is the [admin] table.
type Admin struct {
	Listen   string `toml:"listen" doc:"Address of the admin HTTP server (GET /metrics, POST /reload); \"\" = no admin server."`
	TokenEnv string `toml:"token_env" doc:"Name of the environment variable holding the bearer token required by mutating endpoints; \"\" = mutating endpoints are disabled."`
}

// Checkpoint is the [checkpoint] table.
type Checkpoint struct {
	Store      string        `toml:"store" doc:"Checkpoint store: file (one JSON file per stream in dir), cassandra (a table in keyspace), none (no checkpoints: every run starts over)." enum:"file,cassandra,none"`
	Dir        string        `toml:"dir" doc:"Directory of the file store." path:"true"`
	Keyspace   string        `toml:"keyspace" doc:"Keyspace of the cassandra store (must exist)."`
	Table      string        `toml:"table" doc:"Table of the cassandra store (created if missing)."`
	Interval   time.Duration `toml:"interval" doc:"Save a checkpoint at least this often; 0 = only by every_pages." min:"0s"`
	EveryPages int           `toml:"every_pages" doc:"Also save a checkpoint every N pages; 0 = only by interval." min:"0"`
	LeaseTTL   time.Duration `toml:"lease_ttl" doc:"With store = \"cassandra\": each run holds a lease on its stream and shard (a lightweight transaction in table sluice_leases, renewed every lease_ttl/4; at least 5s), so two processes never run the same shard; a holder that cannot renew stops before its next page. 0 = no lease." min:"0s"`
	LeaseWait  time.Duration `toml:"lease_wait" doc:"How long a run waits for a lease another process holds before it exits with an error naming the holder; 0 = exit at once. Longer than lease_ttl, a process restarted after a crash takes over its own dead predecessor's lease once it expires; a process that waited and finds the shard completed by the holder exits 0 without doing anything." min:"0s"`
}

// Stream is one [[stream]] table.
type Stream struct {
	Name    string   `toml:"name" doc:"Unique name of the stream: letters, digits, '_', '-', '.'; used in checkpoints, metrics and logs." required:"true"`
	Shard   Shard    `toml:"shard" doc:"\"i/N\": read only the i-th (0-based) of N equal slices of the token ring, so N processes can share a table; \"auto/N\": the index i from JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job); \"\" = the whole ring."`
	OnError string   `toml:"on_error" doc:"What a failure of this stream does: stop_all stops every stream, stop_stream stops only this one (the others keep running; the exit status is still non-zero)." enum:"stop_all,stop_stream"`
	Source  Source   `toml:"source" doc:"What to read." required:"true"`
	Plugins []Plugin `toml:"plugin" doc:"The plugin chain, in order: the default output of each plugin feeds the next. May be empty (rows go straight to the sinks)."`
	Sinks   []Sink   `toml:"sink" doc:"Where output goes. When no [[stream.sink]] is given, one stdout JSONL sink receives the default output."`
	Line    int      `toml:"-"` // line of the [[stream]] header
}

// Source is the [stream.source] table. It is either a table scan
// (keyspace, table, columns, where), which can be split by token ranges, or
// a single CQL query (cql, values), which cannot.
type Source struct {
	Mode            string        `toml:"mode" doc:"scan: read the table (or run the query) once, then the stream ends; follow: read a time-bucketed table continuously, as configured in [stream.source.follow] (docs/follow.md)." enum:"scan,follow"`
	Follow          Follow        `toml:"follow" doc:"Follow mode (mode = \"follow\"): how the table is bucketed by time, where to start, the lateness window and the poll interval. See docs/follow.md."`
	Keyspace        string        `toml:"keyspace" doc:"Keyspace of table; \"\" = cassandra.keyspace."`
	Table           string        `toml:"table" doc:"Table to scan (table mode). Exactly one of table and cql is required."`
	Columns         []string      `toml:"columns" doc:"Columns to read, in this order; [] = every column (SELECT *)."`
	Where           string        `toml:"where" doc:"Extra CQL condition ANDed to the token-range restriction of the scan (table mode), e.g. \"status = 'active'\"."`
	AllowFiltering  bool          `toml:"allow_filtering" doc:"Append ALLOW FILTERING to the scan (table mode), as Cassandra requires when where restricts columns that are not part of the primary key."`
	CQL             string        `toml:"cql" doc:"A complete SELECT statement (query mode) with ? markers bound from values; cannot be split or sharded."`
	Values          []any         `toml:"values" doc:"Values bound to the ? markers of cql, in order (TOML strings, integers, floats, booleans, datetimes, arrays)."`
	PageSize        int           `toml:"page_size" doc:"Rows per page (per plugin call)." min:"1" max:"100000"`
	Consistency     Consistency   `toml:"consistency" doc:"Read consistency; \"\" = cassandra.consistency."`
	Prefetch        int           `toml:"prefetch" doc:"Pages fetched ahead of the plugins, per split (1 = the next page is fetched while one is processed)." min:"1" max:"64"`
	Splits          int           `toml:"splits" doc:"Token-range splits of the scan; 0 = auto: 1 when concurrency is 1, else 4 × concurrency. Query mode: 0 or 1." min:"0" max:"65536"`
	Concurrency     int           `toml:"concurrency" doc:"Splits fetched at the same time (at most splits)." min:"1" max:"256"`
	RateLimitRows   float64       `toml:"rate_limit_rows" doc:"Most rows per second read by this stream; 0 = unlimited." min:"0"`
	RateLimitPages  float64       `toml:"rate_limit_pages" doc:"Most pages per second read by this stream; 0 = unlimited." min:"0"`
	PageTimeout     time.Duration `toml:"page_timeout" doc:"Time limit of one page fetch (one request attempt)." min:"1ms"`
	Retries         int           `toml:"retries" doc:"Attempts after the first for a failed page fetch (timeouts, unavailable, overloaded)." min:"0" max:"100"`
	RetryBackoff    time.Duration `toml:"retry_backoff" doc:"First wait before a retry; doubled on every attempt, with jitter." min:"1ms"`
	RetryBackoffMax time.Duration `toml:"retry_backoff_max" doc:"Longest wait between retries." min:"1ms"`
}

// Plugin is one [[stream.plugin]] table.
type Plugin struct {
	Name        string         `toml:"name" doc:"Name of the plugin in this stream (unique within the stream); \"\" = the file name of path without .wasm."`
	Path        string         `toml:"path" doc:"The .wasm module." required:"true" path:"true"`
	SHA256      string         `toml:"sha256" doc:"When set, the SHA-256 (hex) the module must have; loading (and reloading) a different module fails."`
	MemoryLimit ByteSize       `toml:"memory_limit" doc:"Linear-memory limit of this plugin; \"\" or 0 = runtime.memory_limit." min:"0" max:"4GiB"`
	PageTimeout time.Duration  `toml:"page_timeout" doc:"Time limit of one call; \"0s\" or \"\" = runtime.page_timeout." min:"0s"`
	Config      map[string]any `toml:"config" doc:"Free-form table handed to the plugin at init, flattened to key/value strings (see abi/ABI.md, \"SLC1\")."`
	Line        int            `toml:"-"` // line of the [[stream.plugin]] header
	ConfigLine  int            `toml:"-"` // line of the config table (0 when absent)
}

// Sink is one [[stream.sink]] table.
type Sink struct {
	Name        string      `toml:"name" doc:"Name of the sink in this stream (unique within the stream); \"\" = the type."`
	Type        string      `toml:"type" doc:"stdout: JSONL to standard output; file: JSONL or CSV file, exactly once across restarts; cassandra: INSERT into a table; kafka: records in Kafka topics, exactly once across restarts with Kafka transactions; parquet: Parquet files in a directory, each published once checkpointed." enum:"stdout,file,cassandra,kafka,parquet"`
	Outputs     []string    `toml:"outputs" doc:"Plugin outputs this sink receives; \"\" is the chain's default output. An output may feed several sinks; the default output must feed at least one sink of the stream."`
	Format      string      `toml:"format" doc:"Row format of stdout and file sinks (not cassandra; \"\" there after loading)." enum:"jsonl,csv"`
	Path        string      `toml:"path" doc:"File of a file sink, directory of a parquet sink (required for both); parent directories are created. {shard} is replaced by the stream's shard, \"i-of-N\" (\"0-of-1\" unsharded), so the shards of an Indexed Job can share one config and one volume." path:"true"`
	Keyspace    string      `toml:"keyspace" doc:"Keyspace of a cassandra sink; \"\" = cassandra.keyspace."`
	Table       string      `toml:"table" doc:"Table of a cassandra sink (required for type = \"cassandra\"; must exist with columns named like the output's)."`
	Concurrency int         `toml:"concurrency" doc:"In-flight INSERTs of a cassandra sink." min:"1" max:"1024"`
	Consistency Consistency `toml:"consistency" doc:"Write consistency of a cassandra sink; \"\" = cassandra.consistency."`

	// Kafka sink (type = "kafka"), see docs/sinks.md.
	Brokers            []string       `toml:"brokers" doc:"Seed brokers (host:port) of a kafka sink."`
	Topic              string         `toml:"topic" doc:"Topic of a kafka sink's records (every output not named in topics)."`
	Topics             map[string]any `toml:"topics" doc:"Per-output topics of a kafka sink: output name = topic name (strings)."`
	Key                []string       `toml:"key" doc:"Columns whose values make a kafka record's key (JSON array of the values; partitioning hashes it); empty = the source table's partition key."`
	Value              string         `toml:"value" doc:"Kafka record value: json (one JSON object per row, as a jsonl line without newline) or raw (the row's ABI cell encoding, see abi/ABI.md)." enum:"json,raw"`
	Headers            map[string]any `toml:"headers" doc:"Static headers of every kafka record: name = value (strings)."`
	Compression        string         `toml:"compression" doc:"Compression of kafka batches (\"\" = lz4) or parquet pages (\"\" = snappy; lz4 is LZ4_RAW)." enum:",none,gzip,snappy,lz4,zstd"`
	Acks               string         `toml:"acks" doc:"Kafka acks: all, leader or none; exactly_once needs all." enum:"all,leader,none"`
	ExactlyOnce        bool           `toml:"exactly_once" doc:"Write kafka records in transactions committed with each checkpoint; false = at-least-once (a resumed run may write records again)."`
	TransactionalID    string         `toml:"transactional_id" doc:"Kafka transactional.id of an exactly_once sink; \"\" = sluice.<stream>.<sink>. Must be stable across runs and unique across running streams."`
	CheckpointTopic    string         `toml:"checkpoint_topic" doc:"Compacted topic where an exactly_once kafka sink commits each checkpoint inside its transaction (created when missing)."`
	TransactionTimeout time.Duration  `toml:"transaction_timeout" doc:"Kafka transaction timeout; longer than checkpoint.interval, at most the broker's transaction.max.timeout.ms." min:"1s"`
	MaxBufferedBytes   ByteSize       `toml:"max_buffered_bytes" doc:"Bytes of kafka records buffered before Write blocks (backpressure)." min:"1KiB"`
	TLS                bool           `toml:"tls" doc:"Connect to the kafka brokers with TLS."`
	TLSCAFile          string         `toml:"tls_ca_file" doc:"PEM CA bundle that verifies the brokers; \"\" = the system roots." path:"true"`
	TLSCertFile        string         `toml:"tls_cert_file" doc:"PEM client certificate (mutual TLS)." path:"true"`
	TLSKeyFile         string         `toml:"tls_key_file" doc:"PEM key of tls_cert_file." path:"true"`
	SASLMechanism      string         `toml:"sasl_mechanism" doc:"Kafka SASL mechanism; \"\" = none." enum:",plain,scram-sha-256,scram-sha-512"`
	SASLUser           string         `toml:"sasl_user" doc:"SASL user name."`
	SASLPasswordEnv    string         `toml:"sasl_password_env" doc:"Environment variable holding the SASL password (the file never holds it)."`

	// Parquet sink (type = "parquet"), see docs/sinks.md.
	FileSize     ByteSize `toml:"file_size" doc:"A parquet file is closed once about this big (and at every checkpoint)." min:"1KiB"`
	RowGroupSize ByteSize `toml:"row_group_size" doc:"A parquet row group ends once about this many bytes of cells are buffered (held in memory until then)." min:"1KiB"`
	DecimalScale int      `toml:"decimal_scale" doc:"Scale of parquet DECIMAL(38, scale) columns for CQL decimal; a value with more fractional digits stops the stream rather than round." min:"0" max:"38"`

	Line int `toml:"-"` // line of the [[stream.sink]] header (0 for the implicit default sink)
}

// Line returns the line where the key with the given raw path is defined
// (e.g. "stream[0].source.page_size"), or of its closest enclosing table,
// or 0 when nothing of it appears in the file.
func (c *Config) Line(path string) int {
	return lookupLine(c.lines, path)
}
