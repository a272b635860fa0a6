package host

import (
	"errors"
	"fmt"
)

// importEntry is one entry of a module's import section.
type importEntry struct {
	Module, Name string
	Kind         byte // 0 func, 1 table, 2 memory, 3 global, 4 tag
}

var importKindNames = [...]string{"function", "table", "memory", "global", "tag"}

func (e importEntry) kindName() string {
	if int(e.Kind) < len(importKindNames) {
		return importKindNames[e.Kind]
	}
	return fmt.Sprintf("kind %d", e.Kind)
}

// parseImports lists the import section of a WebAssembly binary. wazero's
// CompiledModule only reports imported functions and memories; the host
// must also refuse imported tables and globals with a clear message rather
// than a link error, so it reads the section itself. It is called only on
// bytes wazero already compiled, so errors here are unexpected.
func parseImports(wasm []byte) ([]importEntry, error) {
	r := &wreader{b: wasm}
	if len(wasm) < 8 {
		return nil, errors.New("shorter than the wasm header")
	}
	r.off = 8
	for r.off < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		end := r.off + int(size)
		if end > len(r.b) || end < r.off {
			return nil, fmt.Errorf("section %d overruns the module", id)
		}
		if id != 2 {
			r.off = end
			continue
		}
		sec := &wreader{b: r.b[:end], off: r.off}
		n, err := sec.u32()
		if err != nil {
			return nil, err
		}
		var out []importEntry
		for i := uint32(0); i < n; i++ {
			var e importEntry
			if e.Module, err = sec.name(); err != nil {
				return nil, err
			}
			if e.Name, err = sec.name(); err != nil {
				return nil, err
			}
			if e.Kind, err = sec.byte(); err != nil {
				return nil, err
			}
			if err := sec.skipImportDesc(e.Kind); err != nil {
				return nil, fmt.Errorf("import %s.%s: %w", e.Module, e.Name, err)
			}
			out = append(out, e)
		}
		return out, nil
	}
	return nil, nil
}

type wreader struct {
	b   []byte
	off int
}

var errTruncated = errors.New("truncated")

func (r *wreader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *wreader) u32() (uint32, error) {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errors.New("LEB128 too long")
}

func (r *wreader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	if int(n) > len(r.b)-r.off {
		return "", errTruncated
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s, nil
}

// limits skips a limits structure (flags, min[, max]).
func (r *wreader) limits() error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if _, err := r.u32(); err != nil {
		return err
	}
	if flags&1 != 0 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

func (r *wreader) skipImportDesc(kind byte) error {
	switch kind {
	case 0: // func: type index
		_, err := r.u32()
		return err
	case 1: // table: reftype, limits
		if _, err := r.byte(); err != nil {
			return err
		}
		return r.limits()
	case 2: // memory: limits
		return r.limits()
	case 3: // global: valtype, mut
		if _, err := r.byte(); err != nil {
			return err
		}
		_, err := r.byte()
		return err
	case 4: // tag: attribute, type index
		if _, err := r.byte(); err != nil {
			return err
		}
		_, err := r.u32()
		return err
	}
	return fmt.Errorf("unknown import kind %d", kind)
}
