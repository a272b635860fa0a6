package abi

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// KV is one key/value pair of a plugin's configuration.
type KV struct {
	Key, Value string
}

// EncodeConfig returns the SLC1 encoding of kvs:
//
//	u32 magic "SLC1", u32 n, n × (str key, str value)
//
// in the given order (FlattenConfig sorts them).
func EncodeConfig(kvs []KV) []byte {
	n := 8
	for _, kv := range kvs {
		n += 8 + len(kv.Key) + len(kv.Value)
	}
	dst := make([]byte, 0, n)
	dst = appendU32(dst, ConfigMagic)
	dst = appendU32(dst, uint32(len(kvs)))
	for _, kv := range kvs {
		dst = appendStr(dst, kv.Key)
		dst = appendStr(dst, kv.Value)
	}
	return dst
}

// DecodeConfig decodes an SLC1 config. Every count and length is checked
// against the remaining bytes before allocating; keys and values must be
// valid UTF-8; trailing bytes are an error. The order of the pairs is kept
// (it is not checked to be sorted). Nothing aliases b.
func DecodeConfig(b []byte) ([]KV, error) {
	if len(b) < 8 {
		return nil, errf("config: %d bytes, shorter than the 8-byte header", len(b))
	}
	r := reader{b: b}
	magic, _ := r.u32()
	if magic != ConfigMagic {
		return nil, errf("config: magic 0x%08X, want 0x%08X (\"SLC1\")", magic, ConfigMagic)
	}
	n, _ := r.u32()
	if uint64(n)*8 > uint64(r.left()) {
		return nil, errf("config: n=%d pairs need at least %d bytes, %d left", n, uint64(n)*8, r.left())
	}
	kvs := make([]KV, n)
	for i := range kvs {
		for j, dst := range []*string{&kvs[i].Key, &kvs[i].Value} {
			what := "key"
			if j == 1 {
				what = fmt.Sprintf("value (key %q)", kvs[i].Key)
			}
			at := r.off
			s, l, res := r.str()
			switch res {
			case strShortLen:
				return nil, errf("config: pair %d %s at byte %d: truncated length", i, what, at)
			case strShortBytes:
				return nil, errf("config: pair %d %s at byte %d: length %d beyond the %d bytes left", i, what, at, l, r.left())
			case strBadUTF8:
				return nil, errf("config: pair %d %s at byte %d: not valid UTF-8", i, what, at)
			}
			*dst = s
		}
	}
	if r.left() != 0 {
		return nil, errf("config: %d trailing bytes after %d pairs", r.left(), n)
	}
	return kvs, nil
}

// ConfigValues returns the values of key in kvs, in order (several for an
// array).
func ConfigValues(kvs []KV, key string) []string {
	var out []string
	for _, kv := range kvs {
		if kv.Key == key {
			out = append(out, kv.Value)
		}
	}
	return out
}

// ConfigValue returns the first value of key in kvs and whether there was
// one.
func ConfigValue(kvs []KV, key string) (string, bool) {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// FlattenConfig turns a decoded TOML table (as produced by
// github.com/BurntSushi/toml into map[string]any) into the KVs of the SLC1
// config:
//
//   - nested tables give dotted keys: {rename = {old = "new"}} → rename.old=new
//   - arrays give one pair per element with the same key, in order; an
//     empty array gives no pair
//   - strings as they are; integers in decimal; floats in the shortest
//     decimal form that reads back to the same float ("0.5", "1e+21"; "inf",
//     "-inf", "nan" as TOML spells them); booleans true/false
//   - offset datetimes RFC 3339 ("1979-05-27T07:32:00Z",
//     "1979-05-27T00:32:00.999-07:00"); TOML local datetimes, dates and
//     times as written ("1979-05-27T07:32:00", "1979-05-27", "07:32:00")
//
// The result is sorted by key (byte order), pairs of one array keeping
// their order. It is an error, naming the key path, for an array of tables
// or an array of arrays, a key that contains '.' (it would be ambiguous
// once flattened) or is empty, and a value of any other Go type.
func FlattenConfig(v map[string]any) ([]KV, error) {
	var out []KV
	if err := flattenTable(&out, "", v); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b KV) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func flattenTable(out *[]KV, prefix string, m map[string]any) error {
	for k, v := range m {
		if k == "" {
			return fmt.Errorf("abi: config table %q: empty key", strings.TrimSuffix(prefix, "."))
		}
		if strings.Contains(k, ".") {
			return fmt.Errorf("abi: config key %q in table %q contains '.', which would be ambiguous once flattened to dotted keys", k, strings.TrimSuffix(prefix, "."))
		}
		if err := flattenValue(out, prefix+k, v); err != nil {
			return err
		}
	}
	return nil
}

func flattenValue(out *[]KV, key string, v any) error {
	switch x := v.(type) {
	case map[string]any:
		return flattenTable(out, key+".", x)
	case []map[string]any:
		return fmt.Errorf("abi: config key %q: arrays of tables are not supported in plugin config (use a table of tables, or several keys)", key)
	case []any:
		for i, e := range x {
			switch e.(type) {
			case map[string]any, []map[string]any:
				return fmt.Errorf("abi: config key %q: arrays of tables are not supported in plugin config (use a table of tables, or several keys)", key)
			case []any:
				return fmt.Errorf("abi: config key %q: arrays of arrays are not supported in plugin config", fmt.Sprintf("%s[%d]", key, i))
			}
			if err := flattenValue(out, key, e); err != nil {
				return err
			}
		}
		return nil
	}
	s, err := scalarText(key, v)
	if err != nil {
		return err
	}
	*out = append(*out, KV{Key: key, Value: s})
	return nil
}

func scalarText(key string, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return configFloat(x, 64), nil
	case float32:
		return configFloat(float64(x), 32), nil
	case time.Time:
		switch x.Location().String() {
		case "datetime-local": // BurntSushi/toml's zone for local datetimes
			return x.Format("2006-01-02T15:04:05.999999999"), nil
		case "date-local":
			return x.Format("2006-01-02"), nil
		case "time-local":
			return x.Format("15:04:05.999999999"), nil
		}
		return x.Format(time.RFC3339Nano), nil
	case fmt.Stringer:
		// toml.LocalDate, LocalTime, LocalDatetime, and similar values
		// whose String is their TOML form.
		if isTOMLLocal(v) {
			return x.String(), nil
		}
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), nil
	}
	return "", fmt.Errorf("abi: config key %q: unsupported value type %T", key, v)
}

// isTOMLLocal reports whether v is one of BurntSushi/toml's Local* types,
// recognised by name so this package stays standard-library only.
func isTOMLLocal(v any) bool {
	t := reflect.TypeOf(v)
	switch t.Name() {
	case "LocalDate", "LocalTime", "LocalDatetime":
		return strings.HasSuffix(t.PkgPath(), "BurntSushi/toml")
	}
	return false
}

func configFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return string(appendJSONFloat(nil, f, bits))
}
