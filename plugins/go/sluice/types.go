package sluice

import "github.com/sluicehq/sluice/abi"

// The ABI's data types under this package's names: a plugin, and its tests,
// import only package sluice. They are aliases (the same types as the
// host's, encoded by the very same code), so a value of one is a value of
// the other.
type (
	// Schema is the columns of a page, or of rows a plugin writes.
	Schema = abi.Schema
	// Column is one column of a Schema: a name and a type.
	Column = abi.Column
	// Type is a CQL type descriptor (collections and UDTs nest).
	Type = abi.Type
	// TypeID is the top-level CQL type of a Type.
	TypeID = abi.TypeID
	// Duration is a CQL duration: months, days and nanoseconds.
	Duration = abi.Duration
	// ConfigPair is one key = value of a plugin's config.
	ConfigPair = abi.KV
)

// The CQL type ids of ABI v1.
const (
	TypeCustom    = abi.TypeCustom
	TypeASCII     = abi.TypeASCII
	TypeBigint    = abi.TypeBigint
	TypeBlob      = abi.TypeBlob
	TypeBoolean   = abi.TypeBoolean
	TypeCounter   = abi.TypeCounter
	TypeDecimal   = abi.TypeDecimal
	TypeDouble    = abi.TypeDouble
	TypeFloat     = abi.TypeFloat
	TypeInt       = abi.TypeInt
	TypeTimestamp = abi.TypeTimestamp
	TypeUUID      = abi.TypeUUID
	TypeVarchar   = abi.TypeVarchar
	TypeVarint    = abi.TypeVarint
	TypeTimeUUID  = abi.TypeTimeUUID
	TypeInet      = abi.TypeInet
	TypeDate      = abi.TypeDate
	TypeTime      = abi.TypeTime
	TypeSmallint  = abi.TypeSmallint
	TypeTinyint   = abi.TypeTinyint
	TypeDuration  = abi.TypeDuration
	TypeList      = abi.TypeList
	TypeMap       = abi.TypeMap
	TypeSet       = abi.TypeSet
	TypeUDT       = abi.TypeUDT
	TypeTuple     = abi.TypeTuple
	TypeVector    = abi.TypeVector
)

// NewSchema returns a schema of the given columns.
func NewSchema(cols ...Column) *Schema { return abi.NewSchema(cols...) }

// ParseType parses a CQL type as written in CQL: "int", "map<text, frozen<list<int>>>",
// "tuple<int, text>", "vector<float, 3>".
func ParseType(s string) (Type, error) { return abi.ParseType(s) }

// Preparer is implemented by plugins that resolve columns once per schema
// instead of on every page: Prepare is called before the first page of
// each new schema (pages of a stream share one, so usually once). An error
// fails that page, and Prepare is called again before the next one.
type Preparer interface {
	Prepare(schema *Schema) error
}
