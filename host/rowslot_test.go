package host

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/abi"
)

// A trap names the row the plugin was on (its row slot, ABI.md 3.1) and the
// row's primary key from the instance's key columns.
func TestTrapNamesRowFromSlot(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	m := compileFixture(t, r, "row_slot")
	inst := instantiate(t, m, InstanceConfig{Plugin: "slot", KeyColumns: []string{"id", "n", "missing"}})
	if _, err := inst.Process(context.Background(), makePage(t, 1, 3)); err != nil {
		t.Fatalf("3 rows: %v", err)
	}
	_, err := inst.Process(context.Background(), makePage(t, 2, 6))
	pe := asPluginError(t, err, KindTrap)
	if pe.Row != 3 {
		t.Errorf("Row = %d, want 3", pe.Row)
	}
	if want := `id="00000000-0000-0000-0000-000000000003", n=3`; pe.Key != want {
		t.Errorf("Key = %s, want %s", pe.Key, want)
	}
	containsAll(t, pe.Error(), `on page 2 split 0 row 3 (key id="00000000-0000-0000-0000-000000000003", n=3)`, "unreachable")
}

// Through a batch (the rows a previous plugin kept), the row is that of the
// original page.
func TestTrapRowOfBatchIsRowOfPage(t *testing.T) {
	r := newRuntime(t, RuntimeConfig{})
	m := compileFixture(t, r, "row_slot")
	inst := instantiate(t, m, InstanceConfig{Plugin: "slot"})
	page := makePage(t, 1, 10)
	sel := make([]byte, abi.BitmapLen(10))
	for _, i := range []int{1, 2, 5, 7, 9} { // the plugin's row 3 is the page's row 7
		abi.BitmapSet(sel, i)
	}
	_, err := inst.ProcessBatch(context.Background(), NewBatch(page, sel))
	pe := asPluginError(t, err, KindTrap)
	if pe.Row != 7 || pe.Key != "" {
		t.Errorf("Row, Key = %d, %q; want 7 and no key (no key columns)", pe.Row, pe.Key)
	}
	if !strings.Contains(pe.Error(), "row 7:") {
		t.Errorf("report: %s", pe.Error())
	}
}
