package config

import (
	"maps"
	"net"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/abi"
)

var (
	// Stream, plugin and sink names end up in file names, metric labels
	// and log keys.
	namePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`)
	// Cassandra keyspace and table names (quoted or not) are \w{1,48}.
	cqlNamePattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,48}$`)
	envPattern     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	sha256Pattern  = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// validate checks what the decoder cannot see from one value alone, and
// resolves inherited values. It adds problems to d.
func (d *decoder) validate(c *Config) {
	d.validateCassandra(&c.Cassandra, loc{}.key("cassandra"))
	d.validateRuntime(&c.Runtime, loc{}.key("runtime"))
	d.validateAdmin(&c.Admin, loc{}.key("admin"))
	d.validateCheckpoint(&c.Checkpoint, loc{}.key("checkpoint"))

	streams := loc{}.key("stream")
	names := map[string]int{}
	files := map[string]loc{}
	for i := range c.Streams {
		s := &c.Streams[i]
		l := d.element(streams, i, s.Name)
		if s.Name != "" {
			if !namePattern.MatchString(s.Name) {
				d.addf(l.key("name"), "invalid name %q: use 1 to 64 letters, digits, '_', '-' or '.', not starting with '-' or '.'", s.Name)
			} else if j, dup := names[s.Name]; dup {
				d.addf(l.key("name"), "duplicate stream name %q (also stream[%d])", s.Name, j)
			} else {
				names[s.Name] = i
			}
		}
		d.validateStream(c, s, l, files)
	}
}

