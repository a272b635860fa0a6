package pager

import (
	"context"
	"encoding/json"
	"os"
	"testing"
)

// Run ids (Checkpoint.Run): a pager starting afresh draws a new one, a
// resumed pager carries its checkpoint's, and checkpoints carry it through
// a FileStore; a checkpoint file written before run ids existed still
// loads and resumes (with Run "").
func TestRunIDDrawnFreshAndCarriedByResume(t *testing.T) {
	defer leakCheck(t)()
	ctx := context.Background()
	plan := evenPlan(t, 2)
	f := newFake(evenPages(2, 2, 3))
	opts := Options{Stream: "r"}

	newPager := func(cp *Checkpoint) *Pager {
		t.Helper()
		p, err := New(f, plan, opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Resume(cp); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := newPager(nil), newPager(nil)
	runA := a.Progress().Checkpoint(nil).Run
	if runA == "" || runA == b.Progress().Checkpoint(nil).Run {
		t.Fatalf("fresh pagers drew run ids %q and %q: want two different non-empty ids", runA, b.Progress().Checkpoint(nil).Run)
	}
	if again := a.Progress().Checkpoint(nil).Run; again != runA {
		t.Fatalf("the run id changed between checkpoints: %q, then %q", runA, again)
	}

	// Through a FileStore and a resume, the id stays.
	store, err := NewFileStore(t.TempDir(), Shard{})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Save(ctx, a.Progress().Checkpoint(nil)); err != nil {
		t.Fatal(err)
	}
	loaded, err := store.Load(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Run != runA {
		t.Fatalf("the file store loaded run %q, saved %q", loaded.Run, runA)
	}
	if got := newPager(loaded).Progress().Checkpoint(nil).Run; got != runA {
		t.Fatalf("a resumed pager stamps run %q, want the checkpoint's %q", got, runA)
	}

	// A file of an older sluice, without "run", loads and resumes; its
	// checkpoints keep the empty run id.
	old := loaded.Clone()
	old.Run = ""
	b2, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b2, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["run"]; ok {
		t.Fatal("an empty run id is written to the file")
	}
	if err := os.WriteFile(store.Path("r"), b2, 0o644); err != nil {
		t.Fatal(err)
	}
	legacy, err := store.Load(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if legacy.Run != "" {
		t.Fatalf("an old file loaded with run %q", legacy.Run)
	}
	if got := newPager(legacy).Progress().Checkpoint(nil).Run; got != "" {
		t.Fatalf("resuming an old checkpoint stamps run %q, want none", got)
	}
}
