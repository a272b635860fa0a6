// Command cqlreplay takes the Cassandra node out of a benchmark: it
// records the CQL native-protocol (v4) responses a client gets from the
// node, then serves them back from memory as fast as a client asks, so
// that a client's own ceiling (rows/s per core) can be measured with the
// node out of the way, and sluice's ceiling compared with the raw gocql
// driver's under the same replay.
//
//	cqlreplay -record -listen 127.0.0.2:9042 -upstream 127.0.0.1:9042 -capture wide.capture
//	    proxies every connection to the node and records each response,
//	    keyed by its request; SIGINT or SIGTERM writes the capture and exits.
//	cqlreplay -listen 127.0.0.2:9042 -capture wide.capture
//	    serves the capture: each request is answered with the recorded
//	    response to the same request (the stream id is the request's);
//	    a request that is not in the capture gets a server ERROR naming it,
//	    so a replayed run can never silently read something else.
//
// Clients must speak protocol v4 (sluice: [cassandra] protocol_version = 4;
// bench/cmd/rawscan: -proto 4): v5 wraps frames in checksummed segments
// that this tool does not parse. Listening on another loopback address
// with the node's port (127.0.0.2:9042) keeps drivers that learn the
// node's port from system.local on the replay.
//
// A request is keyed by its opcode and body, with what changes from run
// to run taken out: the client timestamp of QUERY and EXECUTE (flag 0x20),
// and the bodies of STARTUP, OPTIONS and REGISTER (the driver's options map
// has no fixed order). Paging states, prepared ids and bound token ranges
// are the same in every run of the same client against the same capture,
// so a whole paged scan replays. Nothing else is interpreted: the rows go
// back to the client byte for byte as the node sent them.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
)

const (
	opError    = 0x00
	opStartup  = 0x01
	opOptions  = 0x05
	opQuery    = 0x07
	opExecute  = 0x0A
	opRegister = 0x0B

	headerLen = 9
	maxFrame  = 256 << 20 // the protocol's limit
)

// response is a recorded response frame without its stream id.
type response struct {
	flags, opcode byte
	body          []byte
}

func main() {
	listen := flag.String("listen", "127.0.0.2:9042", "address to serve CQL on")
	upstream := flag.String("upstream", "127.0.0.1:9042", "the node, with -record")
	capture := flag.String("capture", "", "capture file (written with -record, read without)")
	record := flag.Bool("record", false, "proxy to -upstream and record, instead of serving the capture")
	flag.Parse()
	if *capture == "" {
		fmt.Fprintln(os.Stderr, "cqlreplay: -capture is required")
		os.Exit(2)
	}
	if err := run(*listen, *upstream, *capture, *record); err != nil {
		fmt.Fprintln(os.Stderr, "cqlreplay:", err)
		os.Exit(1)
	}
}

type server struct {
	mu struct {
		sync.Mutex
		recorded map[string]response // guarded by mu (-record only)
	}
	replay         map[string]response // read-only while serving
	served, missed atomic.Int64
}

func run(listen, upstream, capture string, record bool) error {
	s := &server{}
	s.mu.recorded = map[string]response{}
	if !record {
		m, err := readCapture(capture)
		if err != nil {
			return err
		}
		s.replay = m
		fmt.Fprintf(os.Stderr, "cqlreplay: serving %d recorded responses from %s on %s\n", len(m), capture, listen)
	} else {
		fmt.Fprintf(os.Stderr, "cqlreplay: recording %s on %s into %s\n", upstream, listen, capture)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			break
		}
		if record {
			go s.proxy(c, upstream)
		} else {
			go s.serve(c)
		}
	}
	if record {
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := writeCapture(capture, s.mu.recorded); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "cqlreplay: wrote %d responses to %s\n", len(s.mu.recorded), capture)
		return nil
	}
	fmt.Fprintf(os.Stderr, "cqlreplay: served %d requests, %d not in the capture\n", s.served.Load(), s.missed.Load())
	if s.missed.Load() > 0 {
		return fmt.Errorf("%d requests were not in the capture", s.missed.Load())
	}
	return nil
}

