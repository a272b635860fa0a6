package testutil

// AllTypesUDT creates the UDT that AllTypesColumns uses (format with the
// keyspace).
const AllTypesUDT = "CREATE TYPE IF NOT EXISTS %s.addr (street text, zip int, tags frozen<set<text>>)"

// AllTypesColumns are the columns of a table holding every CQL type, with
// the UDT AllTypesUDT (created in the same keyspace).
const AllTypesColumns = `
  id int PRIMARY KEY,
  a ascii, bi bigint, bl blob, bo boolean, de decimal, db double, fl float, i int,
  ts timestamp, u uuid, tx text, vi varint, tu timeuuid, ip inet, da date, ti time,
  si smallint, tn tinyint, du duration,
  l list<int>, s set<text>, m map<text, bigint>, fz frozen<list<frozen<map<int, text>>>>,
  ud frozen<addr>, udn addr, tup tuple<int, text, frozen<list<double>>>,
  vf vector<float, 3>, vt vector<text, 2>, nested map<text, frozen<list<frozen<addr>>>>`

// AllTypesInsert inserts into KEYSPACE.src (format with the keyspace, then
// append one of AllTypesRows).
const AllTypesInsert = `INSERT INTO %s.src (id, a, bi, bl, bo, de, db, fl, i, ts, u, tx, vi, tu, ip, da, ti, si, tn, du, l, s, m, fz, ud, udn, tup, vf, vt, nested) VALUES `

// AllTypesRows are value tuples for AllTypesInsert: every type with values
// at its limits, all nulls, empty values, and empty cells of non-text types.
var AllTypesRows = []string{
	`(1, 'ascii', 9223372036854775807, 0xcafebabe, true, 12.340, 3.141592653589793, 1.5, 42,
	  '2024-01-02 03:04:05.678+0000', 123e4567-e89b-12d3-a456-426614174000, 'héllo, "wörld"', 123456789012345678901234567890,
	  5b6962dd-3f90-11ee-be56-0242ac120002, '192.0.2.1', '2024-02-29', '23:59:59.999999999', -32768, -128, 1y2mo3d4h5m6s7ms8us9ns,
	  [1, 2, 3], {'a', 'b'}, {'k': 1, 'l': -1}, [{1: 'one'}, {}], {street: 'Main', zip: 12345, tags: {'x'}}, {street: 'Side', zip: null, tags: null},
	  (1, 'two', [3.0, 4.5]), [1.0, -2.5, 3.25], ['x', 'yz'], {'home': [{street: 'a', zip: 1, tags: {}}]})`,
	`(2, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
	  null, null, null, null, null, null, null, null, null, null)`,
	`(3, '', -9223372036854775808, 0x, false, -1E+3, NaN, -Infinity, -2147483648,
	  '1901-12-13 20:45:52.000+0000', 00000000-0000-0000-0000-000000000000, '', -1,
	  00000000-0000-1000-8000-000000000000, '2001:db8::1', '1900-01-01', '00:00:00', 32767, 127, -3d,
	  [], {}, {}, [], {street: '', zip: 0, tags: {}}, null, (null, null, null), [0.0, 0.0, 0.0], ['', ''], {})`,
	`(4, blobAsAscii(0x), blobAsBigint(0x), 0x, blobAsBoolean(0x), blobAsDecimal(0x), blobAsDouble(0x), blobAsFloat(0x), blobAsInt(0x),
	  blobAsTimestamp(0x), blobAsUuid(0x), blobAsText(0x), blobAsVarint(0x), blobAsTimeuuid(0x), blobAsInet(0x), null, null,
	  null, null, null, null, null, null, null, null, null, null, null, null, null)`,
}