func (d *decoder) validateCassandra(c *Cassandra, l loc) {
	if len(c.Hosts) == 0 {
		d.addf(l.key("hosts"), "at least one host is required")
	}
	for i, h := range c.Hosts {
		if msg := checkHostPort(h, true); msg != "" {
			d.addf(l.key("hosts").index(i, ""), "%s", msg)
		}
	}
	if c.Keyspace != "" && !cqlNamePattern.MatchString(c.Keyspace) {
		d.addf(l.key("keyspace"), "invalid keyspace name %q: Cassandra names are 1 to 48 letters, digits or '_'", c.Keyspace)
	}
	if c.Consistency == "" {
		d.addf(l.key("consistency"), "must not be empty")
	}
	switch {
	case c.Username != "" && c.PasswordEnv == "":
		d.addf(l.key("username"), "username needs password_env (the name of the environment variable holding the password)")
	case c.Username == "" && c.PasswordEnv != "":
		d.addf(l.key("password_env"), "password_env needs username")
	}
	d.checkEnvName(c.PasswordEnv, l.key("password_env"))

	t, tl := &c.TLS, l.key("tls")
	if !t.Enabled {
		for _, k := range []string{"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"} {
			if d.isSet(tl.key(k)) {
				d.addf(tl.key(k), "has no effect unless enabled = true")
			}
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		if t.CertFile == "" {
			d.addf(tl.key("key_file"), "key_file needs cert_file")
		} else {
			d.addf(tl.key("cert_file"), "cert_file needs key_file")
		}
	}
}

func (d *decoder) validateRuntime(r *Runtime, l loc) {
	if r.MemoryLimit%WasmPageSize != 0 {
		d.addf(l.key("memory_limit"), "must be a multiple of 64KiB (the WebAssembly page size), got %s", r.MemoryLimit)
	}
}

func (d *decoder) validateAdmin(a *Admin, l loc) {
	if a.Listen != "" {
		if msg := checkHostPort(a.Listen, false); msg != "" {
			d.addf(l.key("listen"), "%s", msg)
		}
	} else if a.TokenEnv != "" {
		d.addf(l.key("token_env"), "has no effect without listen")
	}
	d.checkEnvName(a.TokenEnv, l.key("token_env"))
}

func (d *decoder) validateCheckpoint(c *Checkpoint, l loc) {
	switch c.Store {
	case "file":
		if c.Dir == "" {
			d.addf(l.key("dir"), "is required when store = \"file\"")
		}
		for _, k := range []string{"keyspace", "table", "lease_ttl", "lease_wait"} {
			if d.isSet(l.key(k)) {
				d.addf(l.key(k), "is only used when store = \"cassandra\"")
			}
		}
	case "cassandra":
		if !cqlNamePattern.MatchString(c.Keyspace) {
			d.addf(l.key("keyspace"), "invalid keyspace name %q: Cassandra names are 1 to 48 letters, digits or '_'", c.Keyspace)
		}
		if !cqlNamePattern.MatchString(c.Table) {
			d.addf(l.key("table"), "invalid table name %q: Cassandra names are 1 to 48 letters, digits or '_'", c.Table)
		}
		if d.isSet(l.key("dir")) {
			d.addf(l.key("dir"), "is only used when store = \"file\"")
		}
		if c.LeaseTTL > 0 && c.LeaseTTL < 5*time.Second {
			d.addf(l.key("lease_ttl"), "%s is too short: a holder stops trusting its lease 1s + lease_ttl/10 before it expires and renews it every lease_ttl/4 with a lightweight transaction (several round trips), so a shorter TTL leaves no room for a slow renewal; use at least 5s, or 0 for no lease", c.LeaseTTL)
		}
	case "none":
		for _, k := range []string{"dir", "keyspace", "table", "interval", "every_pages", "lease_ttl", "lease_wait"} {
			if d.isSet(l.key(k)) {
				d.addf(l.key(k), "has no effect when store = \"none\"")
			}
		}
		return
	}
	if c.Interval == 0 && c.EveryPages == 0 {
		d.addf(l.key("interval"), "interval and every_pages are both 0: checkpoints would never be saved (use store = \"none\" for that)")
	}
}

func (d *decoder) validateStream(c *Config, s *Stream, l loc, files map[string]loc) {
	if !s.Shard.IsZero() && s.Source.CQL != "" {
		d.addf(l.key("shard"), "sharding needs a table scan (table mode), not a cql query")
	}
	if !s.Shard.IsZero() && s.Source.Mode == "follow" {
		d.addf(l.key("shard"), "follow mode cannot be sharded across processes (it reads in one split)")
	}
	d.validateSource(c, s, l.key("source"))

	pl := l.key("plugin")
	pnames := map[string]int{}
	for i := range s.Plugins {
		p := &s.Plugins[i]
		if p.Name == "" && p.Path != "" {
			p.Name = strings.TrimSuffix(filepath.Base(p.Path), ".wasm")
		}
		el := d.element(pl, i, p.Name)
		d.validatePlugin(c, p, el)
		if p.Name == "" {
			continue
		}
		if !namePattern.MatchString(p.Name) {
			d.addf(el.key("name"), "invalid name %q: use 1 to 64 letters, digits, '_', '-' or '.', not starting with '-' or '.'%s", p.Name, nameHint(d, el))
		} else if j, dup := pnames[p.Name]; dup {
			d.addf(el.key("name"), "duplicate plugin name %q (also plugin[%d])%s", p.Name, j, nameHint(d, el))
		} else {
			pnames[p.Name] = i
		}
	}

	sl := l.key("sink")
	if len(s.Sinks) == 0 {
		s.Sinks = []Sink{cloneValue(reflect.ValueOf(defaults.DefaultSink)).Interface().(Sink)}
	}
	snames := map[string]int{}
	defaultRouted := false
	for i := range s.Sinks {
		k := &s.Sinks[i]
		if k.Name == "" {
			k.Name = k.Type
		}
		el := d.element(sl, i, k.Name)
		if !namePattern.MatchString(k.Name) {
			d.addf(el.key("name"), "invalid name %q: use 1 to 64 letters, digits, '_', '-' or '.', not starting with '-' or '.'", k.Name)
		} else if j, dup := snames[k.Name]; dup {
			d.addf(el.key("name"), "duplicate sink name %q (also sink[%d])%s", k.Name, j, nameHint(d, el))
		} else {
			snames[k.Name] = i
		}
		seen := map[string]bool{}
		if len(k.Outputs) == 0 {
			d.addf(el.key("outputs"), "must list at least one output (\"\" is the default output)")
		}
		for j, o := range k.Outputs {
			if seen[o] {
				d.addf(el.key("outputs").index(j, ""), "output %q is listed twice", o)
			}
			seen[o] = true
			defaultRouted = defaultRouted || o == ""
		}
		d.validateSink(c, k, el, files)
	}
	if !defaultRouted {
		d.addf(sl, "no sink receives the default output: add \"\" to the outputs of one sink")
	}
}

// element is the loc of element i of an array of tables, showing its name
// only when the file gives it (as the decoder does).
func (d *decoder) element(l loc, i int, name string) loc {
	if !d.isSet(l.index(i, "").key("name")) {
		name = ""
	}
	return l.index(i, name)
}

// nameHint explains where a name came from when it was not written.
func nameHint(d *decoder, el loc) string {
	if d.isSet(el.key("name")) {
		return ""
	}
	return "; the name was derived, set name explicitly"
}

func (d *decoder) validateSource(c *Config, s *Stream, l loc) {
	src := &s.Source
	tableMode := src.Table != ""
	if !d.isSet(l) {
		return // reported as missing
	}
	switch {
	case src.Table == "" && src.CQL == "":
		d.addf(l, "set table (scan a table) or cql (run one query)")
		return
	case src.Table != "" && src.CQL != "":
		d.addf(l.key("cql"), "table and cql are mutually exclusive")
		return
	}
	if src.Mode == "follow" {
		d.validateFollow(s, l)
	} else if d.isSet(l.key("follow")) {
		d.addf(l.key("follow"), "is only used with mode = \"follow\"")
	}
	if tableMode {
		if src.Keyspace == "" {
			src.Keyspace = c.Cassandra.Keyspace
		}
		if src.Keyspace == "" {
			d.addf(l.key("keyspace"), "is required (or set cassandra.keyspace)")
		} else if !cqlNamePattern.MatchString(src.Keyspace) {
			d.addf(l.key("keyspace"), "invalid keyspace name %q: Cassandra names are 1 to 48 letters, digits or '_'", src.Keyspace)
		}
		if !cqlNamePattern.MatchString(src.Table) {
			d.addf(l.key("table"), "invalid table name %q: Cassandra names are 1 to 48 letters, digits or '_'", src.Table)
		}
		cols := map[string]bool{}
		for i, col := range src.Columns {
			switch {
			case col == "":
				d.addf(l.key("columns").index(i, ""), "empty column name")
			case cols[col]:
				d.addf(l.key("columns").index(i, ""), "column %q is listed twice", col)
			}
			cols[col] = true
		}
		if strings.Contains(src.Where, ";") {
			d.addf(l.key("where"), "must be a single condition, without ';'")
		}
		for _, k := range []string{"values"} {
			if d.isSet(l.key(k)) {
				d.addf(l.key(k), "is only used with cql (query mode)")
			}
		}
		if src.Splits == 0 {
			if src.Concurrency == 1 {
				src.Splits = 1
			} else {
				src.Splits = 4 * src.Concurrency
			}
		}
		if src.Concurrency > src.Splits && !d.bad[l.key("splits").raw] {
			d.addf(l.key("concurrency"), "concurrency %d is larger than splits %d", src.Concurrency, src.Splits)
		}
	} else {
		for _, k := range []string{"keyspace", "columns", "where", "allow_filtering"} {
			if d.isSet(l.key(k)) {
				d.addf(l.key(k), "is only used with table (table mode); write it into cql instead")
			}
		}
		q := strings.TrimSpace(src.CQL)
		if len(q) < 6 || !strings.EqualFold(q[:6], "select") {
			d.addf(l.key("cql"), "must be a SELECT statement")
		} else if n, msg := countMarkers(q); msg != "" {
			d.addf(l.key("cql"), "%s", msg)
		} else if n != len(src.Values) {
			d.addf(l.key("values"), "cql has %d ? marker(s) but values has %d element(s)", n, len(src.Values))
		}
		if src.Splits > 1 {
			d.addf(l.key("splits"), "a cql query cannot be split: splits must be 0 or 1")
		}
		src.Splits = 1
		if src.Concurrency != 1 {
			d.addf(l.key("concurrency"), "a cql query runs as one scan: concurrency must be 1")
		}
	}
	if src.RetryBackoffMax < src.RetryBackoff && !d.bad[l.key("retry_backoff").raw] {
		d.addf(l.key("retry_backoff_max"), "must be at least retry_backoff (%s), got %s", formatDuration(src.RetryBackoff), formatDuration(src.RetryBackoffMax))
	}
	d.inheritConsistency(&src.Consistency, c.Cassandra.Consistency, l.key("consistency"), true)
}

// inheritConsistency resolves an empty level to the cluster default and
// checks that the level makes sense for reads or writes.
func (d *decoder) inheritConsistency(cl *Consistency, def Consistency, l loc, read bool) {
	inherited := ""
	if *cl == "" {
		*cl = def
		inherited = " (inherited from cassandra.consistency)"
	}
	switch {
	case read && (*cl == "ANY" || *cl == "EACH_QUORUM"):
		d.addf(l, "%s%s cannot be used for reads", *cl, inherited)
	case !read && (*cl == "SERIAL" || *cl == "LOCAL_SERIAL"):
		d.addf(l, "%s%s is a serial consistency, only for lightweight transactions: use a regular level for writes", *cl, inherited)
	}
}

// countMarkers counts the ? bind markers of a CQL statement outside string
// literals, quoted identifiers and comments, and rejects statements with
// more than one part.
func countMarkers(q string) (int, string) {
	n := 0
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'' || c == '"':
			for i++; i < len(q); i++ {
				if q[i] == c {
					if i+1 < len(q) && q[i+1] == c { // doubled quote
						i++
						continue
					}
					break
				}
			}
			if i >= len(q) {
				return 0, "unterminated string or quoted name"
			}
		case c == '$' && i+1 < len(q) && q[i+1] == '$':
			end := strings.Index(q[i+2:], "$$")
			if end < 0 {
				return 0, "unterminated $$ string"
			}
			i += end + 3
		case c == '-' && i+1 < len(q) && q[i+1] == '-', c == '/' && i+1 < len(q) && q[i+1] == '/':
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return 0, "unterminated /* comment"
			}
			i += end + 3
		case c == '?':
			n++
		case c == ':' && i+1 < len(q) && isBareByte(q[i+1]) && (i == 0 || !isBareByte(q[i-1])):
			return 0, "named bind markers (:name) are not supported: use ?"
		case c == ';':
			if strings.TrimSpace(q[i+1:]) != "" {
				return 0, "must be a single statement"
			}
		}
	}
	return n, ""
}

