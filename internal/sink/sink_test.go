package sink

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/config"
)

// TestMain checks that no test leaves a goroutine behind, except those of
// the Cassandra session testutil shares across the test binary (it lives as
// long as the process).
func TestMain(m *testing.M) {
	const gocql = "github.com/apache/cassandra-gocql-driver/v2."
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction(gocql+"(*Conn).serve"),
		goleak.IgnoreAnyFunction(gocql+"(*Conn).heartBeat"),
		goleak.IgnoreAnyFunction(gocql+"(*Session).reconnectDownedHosts"),
		goleak.IgnoreAnyFunction(gocql+"(*controlConn).heartBeat"),
		goleak.IgnoreAnyFunction(gocql+"(*eventDebouncer).flusher"),
		goleak.IgnoreAnyFunction(gocql+"(*refreshDebouncer).flusher"),
		goleak.IgnoreAnyFunction(gocql+"(*writeCoalescer).writeFlusher"),
	)
}

func col(name string, t abi.Type) abi.Column { return abi.Column{Name: name, Type: t} }

var (
	tInt     = abi.Type{ID: abi.TypeInt}
	tBigint  = abi.Type{ID: abi.TypeBigint}
	tText    = abi.Type{ID: abi.TypeVarchar}
	tASCII   = abi.Type{ID: abi.TypeASCII}
	tUUID    = abi.Type{ID: abi.TypeUUID}
	tBlob    = abi.Type{ID: abi.TypeBlob}
	tDouble  = abi.Type{ID: abi.TypeDouble}
	tBool    = abi.Type{ID: abi.TypeBoolean}
	tTS      = abi.Type{ID: abi.TypeTimestamp}
	tDecimal = abi.Type{ID: abi.TypeDecimal}
	tInet    = abi.Type{ID: abi.TypeInet}
)

