package stream

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/sink"
	"github.com/sluicehq/sluice/pager"
)

// Keys of a checkpoint's Extra map written by the committer.
const (
	manifestKey  = "stream/manifest"
	sinkPrefix   = "sink/"  // sink/<sink name> → the sink's Offset
	statePrefix  = "state/" // state/<worker>/<plugin name> → the plugin's snapshot
	manifestVers = 1
	// seqKey numbers the checkpoints of one run (decimal): 1 for the
	// first, carried on by a resume. It orders a transactional sink's
	// checkpoint against the store's (Stream.reconcile).
	seqKey = "stream/seq"
	// WrittenPrefix + sink name → the rows the sink was given, by split
	// (JSON {"<split>": rows}; split -1: the workers' flush outputs, which
	// belong to no split). With the positions' rows and digests, the
	// scan's manifest (sluice verify).
	WrittenPrefix = "written/"
)

func seqOf(cp *pager.Checkpoint) uint64 {
	n, _ := strconv.ParseUint(string(cp.Extra[seqKey]), 10, 64)
	return n
}

func sinkKey(name string) string { return sinkPrefix + name }

// WrittenKey is the Extra key of a sink's rows written by split.
func WrittenKey(sink string) string { return WrittenPrefix + sink }

// DecodeWritten reads a WrittenKey value; nil or bad input gives an empty
// map (counts of an older sluice are absent, not an error).
func DecodeWritten(b []byte) map[int]uint64 {
	m := map[int]uint64{}
	if len(b) == 0 {
		return m
	}
	var raw map[string]uint64
	if json.Unmarshal(b, &raw) != nil {
		return m
	}
	for k, v := range raw {
		if i, err := strconv.Atoi(k); err == nil {
			m[i] = v
		}
	}
	return m
}

func encodeWritten(m map[int]uint64) []byte {
	raw := make(map[string]uint64, len(m))
	for k, v := range m {
		raw[strconv.Itoa(k)] = v
	}
	b, _ := json.Marshal(raw)
	return b
}

func stateKey(worker int, plugin string) string {
	return statePrefix + strconv.Itoa(worker) + "/" + plugin
}

// parseStateKey splits "state/<worker>/<plugin>".
func parseStateKey(k string) (worker int, plugin string, ok bool) {
	rest, found := strings.CutPrefix(k, statePrefix)
	if !found {
		return 0, "", false
	}
	ws, plugin, found := strings.Cut(rest, "/")
	if !found {
		return 0, "", false
	}
	w, err := strconv.Atoi(ws)
	if err != nil || w < 0 {
		return 0, "", false
	}
	return w, plugin, true
}

// manifest says what a checkpoint covers: every sink (whose offset it
// holds, if the sink is rewindable), every plugin of the chain (whose state
// it holds, if the plugin is stateful), and the number of workers the
// states belong to. A worker that flushed has no state in it: its state was
// emitted, and a resumed worker starts empty rather than flush it again.
type manifest struct {
	Version int              `json:"version"`
	Workers int              `json:"workers"`
	Sinks   []manifestSink   `json:"sinks"`
	Plugins []manifestPlugin `json:"plugins"`
}

type manifestSink struct {
	Name     string `json:"name"`
	Identity string `json:"identity"`
}

type manifestPlugin struct {
	Name string `json:"name"`
}

// ResumeError is returned by New when the checkpoint cannot be resumed
// with the stream as it is now: the query or split plan changed, or sinks
// or plugins were added, removed or changed in a way that cannot be mapped
// unambiguously. Nothing was read or written.
type ResumeError struct {
	Stream    string
	Changes   []string // what changed, one line each
	StartOver string   // how to discard the checkpoint
}

func (e *ResumeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stream %q: the checkpoint cannot be resumed with this config, so nothing was read or written:", e.Stream)
	for _, c := range e.Changes {
		b.WriteString("\n  - ")
		b.WriteString(c)
	}
	b.WriteString("\nrestore the config the checkpoint was written with to resume; to start over instead, ")
	if e.StartOver != "" {
		b.WriteString(e.StartOver)
	} else {
		b.WriteString("delete the stream's checkpoint")
	}
	b.WriteString(" (rewindable sinks are then truncated and written again from the start)")
	return b.String()
}