func (d *decoder) validatePlugin(c *Config, p *Plugin, l loc) {
	if p.SHA256 != "" {
		if !sha256Pattern.MatchString(p.SHA256) {
			d.addf(l.key("sha256"), "must be 64 hexadecimal digits, got %q", p.SHA256)
		}
		p.SHA256 = strings.ToLower(p.SHA256)
	}
	if p.MemoryLimit == 0 {
		p.MemoryLimit = c.Runtime.MemoryLimit
	} else if p.MemoryLimit%WasmPageSize != 0 {
		d.addf(l.key("memory_limit"), "must be a multiple of 64KiB (the WebAssembly page size), got %s", p.MemoryLimit)
	}
	if p.PageTimeout == 0 {
		p.PageTimeout = c.Runtime.PageTimeout
	}
	if d.isSet(l.key("config")) {
		p.ConfigLine = lookupLine(d.lines, l.key("config").raw)
		before := len(d.probs)
		d.checkPluginConfig(p.Config, l.key("config"))
		if len(d.probs) == before {
			if _, err := abi.FlattenConfig(p.Config); err != nil {
				d.addf(l.key("config"), "%s", strings.TrimPrefix(err.Error(), "abi: "))
			}
		}
	}
}

// checkPluginConfig reports what cannot be flattened into the plugin's
// key/value config (abi.FlattenConfig), each at its own line.
func (d *decoder) checkPluginConfig(m map[string]any, l loc) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kl := l.key(k)
		switch {
		case k == "":
			d.addf(kl, "empty keys are not allowed in plugin config")
			continue
		case strings.Contains(k, "."):
			d.addf(kl, "key %q contains '.', which would be ambiguous once flattened to dotted keys: use a nested table", k)
			continue
		}
		switch x := m[k].(type) {
		case map[string]any:
			d.checkPluginConfig(x, kl)
		case []map[string]any:
			d.addf(kl, "arrays of tables are not supported in plugin config (use a table of tables)")
		case []any:
			for i, e := range x {
				switch e.(type) {
				case map[string]any, []map[string]any:
					d.addf(kl.index(i, ""), "arrays of tables are not supported in plugin config (use a table of tables)")
				case []any:
					d.addf(kl.index(i, ""), "arrays of arrays are not supported in plugin config")
				}
			}
		}
	}
}