// readFrame reads one frame: header and body.
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	if cap(buf) < headerLen {
		buf = make([]byte, headerLen, 64<<10)
	}
	buf = buf[:headerLen]
	if _, err := io.ReadFull(r, buf); err != nil {
		return buf, err
	}
	if v := buf[0] & 0x7F; v != 4 {
		return buf, fmt.Errorf("protocol version %d: cqlreplay speaks v4 only (set the client's protocol version to 4)", v)
	}
	n := binary.BigEndian.Uint32(buf[5:9])
	if n > maxFrame {
		return buf, fmt.Errorf("frame body of %d bytes", n)
	}
	buf = append(buf, make([]byte, n)...)
	_, err := io.ReadFull(r, buf[headerLen:])
	return buf, err
}

// key returns the replay key of a request frame.
func key(frame []byte) (string, error) {
	op, body := frame[4], frame[headerLen:]
	switch op {
	case opStartup, opOptions, opRegister:
		return string([]byte{op}), nil
	case opQuery, opExecute:
		var head int // the query string or the prepared id
		if op == opQuery {
			if len(body) < 4 {
				return "", errors.New("short QUERY")
			}
			head = 4 + int(binary.BigEndian.Uint32(body))
		} else {
			if len(body) < 2 {
				return "", errors.New("short EXECUTE")
			}
			head = 2 + int(binary.BigEndian.Uint16(body))
		}
		ts, err := timestampAt(body, head)
		if err != nil {
			return "", fmt.Errorf("opcode 0x%02X: %w", op, err)
		}
		k := append([]byte{op}, body...)
		if ts >= 0 {
			k[1+head+2] &^= 0x20 // flags: no timestamp
			k = append(k[:1+ts], k[1+ts+8:]...)
		}
		return string(k), nil
	}
	return string(frame[4:5]) + string(body), nil
}

// timestampAt parses the query parameters at body[off:] (protocol v4,
// section 4.1.4) and returns the offset of the client timestamp, or -1
// when there is none.
func timestampAt(body []byte, off int) (int, error) {
	p := off
	need := func(n int) error {
		if p+n > len(body) {
			return fmt.Errorf("query parameters: %d bytes needed at %d of %d", n, p, len(body))
		}
		return nil
	}
	if err := need(3); err != nil {
		return 0, err
	}
	flags := body[p+2]
	p += 3
	if flags&0x01 != 0 { // values
		if err := need(2); err != nil {
			return 0, err
		}
		n := int(binary.BigEndian.Uint16(body[p:]))
		p += 2
		for range n {
			if flags&0x40 != 0 { // names
				if err := need(2); err != nil {
					return 0, err
				}
				p += 2 + int(binary.BigEndian.Uint16(body[p:]))
			}
			if err := need(4); err != nil {
				return 0, err
			}
			l := int32(binary.BigEndian.Uint32(body[p:]))
			p += 4
			if l > 0 {
				p += int(l)
			}
		}
	}
	if flags&0x04 != 0 { // page size
		p += 4
	}
	if flags&0x08 != 0 { // paging state
		if err := need(4); err != nil {
			return 0, err
		}
		l := int32(binary.BigEndian.Uint32(body[p:]))
		p += 4
		if l > 0 {
			p += int(l)
		}
	}
	if flags&0x10 != 0 { // serial consistency
		p += 2
	}
	if flags&0x20 == 0 {
		return -1, nil
	}
	if err := need(8); err != nil {
		return 0, err
	}
	return p, nil
}

