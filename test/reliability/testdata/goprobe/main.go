// Command goprobe is a hostile plugin written with the Go SDK: on the first
// page it tries, through Go's standard library, everything a plugin must
// not be able to do (read or write files, list directories, see the
// environment or the command line, dial or listen on a socket, run a
// program, use a stray file descriptor, read stdin), and reports each
// attempt as one row of output "probe": (check text, escaped boolean,
// detail text). Every input row passes through unchanged.
//
// test/reliability's TestSandboxGo runs it through sluice and fails on any
// row with escaped = true, or when a check is missing. (Go's net package on
// wasip1 is an in-memory fake: the proof that no host socket exists is the
// refused dial to the node that listens on 127.0.0.1:9042.)
//
// TestSandboxGo builds it, against the current SDK, with:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o goprobe.wasm ./test/reliability/testdata/goprobe
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/plugins/go/sluice"
)

func init() { sluice.Register(&probe{}) }

func main() {}

var schema = abi.NewSchema(
	abi.Column{Name: "check", Type: abi.Type{ID: abi.TypeVarchar}},
	abi.Column{Name: "escaped", Type: abi.Type{ID: abi.TypeBoolean}},
	abi.Column{Name: "detail", Type: abi.Type{ID: abi.TypeVarchar}},
)

type probe struct{ done bool }

func (p *probe) Init(cfg sluice.Config) error { return nil }

type result struct {
	check   string
	escaped bool
	detail  string
}

// outcome turns an attempt's error into a result: no error means the
// sandbox let it through.
func outcome(check string, err error, what string) result {
	if err == nil {
		return result{check, true, "succeeded: " + what}
	}
	return result{check, false, err.Error()}
}

func checks() []result {
	var rs []result
	for _, path := range []string{"/etc/passwd", "/proc/self/environ", "go.mod", "../../go.mod", "."} {
		b, err := os.ReadFile(path)
		rs = append(rs, outcome("read "+path, err, fmt.Sprintf("%d bytes", len(b))))
	}
	for _, dir := range []string{"/", ".", "/tmp"} {
		ents, err := os.ReadDir(dir)
		rs = append(rs, outcome("list "+dir, err, fmt.Sprintf("%d entries", len(ents))))
	}
	err := os.WriteFile("/tmp/sluice-sandbox-escape", []byte("escaped"), 0o644)
	rs = append(rs, outcome("write /tmp/sluice-sandbox-escape", err, "file written"))
	err = os.Mkdir("sluice-sandbox-escape-dir", 0o755)
	rs = append(rs, outcome("mkdir sluice-sandbox-escape-dir", err, "directory created"))

	env := os.Environ()
	rs = append(rs, result{"environment", len(env) > 0, fmt.Sprintf("%d variables: %s", len(env), strings.Join(env, " "))})
	v, ok := os.LookupEnv("SLUICE_PROBE_SECRET")
	rs = append(rs, result{"getenv SLUICE_PROBE_SECRET", ok, fmt.Sprintf("set=%v value=%q", ok, v)})
	rs = append(rs, result{"command line", len(os.Args) > 0, fmt.Sprintf("%d args: %q", len(os.Args), os.Args)})

	c, err := net.Dial("tcp", "127.0.0.1:9042")
	if err == nil {
		c.Close()
	}
	rs = append(rs, outcome("dial tcp 127.0.0.1:9042", err, "connected"))
	// Go's net package on wasip1 is an in-memory fake network: Listen
	// succeeds without any host socket. The dial to the real node above
	// is the proof that there is no host network; report what listen did.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	detail := fmt.Sprint(err)
	if err == nil {
		detail = "in-process fake listener at " + l.Addr().String() + " (Go's net on wasip1; no host socket)"
		l.Close()
	}
	rs = append(rs, result{"listen tcp 127.0.0.1:0", false, detail})
	_, err = net.LookupHost("localhost")
	rs = append(rs, outcome("resolve localhost", err, "resolved"))

	err = exec.Command("/bin/sh", "-c", "true").Run()
	rs = append(rs, outcome("exec /bin/sh", err, "ran"))

	for fd := uintptr(3); fd < 10; fd++ {
		f := os.NewFile(fd, fmt.Sprintf("fd%d", fd))
		_, err := f.Stat()
		rs = append(rs, outcome(fmt.Sprintf("stat fd %d", fd), err, "a descriptor the host left open"))
	}
	in, err := io.ReadAll(os.Stdin)
	rs = append(rs, result{"read stdin", len(in) > 0, fmt.Sprintf("%d bytes, err %v", len(in), err)})
	return rs
}

func (p *probe) Process(page *sluice.Page, out *sluice.Output) error {
	if p.done {
		return nil
	}
	p.done = true
	for _, r := range checks() {
		if err := out.Emit("probe", schema, r.check, r.escaped, r.detail); err != nil {
			return fmt.Errorf("goprobe: %w", err)
		}
	}
	return nil
}