func (d *decoder) validateSink(c *Config, k *Sink, l loc, files map[string]loc) {
	only := func(types string, keys ...string) {
		for _, key := range keys {
			if d.isSet(l.key(key)) {
				d.addf(l.key(key), "is only used by %s sinks", types)
			}
		}
	}
	if k.Type != "parquet" {
		only("parquet", "file_size", "row_group_size", "decimal_scale")
		if k.Type != "kafka" {
			only("kafka and parquet", "compression")
		}
	}
	if k.Type != "kafka" {
		only("kafka", "brokers", "topic", "topics", "key", "value", "headers", "acks", "exactly_once", "transactional_id", "checkpoint_topic", "transaction_timeout", "max_buffered_bytes", "tls", "tls_ca_file", "tls_cert_file", "tls_key_file", "sasl_mechanism", "sasl_user", "sasl_password_env")
	}
	switch k.Type {
	case "parquet":
		only("stdout and file", "format")
		only("cassandra", "keyspace", "table", "concurrency", "consistency")
		k.Format = ""
		if k.Path == "" {
			d.addf(l.key("path"), "is required for a parquet sink (the directory of its files)")
			break
		}
		clean := filepath.Clean(k.Path)
		if other, dup := files[clean]; dup {
			d.addf(l.key("path"), "%q is also written by %s", k.Path, other.disp)
		} else {
			files[clean] = l
		}
	case "kafka":
		only("stdout and file", "format")
		only("file", "path")
		only("cassandra", "keyspace", "table", "concurrency", "consistency")
		k.Format = ""
		d.validateKafka(c, k, l)
	case "stdout":
		only("file", "path")
		only("cassandra", "keyspace", "table", "concurrency", "consistency")
	case "file":
		only("cassandra", "keyspace", "table", "concurrency", "consistency")
		if k.Path == "" {
			d.addf(l.key("path"), "is required for a file sink")
			break
		}
		clean := filepath.Clean(k.Path)
		if other, dup := files[clean]; dup {
			d.addf(l.key("path"), "file %q is also written by %s", k.Path, other.disp)
		} else {
			files[clean] = l
		}
	case "cassandra":
		only("stdout and file", "format")
		only("file", "path")
		k.Format = "" // rows are not rendered
		if k.Keyspace == "" {
			k.Keyspace = c.Cassandra.Keyspace
		}
		if k.Keyspace == "" {
			d.addf(l.key("keyspace"), "is required (or set cassandra.keyspace)")
		} else if !cqlNamePattern.MatchString(k.Keyspace) {
			d.addf(l.key("keyspace"), "invalid keyspace name %q: Cassandra names are 1 to 48 letters, digits or '_'", k.Keyspace)
		}
		if k.Table == "" {
			d.addf(l.key("table"), "is required for a cassandra sink")
		} else if !cqlNamePattern.MatchString(k.Table) {
			d.addf(l.key("table"), "invalid table name %q: Cassandra names are 1 to 48 letters, digits or '_'", k.Table)
		}
		d.inheritConsistency(&k.Consistency, c.Cassandra.Consistency, l.key("consistency"), false)
	}
}

