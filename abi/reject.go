package abi

// RejectedOutput is the dead-letter output (ABI.md, "Dead-letter output"):
// rows a plugin rejects, each with the input row's columns followed by one
// text column RejectReasonColumn holding why. Like every named output it
// goes straight to the sinks the stream routes it to; the host checks its
// schema (CheckRejected) and counts its rows (sluice_rows_rejected_total).
const RejectedOutput = "sluice.rejected"

// RejectReasonColumn is the last column of every RejectedOutput schema.
const RejectReasonColumn = "sluice_reject_reason"

// CheckRejected checks the sections of the dead-letter output: ROWS only,
// whose last column is RejectReasonColumn of type text. The host calls it
// after Validate. (It is separate from Validate so that the code compiled
// into Go plugins, which share this package, stays the same.)
func CheckRejected(r Result) error {
	for i, s := range r.Sections {
		if s.Output != RejectedOutput || s.Kind == SectionError {
			continue
		}
		if s.Kind != SectionRows {
			return errf("result section %d (%s, output %q): the dead-letter output takes ROWS sections only (the input's columns, then %s text)", i, s.Kind, s.Output, RejectReasonColumn)
		}
		var cols []Column
		if s.Rows != nil && s.Rows.Schema != nil {
			cols = s.Rows.Schema.Columns
		}
		if n := len(cols); n == 0 || cols[n-1].Name != RejectReasonColumn || cols[n-1].Type.ID != TypeVarchar {
			return errf("result section %d (ROWS, output %q): the dead-letter output's last column must be %s text; the columns are %v", i, s.Output, RejectReasonColumn, cols)
		}
	}
	return nil
}