// proxy forwards one client connection to the node and records every
// response to a request with a key.
func (s *server) proxy(c net.Conn, upstream string) {
	defer c.Close()
	u, err := net.Dial("tcp", upstream)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cqlreplay:", err)
		return
	}
	defer u.Close()
	var mu sync.Mutex
	pending := map[int16]string{} // stream -> key of the request in flight
	done := make(chan struct{})
	go func() { // node -> client
		defer close(done)
		defer c.Close()
		r := bufio.NewReaderSize(u, 1<<20)
		var f []byte
		for {
			var err error
			if f, err = readFrame(r, f); err != nil {
				return
			}
			stream := int16(binary.BigEndian.Uint16(f[2:4]))
			mu.Lock()
			k, ok := pending[stream]
			delete(pending, stream)
			mu.Unlock()
			if ok && stream >= 0 {
				s.mu.Lock()
				if _, seen := s.mu.recorded[k]; !seen {
					s.mu.recorded[k] = response{flags: f[1], opcode: f[4], body: append([]byte(nil), f[headerLen:]...)}
				}
				s.mu.Unlock()
			}
			if _, err := c.Write(f); err != nil {
				return
			}
		}
	}()
	r := bufio.NewReader(c)
	var f []byte
	for {
		var err error
		if f, err = readFrame(r, f); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				fmt.Fprintln(os.Stderr, "cqlreplay:", err)
			}
			break
		}
		k, err := key(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cqlreplay: request not recorded:", err)
		} else {
			mu.Lock()
			pending[int16(binary.BigEndian.Uint16(f[2:4]))] = k
			mu.Unlock()
		}
		if _, err := u.Write(f); err != nil {
			break
		}
	}
	u.Close()
	<-done
}

// serve answers one client connection from the capture.
func (s *server) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriterSize(c, 64<<10)
	var f []byte
	var hdr [headerLen]byte
	for {
		var err error
		if f, err = readFrame(r, f); err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintln(os.Stderr, "cqlreplay:", err)
			}
			return
		}
		k, err := key(f)
		resp, ok := s.replay[k]
		if err != nil || !ok {
			s.missed.Add(1)
			msg := fmt.Sprintf("cqlreplay: request not in the capture (opcode 0x%02X, %d bytes)", f[4], len(f)-headerLen)
			if err != nil {
				msg += ": " + err.Error()
			}
			body := binary.BigEndian.AppendUint32(nil, 0x0000) // server error
			body = binary.BigEndian.AppendUint16(body, uint16(len(msg)))
			resp = response{opcode: opError, body: append(body, msg...)}
		} else {
			s.served.Add(1)
		}
		hdr = [headerLen]byte{0x84, resp.flags, f[2], f[3], resp.opcode}
		binary.BigEndian.PutUint32(hdr[5:], uint32(len(resp.body)))
		w.Write(hdr[:])
		w.Write(resp.body)
		if r.Buffered() == 0 { // nothing else asked: send now
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

// The capture file: "cqlreplay1\n", then per response [u32 key length]
// [key] [flags] [opcode] [u32 body length] [body].
const magic = "cqlreplay1\n"

func writeCapture(path string, m map[string]response) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(magic)
	var n [4]byte
	for k, r := range m {
		binary.BigEndian.PutUint32(n[:], uint32(len(k)))
		w.Write(n[:])
		w.WriteString(k)
		w.Write([]byte{r.flags, r.opcode})
		binary.BigEndian.PutUint32(n[:], uint32(len(r.body)))
		w.Write(n[:])
		w.Write(r.body)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readCapture(path string) (map[string]response, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(r, head); err != nil || string(head) != magic {
		return nil, fmt.Errorf("%s: not a cqlreplay capture", path)
	}
	m := map[string]response{}
	var n [4]byte
	for {
		if _, err := io.ReadFull(r, n[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return m, nil
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		k := make([]byte, binary.BigEndian.Uint32(n[:]))
		var fo [2]byte
		if _, err := io.ReadFull(r, k); err != nil {
			return nil, fmt.Errorf("%s: truncated: %w", path, err)
		}
		if _, err := io.ReadFull(r, fo[:]); err != nil {
			return nil, fmt.Errorf("%s: truncated: %w", path, err)
		}
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return nil, fmt.Errorf("%s: truncated: %w", path, err)
		}
		body := make([]byte, binary.BigEndian.Uint32(n[:]))
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, fmt.Errorf("%s: truncated: %w", path, err)
		}
		m[string(k)] = response{flags: fo[0], opcode: fo[1], body: body}
	}
}
