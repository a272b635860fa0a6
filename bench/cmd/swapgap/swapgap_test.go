package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
)

func TestAppendULEB(t *testing.T) {
	for _, tc := range []struct {
		v    uint64
		want []byte
	}{
		{0, []byte{0}}, {127, []byte{0x7f}}, {128, []byte{0x80, 0x01}}, {624485, []byte{0xe5, 0x8e, 0x26}},
	} {
		if got := appendULEB(nil, tc.v); !bytes.Equal(got, tc.want) {
			t.Errorf("appendULEB(%d) = %x, want %x", tc.v, got, tc.want)
		}
	}
}

// A module with a nonce section still compiles, and differs from the
// original in its bytes only by the appended section.
func TestWithNonceCompiles(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("..", "..", "wasm", "noop.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	a, b := withNonce(orig, "swap 1"), withNonce(orig, "swap 2")
	if bytes.Equal(a, b) || !bytes.HasPrefix(a, orig) {
		t.Fatal("nonce copies should differ from each other and extend the original")
	}
	for _, m := range [][]byte{a, b, withNonce(orig, string(make([]byte, 300)))} {
		if _, err := rt.CompileModule(ctx, m); err != nil {
			t.Fatalf("module with nonce section does not compile: %v", err)
		}
	}
	if !bytes.Equal(orig[:8], []byte("\x00asm\x01\x00\x00\x00")) {
		t.Fatal("withNonce modified its input")
	}
}

func TestReplaceAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.wasm")
	for _, content := range []string{"first", "second"} {
		if err := replace(p, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Fatalf("after replace: %q, %v; want %q", got, err, content)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}