// validateKafka checks a kafka sink's keys; the topics' existence and
// the brokers' answers are checked when the sink opens (sluice check too).
func (d *decoder) validateKafka(c *Config, k *Sink, l loc) {
	if len(k.Brokers) == 0 {
		d.addf(l.key("brokers"), "is required for a kafka sink (e.g. [\"127.0.0.1:9092\"])")
	}
	for i, b := range k.Brokers {
		if msg := checkHostPort(b, false); msg != "" {
			d.addf(l.key("brokers").index(i, ""), "%s", msg)
		}
	}
	named := map[string]bool{}
	for _, out := range slices.Sorted(maps.Keys(k.Topics)) {
		v := k.Topics[out]
		t, ok := v.(string)
		switch {
		case !ok:
			d.addf(l.key("topics").key(out), "must be a string (a topic name), got %s", describe(v))
		case !topicPattern.MatchString(t):
			d.addf(l.key("topics").key(out), "invalid topic name %q: Kafka topics are 1 to 249 letters, digits, '.', '_' or '-'", t)
		case !slices.Contains(k.Outputs, out):
			d.addf(l.key("topics").key(out), "output %q is not among this sink's outputs %s", out, quoteList(k.Outputs))
		default:
			named[out] = true
		}
	}
	if k.Topic != "" && !topicPattern.MatchString(k.Topic) {
		d.addf(l.key("topic"), "invalid topic name %q: Kafka topics are 1 to 249 letters, digits, '.', '_' or '-'", k.Topic)
	}
	if k.Topic == "" {
		for _, o := range k.Outputs {
			if !named[o] {
				d.addf(l.key("topic"), "is required: output %q has no topic in topics", o)
				break
			}
		}
	}
	for _, h := range slices.Sorted(maps.Keys(k.Headers)) {
		v := k.Headers[h]
		if _, ok := v.(string); !ok {
			d.addf(l.key("headers").key(h), "must be a string, got %s", describe(v))
		}
	}
	if k.ExactlyOnce {
		if k.Acks != "all" {
			d.addf(l.key("acks"), "must be \"all\" with exactly_once = true (Kafka transactions need acks from every in-sync replica), got %q", k.Acks)
		}
		if !topicPattern.MatchString(k.CheckpointTopic) {
			d.addf(l.key("checkpoint_topic"), "invalid topic name %q", k.CheckpointTopic)
		}
		if iv := c.Checkpoint.Interval; iv > 0 && iv >= k.TransactionTimeout {
			d.addf(l.key("transaction_timeout"), "%s is not longer than checkpoint.interval (%s): the broker would abort every transaction before its checkpoint commits it", k.TransactionTimeout, iv)
		}
		if k.TransactionalID != "" && len(k.TransactionalID) > 200 {
			d.addf(l.key("transactional_id"), "is longer than 200 bytes")
		}
	}
	if (k.TLSCertFile == "") != (k.TLSKeyFile == "") {
		d.addf(l.key("tls_cert_file"), "tls_cert_file and tls_key_file go together")
	}
	if !k.TLS {
		for _, key := range []string{"tls_ca_file", "tls_cert_file", "tls_key_file"} {
			if d.isSet(l.key(key)) {
				d.addf(l.key(key), "needs tls = true")
			}
		}
	}
	if k.SASLMechanism == "" {
		for _, key := range []string{"sasl_user", "sasl_password_env"} {
			if d.isSet(l.key(key)) {
				d.addf(l.key(key), "needs sasl_mechanism")
			}
		}
	} else {
		if k.SASLUser == "" {
			d.addf(l.key("sasl_user"), "is required with sasl_mechanism %q", k.SASLMechanism)
		}
		if k.SASLPasswordEnv == "" {
			d.addf(l.key("sasl_password_env"), "is required with sasl_mechanism %q (the name of the environment variable holding the password)", k.SASLMechanism)
		}
		d.checkEnvName(k.SASLPasswordEnv, l.key("sasl_password_env"))
	}
}

var topicPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)

func (d *decoder) checkEnvName(name string, l loc) {
	if name != "" && !envPattern.MatchString(name) {
		d.addf(l, "%q is not an environment variable name (letters, digits and '_', not starting with a digit); the file names the variable, never the secret", name)
	}
}

// checkHostPort checks "host", "host:port" or "[v6]:port"; a port is
// required unless optionalPort.
func checkHostPort(s string, optionalPort bool) string {
	if s == "" {
		return "empty address"
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if optionalPort && !strings.Contains(strings.Trim(s, "[]"), ":") || optionalPort && net.ParseIP(strings.Trim(s, "[]")) != nil {
			return ""
		}
		return "invalid address " + strconv.Quote(s) + ": want \"host:port\", e.g. \"127.0.0.1:9180\""
	}
	if host == "" && optionalPort { // ":9180" (every interface) only makes sense to listen
		return "invalid address " + strconv.Quote(s) + ": missing host"
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "invalid address " + strconv.Quote(s) + ": port must be a number between 1 and 65535"
	}
	return ""
}