// resumePlan is how a loaded checkpoint maps onto the stream as built: by
// the current names of its sinks and plugins.
type resumePlan struct {
	cp      *pager.Checkpoint
	offsets map[string]sink.Offset    // current sink name → offset
	written map[string]map[int]uint64 // current sink name → rows written by split
	states  map[int]map[int][]byte    // worker → plugin index → state
	mapped  []string                  // renames that were mapped, for the log
}

// planResume maps cp onto spec, or refuses with a *ResumeError that lists
// every change it cannot map.
func planResume(spec *Spec, cp *pager.Checkpoint, workers int) (*resumePlan, error) {
	rp := &resumePlan{cp: cp, offsets: map[string]sink.Offset{}, written: map[string]map[int]uint64{}, states: map[int]map[int][]byte{}}
	m, legacy, err := readManifest(cp)
	if err != nil {
		return nil, &ResumeError{Stream: spec.Name, Changes: []string{err.Error()}, StartOver: spec.Checkpoint.StartOver}
	}
	var changes []string

	// Sinks: by name; a name the checkpoint lacks maps to the one old sink
	// with the same identity that no current sink takes.
	oldSink := map[string]manifestSink{}
	for _, o := range m.Sinks {
		oldSink[o.Name] = o
	}
	taken := map[string]bool{}
	var unmatched []Sink
	for _, sk := range spec.Sinks {
		o, ok := oldSink[sk.Name]
		if !ok {
			unmatched = append(unmatched, sk)
			continue
		}
		taken[o.Name] = true
		if !legacy && o.Identity != sk.Identity {
			changes = append(changes, fmt.Sprintf("sink %q now writes to %s; the checkpoint's sink %q wrote to %s", sk.Name, sk.Identity, o.Name, o.Identity))
			continue
		}
		if off, ok := cp.Extra[sinkKey(o.Name)]; ok {
			rp.offsets[sk.Name] = off
		}
		rp.written[sk.Name] = DecodeWritten(cp.Extra[WrittenKey(o.Name)])
	}
	for _, sk := range unmatched {
		var cands []manifestSink
		for _, o := range m.Sinks {
			if !taken[o.Name] && !legacy && o.Identity == sk.Identity {
				cands = append(cands, o)
			}
		}
		switch {
		case legacy && sk.Sink.Position() == nil:
			// A checkpoint of an older sluice lists only rewindable sinks.
		case len(cands) == 1:
			o := cands[0]
			taken[o.Name] = true
			if off, ok := cp.Extra[sinkKey(o.Name)]; ok {
				rp.offsets[sk.Name] = off
			}
			rp.written[sk.Name] = DecodeWritten(cp.Extra[WrittenKey(o.Name)])
			rp.mapped = append(rp.mapped, fmt.Sprintf("sink %q was renamed %q (same target %s)", o.Name, sk.Name, sk.Identity))
		case len(cands) > 1:
			changes = append(changes, fmt.Sprintf("sink %q is new, and %d sinks of the checkpoint wrote to %s: which one it replaces is ambiguous", sk.Name, len(cands), sk.Identity))
		default:
			changes = append(changes, fmt.Sprintf("sink %q (%s) was added: it would lack the rows committed before the stop", sk.Name, orUnknown(sk.Identity)))
		}
	}
	for _, o := range m.Sinks {
		if !taken[o.Name] {
			changes = append(changes, fmt.Sprintf("sink %q (%s) of the checkpoint was removed or renamed to a sink that writes elsewhere", o.Name, orUnknown(o.Identity)))
		}
	}

	// Plugins: by name at the same place in the chain; a pure rename (same
	// chain length, the old name gone, the new one new) maps by position.
	index := map[string]int{} // old name → current index
	cur := spec.Plugins
	if legacy {
		for _, o := range m.Plugins {
			i := slices.IndexFunc(cur, func(p Plugin) bool { return p.Name == o.Name })
			if i < 0 {
				changes = append(changes, fmt.Sprintf("the checkpoint holds state of plugin %q, which is not in the chain", o.Name))
				continue
			}
			index[o.Name] = i
		}
	} else if len(m.Plugins) != len(cur) {
		changes = append(changes, fmt.Sprintf("the plugin chain was %s; it is now %s", chainText(m.Plugins), chainTextOf(cur)))
	} else {
		oldNames := map[string]bool{}
		for _, o := range m.Plugins {
			oldNames[o.Name] = true
		}
		var renames []string
		for i, o := range m.Plugins {
			p := cur[i]
			switch {
			case p.Name == o.Name:
				index[o.Name] = i
			case !oldNames[p.Name] && !slices.ContainsFunc(cur, func(c Plugin) bool { return c.Name == o.Name }):
				index[o.Name] = i
				renames = append(renames, fmt.Sprintf("plugin %q (place %d of the chain) was renamed %q", o.Name, i+1, p.Name))
			default:
				// A plugin moved: the chain is another one.
				index = nil
			}
			if index == nil {
				changes = append(changes, fmt.Sprintf("the plugin chain was %s; it is now %s", chainText(m.Plugins), chainTextOf(cur)))
				break
			}
		}
		rp.mapped = append(rp.mapped, renames...)
	}

	// States, by worker. They belong to the workers of the run that saved
	// them: with another number of workers they cannot be placed.
	for k, b := range cp.Extra {
		w, name, ok := parseStateKey(k)
		if !ok {
			continue
		}
		i, ok := index[name]
		if !ok {
			continue // reported above
		}
		if w >= workers || (!legacy && m.Workers != workers) {
			changes = append(changes, fmt.Sprintf("the checkpoint holds plugin state of %d workers (source concurrency) and this run has %d: resume with concurrency giving %d workers", max(m.Workers, w+1), workers, max(m.Workers, w+1)))
			break
		}
		if rp.states[w] == nil {
			rp.states[w] = map[int][]byte{}
		}
		rp.states[w][i] = b
	}
	if len(changes) > 0 {
		sort.Strings(changes)
		changes = slices.Compact(changes)
		return nil, &ResumeError{Stream: spec.Name, Changes: changes, StartOver: spec.Checkpoint.StartOver}
	}
	return rp, nil
}

