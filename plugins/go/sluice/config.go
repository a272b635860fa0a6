package sluice

import (
	"fmt"
	"strconv"
	"strings"
)

// Config is a plugin's configuration: the plugin's `config` TOML table,
// flattened into key/value pairs sorted by key. Nested tables give dotted
// keys ("rename.old"); an array gives one pair per element, in order, under
// the same key; numbers are in decimal text, booleans "true"/"false",
// datetimes RFC 3339. Config is immutable and safe to keep.
type Config struct {
	kvs []ConfigPair
}

// NewConfig returns a Config holding kvs (for tests; the SDK builds the
// Config it passes to Init from the host's bytes).
func NewConfig(kvs ...ConfigPair) Config { return Config{kvs: kvs} }

// Pairs returns the key/value pairs in the order the host sent them.
func (c Config) Pairs() []ConfigPair { return c.kvs }

// Keys returns the distinct keys, in order.
func (c Config) Keys() []string {
	var keys []string
	for i, kv := range c.kvs {
		if i > 0 && c.kvs[i-1].Key == kv.Key {
			continue
		}
		keys = append(keys, kv.Key)
	}
	return keys
}

// Has reports whether key has at least one value.
func (c Config) Has(key string) bool {
	_, ok := c.Get(key)
	return ok
}

// Get returns the first value of key and whether there was one. For a key
// that must have exactly one value, use String or Require.
func (c Config) Get(key string) (string, bool) {
	for _, kv := range c.kvs {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// All returns every value of key in order: one per element of a TOML
// array, one for a scalar, none when the key is absent.
func (c Config) All(key string) []string {
	var vs []string
	for _, kv := range c.kvs {
		if kv.Key == key {
			vs = append(vs, kv.Value)
		}
	}
	return vs
}

// one returns the single value of key. It fails with
// `config key "<key>" must have one value, got <n>` when key has several.
func (c Config) one(key string) (string, bool, error) {
	vs := c.All(key)
	switch len(vs) {
	case 0:
		return "", false, nil
	case 1:
		return vs[0], true, nil
	}
	return "", false, fmt.Errorf("config key \"%s\" must have one value, got %d", key, len(vs))
}

// Require returns the single value of key. It fails with
// `missing config key "<key>"` when key is absent and as String does when it
// has several values.
func (c Config) Require(key string) (string, error) {
	v, ok, err := c.one(key)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("missing config key \"%s\"", key)
	}
	return v, nil
}

// String returns the single value of key, or def when key is absent. It
// fails with `config key "<key>" must have one value, got <n>` when key has
// several values (a TOML array was given).
func (c Config) String(key, def string) (string, error) {
	v, ok, err := c.one(key)
	if err != nil || !ok {
		return def, err
	}
	return v, nil
}

// Int returns the single value of key as a decimal integer, or def when key
// is absent.
func (c Config) Int(key string, def int64) (int64, error) {
	v, ok, err := c.one(key)
	if err != nil || !ok {
		return def, err
	}
	n, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil {
		return def, fmt.Errorf("config key \"%s\": \"%s\" is not an integer", key, v)
	}
	return n, nil
}

// Float returns the single value of key as a decimal number, or def when
// key is absent.
func (c Config) Float(key string, def float64) (float64, error) {
	v, ok, err := c.one(key)
	if err != nil || !ok {
		return def, err
	}
	f, perr := strconv.ParseFloat(v, 64)
	if perr != nil {
		return def, fmt.Errorf("config key \"%s\": \"%s\" is not a number", key, v)
	}
	return f, nil
}

// Bool returns the single value of key, which must be "true" or "false",
// or def when key is absent.
func (c Config) Bool(key string, def bool) (bool, error) {
	v, ok, err := c.one(key)
	if err != nil || !ok {
		return def, err
	}
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return def, fmt.Errorf("config key \"%s\": \"%s\" is not true or false", key, v)
}

// Sub returns the pairs whose key starts with prefix followed by a dot,
// with that prefix and dot removed: for the TOML table
// `rename = { a = "b" }`, Sub("rename") holds a = b.
func (c Config) Sub(prefix string) Config {
	p := prefix + "."
	var kvs []ConfigPair
	for _, kv := range c.kvs {
		if rest, ok := strings.CutPrefix(kv.Key, p); ok {
			kvs = append(kvs, ConfigPair{Key: rest, Value: kv.Value})
		}
	}
	return Config{kvs: kvs}
}

// Unknown checks every key against known, in the order the pairs arrived,
// and fails with `unknown config key "<key>"` for the first key that is not
// known. A known entry ending in ".*" accepts every key under that table
// ("rename.*" accepts "rename.a"). Call it first in Init so that a typo in
// the config stops the stream instead of being ignored.
func (c Config) Unknown(known ...string) error {
next:
	for _, kv := range c.kvs {
		for _, k := range known {
			if k == kv.Key {
				continue next
			}
			if t, ok := strings.CutSuffix(k, "*"); ok && strings.HasSuffix(t, ".") && strings.HasPrefix(kv.Key, t) {
				continue next
			}
		}
		return fmt.Errorf("unknown config key \"%s\"", kv.Key)
	}
	return nil
}

// Single checks that each of keys has at most one value, in the order
// given, and fails with `config key "<key>" must have one value, got <n>`
// for the first that has more.
func (c Config) Single(keys ...string) error {
	for _, k := range keys {
		if _, _, err := c.one(k); err != nil {
			return err
		}
	}
	return nil
}
