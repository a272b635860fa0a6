package sluice

import (
	"fmt"

	"github.com/sluicehq/sluice/abi"
)

// Reject sends input row to the dead-letter output (abi.RejectedOutput,
// "sluice.rejected") with reason, and drops it from the default output:
// the one way a stream continues past a bad row, by the plugin's choice,
// visibly (ABI.md, "Dead-letter output"). The dead-letter row has the
// input's columns, unchanged, then the text column sluice_reject_reason.
// The stream must route "sluice.rejected" to a sink. It panics when called
// from Flush.
func (o *Output) Reject(row Row, reason string) error {
	o.mustProcess("Reject")
	in := row.page.Schema()
	cols := make([]abi.Column, 0, len(in.Columns)+1)
	cols = append(append(cols, in.Columns...), abi.Column{Name: abi.RejectReasonColumn, Type: abi.Type{ID: abi.TypeVarchar}})
	w, err := o.Rows(abi.RejectedOutput, abi.NewSchema(cols...))
	if err != nil {
		return err
	}
	if w.cells != 0 {
		return fmt.Errorf("output \"%s\": Reject while row %d is partly written (%d cells)", abi.RejectedOutput, w.NumRows(), w.cells)
	}
	b, err := row.bytes()
	if err != nil {
		return err
	}
	w.startRow()
	w.data = append(w.data, b...)
	w.cells = len(in.Columns)
	w.Text(reason)
	if err := w.End(); err != nil {
		return err
	}
	o.Drop(row.i)
	return nil
}