// readManifest decodes cp's manifest. A checkpoint written before
// manifests existed gets one built from its keys (legacy = true): it names
// the rewindable sinks and the stateful plugins only.
func readManifest(cp *pager.Checkpoint) (m manifest, legacy bool, err error) {
	b, ok := cp.Extra[manifestKey]
	if !ok {
		seen := map[string]bool{}
		for k := range cp.Extra {
			if name, ok := strings.CutPrefix(k, sinkPrefix); ok {
				m.Sinks = append(m.Sinks, manifestSink{Name: name})
			}
			if _, name, ok := parseStateKey(k); ok && !seen[name] {
				seen[name] = true
				m.Plugins = append(m.Plugins, manifestPlugin{Name: name})
			}
		}
		return m, true, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, false, fmt.Errorf("the checkpoint's manifest is unreadable: %v", err)
	}
	if m.Version != manifestVers {
		return m, false, fmt.Errorf("the checkpoint's manifest has version %d; this sluice reads version %d", m.Version, manifestVers)
	}
	return m, false, nil
}

// newManifest describes the stream for a checkpoint.
func newManifest(spec *Spec, workers int) []byte {
	m := manifest{Version: manifestVers, Workers: workers}
	for _, sk := range spec.Sinks {
		m.Sinks = append(m.Sinks, manifestSink{Name: sk.Name, Identity: sk.Identity})
	}
	for _, p := range spec.Plugins {
		m.Plugins = append(m.Plugins, manifestPlugin{Name: p.Name})
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // plain strings and ints
	}
	return b
}

func chainText(ps []manifestPlugin) string {
	if len(ps) == 0 {
		return "empty"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = strconv.Quote(p.Name)
	}
	return "[" + strings.Join(names, " → ") + "]"
}

func chainTextOf(ps []Plugin) string {
	mp := make([]manifestPlugin, len(ps))
	for i, p := range ps {
		mp[i].Name = p.Name
	}
	return chainText(mp)
}

func orUnknown(s string) string {
	if s == "" {
		return "target unknown"
	}
	return s
}