// page builds a page of the given schema; each row is one cell per column
// (nil = null).
func page(t testing.TB, number uint64, s *abi.Schema, rows ...[][]byte) *abi.Page {
	t.Helper()
	b := abi.NewPageBuilder(s, number, 0)
	for _, r := range rows {
		for _, c := range r {
			b.AppendCell(c)
		}
		if err := b.EndRow(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Page()
}

func enc(t testing.TB, typ abi.Type, v any) []byte {
	t.Helper()
	b, err := abi.EncodeJSON(typ, v)
	if err != nil {
		t.Fatalf("EncodeJSON(%s, %v): %v", typ, v, err)
	}
	return b
}

// mixedPage is a page with a bit of everything, including nulls, empty
// values and text that needs quoting.
func mixedPage(t testing.TB, number uint64) *abi.Page {
	s := abi.NewSchema(
		col("id", tInt), col("name", tText), col("tags", abi.ListOf(tText)),
		col("u", tUUID), col("amount", tDecimal), col("raw", tBlob), col("ok", tBool),
		col("attrs", abi.MapOf(tText, tInt)), col("ip", tInet), col("Weird \"col\"", tASCII),
	)
	u := [16]byte{0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00}
	return page(t, number, s,
		[][]byte{abi.AppendInt(nil, 1), []byte("plain"), enc(t, abi.ListOf(tText), []any{"a", "b,c"}),
			abi.AppendUUID(nil, u), abi.AppendDecimal(nil, big.NewInt(12340), 3), []byte{0xde, 0xad},
			abi.AppendBoolean(nil, true), enc(t, abi.MapOf(tText, tInt), map[string]any{"x": json.Number("1")}),
			abi.AppendInet(nil, netip.MustParseAddr("192.0.2.1")), []byte("a")},
		[][]byte{abi.AppendInt(nil, -2), []byte("comma, \"quote\"\nnewline"), nil, nil, nil, nil, nil, nil, nil, nil},
		[][]byte{abi.AppendInt(nil, 3), []byte{}, []byte{}, []byte{}, []byte{}, []byte{}, []byte{}, []byte{}, []byte{}, []byte{}},
		[][]byte{abi.AppendInt(nil, 4), []byte("üñí ☃"), enc(t, abi.ListOf(tText), []any{}), nil, nil, nil, abi.AppendBoolean(nil, false), nil, abi.AppendInet(nil, netip.MustParseAddr("2001:db8::1")), nil},
	)
}

const mixedJSONL = `{"id":1,"name":"plain","tags":["a","b,c"],"u":"123e4567-e89b-12d3-a456-426614174000","amount":"12.340","raw":"3q0=","ok":true,"attrs":{"x":1},"ip":"192.0.2.1","Weird \"col\"":"a"}
{"id":-2,"name":"comma, \"quote\"\nnewline","tags":null,"u":null,"amount":null,"raw":null,"ok":null,"attrs":null,"ip":null,"Weird \"col\"":null}
{"id":3,"name":"","tags":"","u":"","amount":"","raw":"","ok":"","attrs":"","ip":"","Weird \"col\"":""}
{"id":4,"name":"üñí ☃","tags":[],"u":null,"amount":null,"raw":null,"ok":false,"attrs":null,"ip":"2001:db8::1","Weird \"col\"":null}
`

const mixedCSV = `id,name,tags,u,amount,raw,ok,attrs,ip,"Weird ""col"""
1,plain,"[""a"",""b,c""]",123e4567-e89b-12d3-a456-426614174000,12.340,3q0=,true,"{""x"":1}",192.0.2.1,a
-2,"comma, ""quote""
newline",,,,,,,,
3,"","","","","","","","",""
4,üñí ☃,[],,,,false,,2001:db8::1,
`

func TestRenderJSONL(t *testing.T) {
	p := mixedPage(t, 1)
	r := renderer{format: JSONL}
	got, err := r.appendPage(nil, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != mixedJSONL {
		t.Errorf("JSONL:\n%s\nwant:\n%s", got, mixedJSONL)
	}
	// The same as abi.AppendJSONRow, the reference rendering of a row.
	var want []byte
	for i := range p.NumRows() {
		if want, err = abi.AppendJSONRow(want, p.Schema, p.Row(i)); err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
	}
	if !bytes.Equal(got, want) {
		t.Errorf("differs from abi.AppendJSONRow:\n%s\nwant:\n%s", got, want)
	}
	// Every line is valid JSON.
	for _, line := range strings.Split(strings.TrimSuffix(string(got), "\n"), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("invalid JSON line: %s", line)
		}
	}
}

func TestRenderSelection(t *testing.T) {
	p := mixedPage(t, 1)
	r := renderer{format: JSONL}
	got, err := r.appendPage(nil, p, []byte{0b1001})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(mixedJSONL, "\n")
	if want := lines[0] + lines[3]; string(got) != want {
		t.Errorf("selection:\n%s\nwant:\n%s", got, want)
	}
	got, err = r.appendPage(nil, p, []byte{0})
	if err != nil || len(got) != 0 {
		t.Errorf("empty selection: %q %v", got, err)
	}
}

func TestRenderCSV(t *testing.T) {
	p := mixedPage(t, 1)
	r := renderer{format: CSV}
	got := appendCSVHeader(nil, p.Schema)
	got, err := r.appendPage(got, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != mixedCSV {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, mixedCSV)
	}
	// encoding/csv reads it back field for field (it cannot tell null
	// from empty: both read as "").
	recs, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || recs[0][9] != `Weird "col"` || recs[2][1] != "comma, \"quote\"\nnewline" || recs[1][2] != `["a","b,c"]` {
		t.Errorf("read back: %q", recs)
	}
}

func TestCSVField(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"", `""`},
		{"a,b", `"a,b"`},
		{`say "hi"`, `"say ""hi"""`},
		{"two\nlines", "\"two\nlines\""},
		{"cr\r", "\"cr\r\""},
		{" spaced ", " spaced "},
		{`"`, `""""`},
	} {
		if got := string(appendCSVField(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("appendCSVField(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRenderBadCell(t *testing.T) {
	s := abi.NewSchema(col("id", tInt), col("n", tBigint))
	p := page(t, 7, s, [][]byte{abi.AppendInt(nil, 1), abi.AppendBigint(nil, 1)}, [][]byte{abi.AppendInt(nil, 2), {1, 2, 3}})
	for _, f := range []Format{JSONL, CSV} {
		r := renderer{format: f}
		dst := []byte("keep")
		got, err := r.appendPage(dst, p, nil)
		if err == nil || !strings.Contains(err.Error(), `page 7, row 1: column "n" (bigint)`) {
			t.Errorf("%s: error = %v", f, err)
		}
		if string(got) != "keep" {
			t.Errorf("%s: a failed page left %q", f, got)
		}
	}
}

func TestWriterSink(t *testing.T) {
	var out bytes.Buffer
	s, err := NewWriter("demo/out", &out, CSV)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Restore(nil); err != nil {
		t.Fatal(err)
	}
	p := mixedPage(t, 1)
	if err := s.Write(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, mixedPage(t, 2), []byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(mixedCSV, "\n")
	if want := mixedCSV + lines[1]; out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if s.Position() != nil {
		t.Errorf("Position = %v, want nil", s.Position())
	}
	// Another schema cannot go into the same CSV output.
	other := page(t, 3, abi.NewSchema(col("x", tInt)), [][]byte{abi.AppendInt(nil, 1)})
	if err := s.Write(ctx, other, nil); err == nil || !strings.Contains(err.Error(), "page 3 has columns (x) but the header has (id, name,") {
		t.Errorf("schema change: %v", err)
	}
	if err := s.Flush(ctx); err == nil {
		t.Error("a broken sink flushed")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := s.Write(ctx, p, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v", err)
	}

	s2, _ := NewWriter("x", &out, JSONL)
	if err := s2.Restore(Offset("F")); !errors.Is(err, ErrBadOffset) {
		t.Errorf("Restore(non-nil) = %v", err)
	}
	if _, err := NewWriter("x", &out, "xml"); err == nil {
		t.Error("unknown format accepted")
	}
}

// writeRun writes pages [from, to) of a deterministic stream to s.
func writeRun(t *testing.T, s Sink, from, to int) {
	t.Helper()
	for n := from; n < to; n++ {
		var sel []byte
		if n%3 == 0 {
			sel = []byte{0b0101} // keep rows 0 and 2
		}
		if err := s.Write(context.Background(), mixedPage(t, uint64(n)), sel); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFileExactlyOnce simulates a crash after a checkpoint and checks that
// the file, once the restarted run has rewritten the rest, is byte for
// byte the file of a run without a crash.
func TestFileExactlyOnce(t *testing.T) {
	for _, f := range []Format{JSONL, CSV} {
		t.Run(string(f), func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()

			// A clean run: pages 1..9.
			clean := filepath.Join(dir, "clean."+string(f))
			s, err := OpenFile("s/clean", clean, f)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Restore(nil); err != nil {
				t.Fatal(err)
			}
			writeRun(t, s, 1, 10)
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			// A run that checkpoints after page 4, writes (and even
			// flushes) pages 5..7, then crashes with page 8 half written.
			path := filepath.Join(dir, "crash."+string(f))
			s, err = OpenFile("s/crash", path, f)
			if err != nil {
				t.Fatal(err)
			}
			s.(*fileSink).threshold = 100 // write to the file often
			if err := s.Restore(nil); err != nil {
				t.Fatal(err)
			}
			writeRun(t, s, 1, 5)
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			checkpoint := s.Position()
			writeRun(t, s, 5, 8)
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			writeRun(t, s, 8, 9)
			if err := s.Close(); err != nil { // the crash: no Flush
				t.Fatal(err)
			}
			fd, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			fd.WriteString(`{"id":8,"na`) // a torn write
			fd.Close()

			// The restart: restore the checkpoint, read again from page 5.
			s, err = OpenFile("s/crash", path, f)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Restore(checkpoint); err != nil {
				t.Fatal(err)
			}
			writeRun(t, s, 5, 10)
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			want, _ := os.ReadFile(clean)
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, want) {
				t.Fatalf("file after restart differs from a clean run:\n%s\nwant:\n%s", got, want)
			}
			if f == CSV && bytes.Count(got, []byte("id,name,")) != 1 {
				t.Errorf("CSV header written %d times", bytes.Count(got, []byte("id,name,")))
			}
		})
	}
}

func TestFileRestoreErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "dir", "out.jsonl")
	s, err := OpenFile("s/f", path, JSONL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Restore(nil); err != nil {
		t.Fatal(err)
	}
	writeRun(t, s, 1, 3)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	pos := s.Position()
	if st, _ := os.Stat(path); len(pos) != fileOffsetLen || int64(binary.BigEndian.Uint64(pos[2:])) != st.Size() {
		t.Fatalf("position %x", pos)
	}
	if err := s.Restore(pos); err == nil || !strings.Contains(err.Error(), "Restore after Write") {
		t.Errorf("Restore after Write = %v", err)
	}

	// A second sink on the same file is refused while the first has it.
	if _, err := OpenFile("s/g", path, JSONL); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("second OpenFile = %v, want a lock error", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Offsets of another format or kind, or beyond the file's end.
	csvSink, err := OpenFile("s/f", path, CSV)
	if err == nil {
		csvSink.Close()
		t.Error("a CSV sink opened a JSONL file without a header")
	}
	for _, tc := range []struct {
		off  Offset
		want string
	}{
		{Offset("x"), "not one of a file sink"},
		{append(Offset{'F', 'c'}, pos[2:]...), "another format than jsonl"},
		{append(Offset{'F', 'j'}, 0, 0, 0, 0, 0, 1, 0, 0), "shorter than the 65536 bytes of the checkpoint"},
	} {
		s, err := OpenFile("s/f", path, JSONL)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Restore(tc.off); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Restore(%x) = %v, want %q", tc.off, err, tc.want)
		}
		s.Close()
	}
	if _, err := OpenFile("s/d", dir, JSONL); err == nil {
		t.Error("a directory opened as a file sink")
	}
}

func TestNew(t *testing.T) {
	var out bytes.Buffer
	ctx := context.Background()
	s, err := New(ctx, config.Sink{Name: "out", Type: "stdout", Format: "jsonl"}, Env{Stream: "demo", Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, mixedPage(t, 1), []byte{1}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if want := strings.SplitAfter(mixedJSONL, "\n")[0]; out.String() != want {
		t.Errorf("stdout sink wrote %q", out.String())
	}
	path := filepath.Join(t.TempDir(), "o.csv")
	s, err = New(ctx, config.Sink{Name: "f", Type: "file", Format: "csv", Path: path}, Env{Stream: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := New(ctx, config.Sink{Name: "c", Type: "cassandra", Keyspace: "k", Table: "t", Consistency: "ONE"}, Env{}); err == nil || !strings.Contains(err.Error(), "needs a session") {
		t.Errorf("cassandra sink without session: %v", err)
	}
	if _, err := New(ctx, config.Sink{Name: "x", Type: "kafka"}, Env{}); err == nil {
		t.Error("unknown type accepted")
	}
}
