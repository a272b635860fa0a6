package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// queryFrame builds a v4 QUERY (or, with id, EXECUTE) request frame with
// two values, a page size, a paging state and a client timestamp.
func queryFrame(stream int16, id []byte, state []byte, ts int64) []byte {
	var body []byte
	op := byte(opQuery)
	if id != nil {
		op = opExecute
		body = binary.BigEndian.AppendUint16(body, uint16(len(id)))
		body = append(body, id...)
	} else {
		q := "SELECT * FROM ks.t WHERE token(id) > ? AND token(id) <= ?"
		body = binary.BigEndian.AppendUint32(body, uint32(len(q)))
		body = append(body, q...)
	}
	body = binary.BigEndian.AppendUint16(body, 0x0001) // consistency ONE
	body = append(body, 0x01|0x04|0x08|0x20)           // values, page size, paging state, timestamp
	body = binary.BigEndian.AppendUint16(body, 2)
	for _, v := range []int64{-100, 100} {
		body = binary.BigEndian.AppendUint32(body, 8)
		body = binary.BigEndian.AppendUint64(body, uint64(v))
	}
	body = binary.BigEndian.AppendUint32(body, 5000)
	body = binary.BigEndian.AppendUint32(body, uint32(len(state)))
	body = append(body, state...)
	body = binary.BigEndian.AppendUint64(body, uint64(ts))
	f := []byte{0x04, 0, byte(uint16(stream) >> 8), byte(stream), op}
	f = binary.BigEndian.AppendUint32(f, uint32(len(body)))
	return append(f, body...)
}

func mustKey(t *testing.T, f []byte) string {
	t.Helper()
	k, err := key(f)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyIgnoresTimestampAndStream(t *testing.T) {
	for _, id := range [][]byte{nil, []byte("0123456789abcdef")} {
		a := mustKey(t, queryFrame(1, id, []byte("state-1"), 1700000000000000))
		b := mustKey(t, queryFrame(7, id, []byte("state-1"), 1700000000999999))
		if a != b {
			t.Errorf("id %q: keys differ by timestamp or stream only:\n%q\n%q", id, a, b)
		}
		if c := mustKey(t, queryFrame(1, id, []byte("state-2"), 1700000000000000)); c == a {
			t.Errorf("id %q: another paging state, same key", id)
		}
	}
	if mustKey(t, queryFrame(1, nil, nil, 1)) == mustKey(t, queryFrame(1, []byte("x"), nil, 1)) {
		t.Error("QUERY and EXECUTE share a key")
	}
}

func TestKeyRefusesTruncatedParameters(t *testing.T) {
	f := queryFrame(1, nil, []byte("state"), 1)
	binary.BigEndian.PutUint32(f[5:9], uint32(len(f)-headerLen-10))
	if _, err := key(f[:len(f)-10]); err == nil {
		t.Error("truncated QUERY: no error")
	}
}

func TestCaptureRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c")
	m := map[string]response{"a": {flags: 0, opcode: 8, body: []byte("rows")}, "\x01": {opcode: 2}}
	if err := writeCapture(p, m); err != nil {
		t.Fatal(err)
	}
	got, err := readCapture(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got["a"].body) != "rows" || got["a"].opcode != 8 || got["\x01"].opcode != 2 {
		t.Fatalf("read back %v", got)
	}
	os.WriteFile(p, []byte("nope"), 0o644)
	if _, err := readCapture(p); err == nil {
		t.Error("not a capture: no error")
	}
}
