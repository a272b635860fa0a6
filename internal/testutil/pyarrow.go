package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// PyArrow returns the python of the test venv that has pyarrow
// (.cache/test-venv, made by scripts/install-deps), the independent reader
// of the parquet sink's files. It fails the test, never skips, when the
// venv is missing.
func PyArrow(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	py := filepath.Join(filepath.Dir(file), "..", "..", ".cache", "test-venv", "bin", "python")
	if p := os.Getenv("SLUICE_PYARROW_PYTHON"); p != "" {
		py = p
	}
	if out, err := exec.Command(py, "-c", "import pyarrow.parquet").CombinedOutput(); err != nil {
		t.Fatalf("this test reads Parquet with pyarrow from %s, which does not work (run scripts/install-deps): %v\n%s", py, err, out)
	}
	return py
}
