//! Native unit tests of the SDK: `make -C plugins rust-test`.

use std::net::IpAddr;

use crate::testing::{decode_result, Harness, PageBuilder, Section};
use crate::value::{put_uvint, put_vint, read_uvint, read_vint};
use crate::*;

fn schema_all() -> Schema {
    Schema::new()
        .with("i", Type::int())
        .with("t", Type::text())
        .with("b", Type::bigint())
}

#[test]
fn type_desc_roundtrip_and_display() {
    let cases: Vec<(Type, &str)> = vec![
        (Type::int(), "int"),
        (Type::map(Type::text(), Type::list(Type::int())), "map<text, frozen<list<int>>>"),
        (Type::vector(Type::float(), 3), "vector<float, 3>"),
        (Type::tuple(vec![Type::int(), Type::set(Type::uuid())]), "tuple<int, frozen<set<uuid>>>"),
        (
            Type::udt("ks", "Addr", vec![("street".into(), Type::text()), ("n".into(), Type::smallint())]),
            "ks.\"Addr\"",
        ),
        (Type::custom("org.x.It's"), "'org.x.It''s'"),
    ];
    for (t, s) in cases {
        assert_eq!(t.to_string(), s);
        let mut b = Vec::new();
        t.encode(&mut b);
        let (u, n) = Type::decode(&b).unwrap();
        assert_eq!(n, b.len());
        assert_eq!(u, t);
    }
}

#[test]
fn type_desc_errors() {
    assert!(Type::decode(&[0x0A, 0x00]).unwrap_err().message().contains("unknown type id 0x000A"));
    assert!(Type::decode(&[0x20]).unwrap_err().message().contains("truncated reading type id"));
    // vector<int, 0>
    let e = Type::decode(&[0x50, 0, 0x09, 0, 0, 0, 0, 0]).unwrap_err();
    assert!(e.message().contains("vector dimensions 0"), "{}", e);
    // 33 nested lists
    let mut b = vec![];
    for _ in 0..33 {
        b.extend_from_slice(&[0x20, 0]);
    }
    b.extend_from_slice(&[0x09, 0]);
    assert!(Type::decode(&b).unwrap_err().message().contains("nested deeper than 32"));
    let mut b = vec![];
    for _ in 0..31 {
        b.extend_from_slice(&[0x20, 0]);
    }
    b.extend_from_slice(&[0x09, 0]);
    assert!(Type::decode(&b).is_ok());
}

#[derive(Default)]
struct Rec {
    seen: Vec<(Option<i32>, Option<String>, Option<i64>)>,
}

impl Plugin for Rec {
    fn init(_: &Config) -> Result<Self, Error> {
        Ok(Rec::default())
    }
    fn process(&mut self, page: &Page<'_>, _out: &mut Output) -> Result<(), Error> {
        for row in page.rows() {
            self.seen.push((row.get("i")?, row.get("t")?, row.get(2)?));
        }
        Ok(())
    }
}

#[test]
fn page_rows_and_typed_reads() {
    let mut pb = PageBuilder::new(schema_all()).at(7, 2);
    pb.put(1i32).put("a").put(10i64).end_row();
    pb.put(None::<i32>).put("").put(-5i64).end_row();
    pb.raw(Some(&[])).put(None::<&str>).raw(Some(&[])).end_row();
    let mut h = Harness::<Rec>::new(&Config::default()).unwrap();
    assert_eq!(h.process_bytes(&pb.build()).unwrap(), None);
    assert_eq!(
        h.plugin().unwrap().seen,
        vec![
            (Some(1), Some("a".into()), Some(10)),
            (None, Some("".into()), Some(-5)),
            (None, None, None),
        ]
    );
}

#[test]
fn page_validation() {
    let mut pb = PageBuilder::new(schema_all());
    pb.put(1i32).put("abc").put(2i64).end_row();
    let good = pb.build();
    let mut h = Harness::<Rec>::new(&Config::default()).unwrap();
    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(h.process_bytes(&bad).unwrap_err().message().contains("bad magic"));
    let mut bad = good.clone();
    bad.pop();
    let e = h.process_bytes(&bad).unwrap_err();
    assert!(e.message().contains("must equal the rows area length"), "{}", e);
    // Cell length overrunning the row: text cell says 20 bytes, has 3. Cells are
    // checked when read.
    let mut bad = good.clone();
    let n = bad.len();
    // rows area: [len 4][1][len 3]abc[len 8][2]; the text length is at n - 8 - 4 - 3 - 4.
    let at = n - 8 - 4 - 3 - 4;
    bad[at..at + 4].copy_from_slice(&20i32.to_le_bytes());
    let e = h.process_bytes(&bad).unwrap_err();
    assert_eq!(
        e.message(),
        "sluice sdk: decode page: page 1: row 0 column 1: cell of 20 bytes overruns the row (15 bytes left)"
    );
    assert_eq!(e.row(), None);
    // The same cell read through the infallible accessors: the call fails anyway.
    let mut lenient = Harness::<Lenient>::new(&Config::default()).unwrap();
    let e = lenient.process_bytes(&bad).unwrap_err();
    assert!(e.message().contains("row 0 column 1: cell of 20 bytes overruns"), "{}", e);
    // A negative length below -1.
    let mut neg = good.clone();
    neg[at..at + 4].copy_from_slice(&(-2i32).to_le_bytes());
    let e = h.process_bytes(&neg).unwrap_err();
    assert!(e.message().ends_with("row 0 column 1: cell length -2 (must be >= -1)"), "{}", e);
    // Text cell says 4 bytes, has 3: the row then has bytes after its last cell,
    // which only a walk over the whole row finds (copying it, iterating its cells).
    let mut bad = good.clone();
    bad[at..at + 4].copy_from_slice(&4i32.to_le_bytes());
    let mut copier = Harness::<Copier>::new(&Config::default()).unwrap();
    let e = copier.process_bytes(&bad).unwrap_err();
    assert_eq!(e.message(), "sluice sdk: decode page: page 1: row 0: 7 bytes after the last cell");
    let e = lenient.process_bytes(&bad).unwrap_err();
    assert_eq!(e.message(), "sluice sdk: decode page: page 1: row 0: 7 bytes after the last cell");
    // The page itself still works afterwards.
    assert!(copier.process_bytes(&good).unwrap().is_some());
    assert!(lenient.process_bytes(&good).unwrap().is_none());
    let mut bad = good;
    bad.truncate(30);
    assert!(h.process_bytes(&bad).unwrap_err().message().contains("sluice sdk: decode page"));
}

/// Reads every cell through the accessors that cannot fail, and ignores what it
/// reads.
struct Lenient;

impl Plugin for Lenient {
    fn init(_: &Config) -> Result<Self, Error> {
        Ok(Lenient)
    }
    fn process(&mut self, page: &Page<'_>, _out: &mut Output) -> Result<(), Error> {
        for row in page.rows() {
            for i in (0..page.schema().len()).rev() {
                row.cell_at(i);
            }
            assert_eq!(row.cells().count(), page.schema().len());
        }
        Ok(())
    }
}

#[test]
fn page_offsets() {
    // One int column "i": the offsets start at 28 + 4 + 1 + 2.
    let mut pb = PageBuilder::new(Schema::new().with("i", Type::int()));
    for i in 0..20 {
        pb.put(i as i32).end_row();
    }
    let good = pb.build();
    let mut h = Harness::<Rec1>::new(&Config::default()).unwrap();
    assert_eq!(h.process_bytes(&good).unwrap(), None);
    assert_eq!(h.plugin().unwrap().0, (0..20).collect::<Vec<i32>>());
    for (row, want) in [
        (3, "sluice sdk: decode page: page 1: offsets[3]=7 below offsets[2]=16"),
        (13, "sluice sdk: decode page: page 1: offsets[13]=87 below offsets[12]=96"),
        (19, "sluice sdk: decode page: page 1: offsets[19]=135 below offsets[18]=144"),
    ] {
        let mut bad = good.clone();
        let at = 35 + 4 * row;
        let v = u32::from_le_bytes([bad[at], bad[at + 1], bad[at + 2], bad[at + 3]]);
        bad[at..at + 4].copy_from_slice(&(v - 17).to_le_bytes());
        assert_eq!(h.process_bytes(&bad).unwrap_err().message(), want);
    }
}

/// Collects column 0 as i32.
#[derive(Default)]
struct Rec1(Vec<i32>);

impl Plugin for Rec1 {
    fn init(_: &Config) -> Result<Self, Error> {
        Ok(Rec1::default())
    }
    fn process(&mut self, page: &Page<'_>, _out: &mut Output) -> Result<(), Error> {
        for row in page.rows() {
            self.0.push(row.get::<i32>(0)?.unwrap());
        }
        Ok(())
    }
}

#[test]
fn process_before_init_and_init_twice() {
    let mut rt = crate::rt::Runtime::default();
    let mut slot: Option<Rec> = None;
    let page = PageBuilder::new(schema_all()).build();
    let res = decode_result(rt.process(&mut slot, &page), 0).unwrap().unwrap();
    assert!(matches!(&res[0], Section::Error { row: -1, message } if message.contains("before a successful sluice_init")));
    assert!(rt.init(&mut slot, &Config::default().encode()).is_empty());
    let res = decode_result(rt.init(&mut slot, &Config::default().encode()), 0).unwrap().unwrap();
    assert!(matches!(&res[0], Section::Error { message, .. } if message.contains("called twice")));
}

fn cell_of<'a>(ty: &'a Type, b: &'a [u8]) -> Cell<'a> {
    Cell::new(ty, Some(b))
}

#[test]
fn scalar_reads() {
    let t = Type::tinyint();
    assert_eq!(cell_of(&t, &[0xFF]).get::<i8>().unwrap(), Some(-1));
    assert_eq!(cell_of(&t, &[0x80]).get::<i64>().unwrap(), Some(-128));
    let t = Type::smallint();
    assert_eq!(cell_of(&t, &[0x80, 0]).get::<i32>().unwrap(), Some(-32768));
    let t = Type::int();
    assert_eq!(cell_of(&t, &[0, 0, 1, 0]).get::<i32>().unwrap(), Some(256));
    let e = cell_of(&t, &[0, 1]).get::<i32>().unwrap_err();
    assert_eq!(e.message(), "invalid int cell of 2 bytes");
    let e = cell_of(&t, &[0, 0, 0, 1]).get::<i16>().unwrap_err();
    assert_eq!(e.message(), "cell has type int, want tinyint or smallint");
    assert_eq!(cell_of(&t, &[]).get::<i32>().unwrap(), None);
    let t = Type::counter();
    assert_eq!(cell_of(&t, &7i64.to_be_bytes()).get::<i64>().unwrap(), Some(7));
    let t = Type::float();
    assert_eq!(cell_of(&t, &1.5f32.to_be_bytes()).get::<f64>().unwrap(), Some(1.5));
    let t = Type::double();
    assert_eq!(cell_of(&t, &(-2.25f64).to_be_bytes()).get::<f64>().unwrap(), Some(-2.25));
    let t = Type::boolean();
    assert_eq!(cell_of(&t, &[2]).get::<bool>().unwrap(), Some(true));
    let t = Type::ascii();
    assert!(cell_of(&t, &[0xC3, 0xA9]).get::<&str>().is_err());
    let t = Type::text();
    assert_eq!(cell_of(&t, "é".as_bytes()).get::<&str>().unwrap(), Some("é"));
    assert_eq!(cell_of(&t, &[]).get::<String>().unwrap(), Some(String::new()));
    assert!(cell_of(&t, &[0xFF]).get::<&str>().is_err());
    let t = Type::blob();
    assert_eq!(cell_of(&t, &[]).get::<&[u8]>().unwrap(), Some(&[][..]));
    assert_eq!(Cell::new(&t, None).get::<&[u8]>().unwrap(), None);
    let t = Type::uuid();
    let u = Uuid::parse("123e4567-e89b-12d3-a456-426614174000").unwrap();
    assert_eq!(cell_of(&t, &u.0).get::<Uuid>().unwrap().unwrap().to_string(), "123e4567-e89b-12d3-a456-426614174000");
    assert_eq!(u.version(), 1);
    assert!(Uuid::parse("123e4567e89b-12d3-a456-426614174000").is_err());
    let t = Type::timestamp();
    assert_eq!(cell_of(&t, &(-1i64).to_be_bytes()).get::<Timestamp>().unwrap().unwrap().to_string(), "1969-12-31T23:59:59.999Z");
    assert_eq!(Timestamp(1_714_566_600_250).to_string(), "2024-05-01T12:30:00.250Z");
    let t = Type::date();
    let d = cell_of(&t, &(1u32 << 31).to_be_bytes()).get::<Date>().unwrap().unwrap();
    assert_eq!(d.to_string(), "1970-01-01");
    assert_eq!(Date::from_days_since_epoch(days_from_civil(2024, 2, 29)).to_string(), "2024-02-29");
    assert_eq!(Date::from_days_since_epoch(-1).ymd(), (1969, 12, 31));
    let t = Type::time();
    assert_eq!(cell_of(&t, &3_723_000_000_005i64.to_be_bytes()).get::<Time>().unwrap().unwrap().to_string(), "01:02:03.000000005");
    assert!(cell_of(&t, &(-1i64).to_be_bytes()).get::<Time>().is_err());
    let t = Type::inet();
    assert_eq!(cell_of(&t, &[10, 0, 0, 1]).get::<IpAddr>().unwrap().unwrap().to_string(), "10.0.0.1");
    let mut v6 = [0u8; 16];
    v6[15] = 1;
    assert_eq!(cell_of(&t, &v6).get::<IpAddr>().unwrap().unwrap().to_string(), "::1");
    assert!(cell_of(&t, &[1, 2, 3]).get::<IpAddr>().is_err());
}

#[test]
fn vints_and_durations() {
    for v in [0i64, 1, -1, 63, -64, 64, 1 << 20, -(1 << 40), i64::MAX, i64::MIN] {
        let mut b = Vec::new();
        put_vint(&mut b, v);
        let mut pos = 0;
        assert_eq!(read_vint(&b, &mut pos), Some(v));
        assert_eq!(pos, b.len());
    }
    for v in [0u64, 127, 128, 16383, 16384, u64::MAX] {
        let mut b = Vec::new();
        put_uvint(&mut b, v);
        let mut pos = 0;
        assert_eq!(read_uvint(&b, &mut pos), Some(v), "{:x?}", b);
    }
    // Cassandra's encoding of 128: two bytes 0x80 0x80.
    let mut b = Vec::new();
    put_uvint(&mut b, 128);
    assert_eq!(b, vec![0x80, 0x80]);
    let t = Type::duration();
    let d = Duration { months: 14, days: 3, nanos: 3_600_000_000_123 };
    let mut b = Vec::new();
    d.encode(&t, &mut b).unwrap();
    assert_eq!(cell_of(&t, &b).get::<Duration>().unwrap(), Some(d));
    assert_eq!(d.to_string(), "1y2mo3d1h123ns");
    assert_eq!(Duration { months: 0, days: -1, nanos: -1 }.to_string(), "-1d1ns");
    assert_eq!(Duration::default().to_string(), "0s");
    assert!(Duration { months: 1, days: -1, nanos: 0 }.encode(&t, &mut Vec::new()).is_err());
    assert!(cell_of(&t, &[2, 2, 2, 0]).get::<Duration>().is_err());
}

#[test]
fn varint_and_decimal() {
    let t = Type::varint();
    let v = |b: &'static [u8]| cell_of(&t, b).get::<Varint>().unwrap().unwrap();
    assert_eq!(v(&[0xFF]).to_i64(), Some(-1));
    assert_eq!(v(&[0x00, 0x80]).to_string(), "128");
    // 2^128 = 0x01 followed by 16 zero bytes.
    let mut big = vec![1u8];
    big.extend_from_slice(&[0; 16]);
    let big: &'static [u8] = Box::leak(big.into_boxed_slice());
    assert_eq!(v(big).to_i128(), None);
    assert_eq!(v(big).to_string(), "340282366920938463463374607431768211456");
    let mut neg = vec![0xFFu8];
    neg.extend_from_slice(&[0; 16]);
    let neg: &'static [u8] = Box::leak(neg.into_boxed_slice());
    assert_eq!(v(neg).to_string(), "-340282366920938463463374607431768211456");
    let mut b = Vec::new();
    300i64.encode(&t, &mut b).unwrap();
    assert_eq!(b, vec![0x01, 0x2C]);
    b.clear();
    (-129i32).encode(&t, &mut b).unwrap();
    assert_eq!(b, vec![0xFF, 0x7F]);

    let t = Type::decimal();
    let dec = |scale: i32, unscaled: &[u8]| {
        let mut b = scale.to_be_bytes().to_vec();
        b.extend_from_slice(unscaled);
        let c = Cell::new(&t, Some(&b));
        c.get::<Decimal>().unwrap().unwrap().to_string()
    };
    assert_eq!(dec(2, &[0x04, 0xD2]), "12.34");
    assert_eq!(dec(3, &[0xFB, 0x2E]), "-1.234");
    assert_eq!(dec(5, &[0x0C]), "0.00012");
    assert_eq!(dec(-2, &[0x0C]), "1200");
    assert_eq!(dec(0, &[0x00]), "0");
}

fn be_elems(elems: &[&[u8]]) -> Vec<u8> {
    let mut b = (elems.len() as i32).to_be_bytes().to_vec();
    for e in elems {
        b.extend_from_slice(&(e.len() as i32).to_be_bytes());
        b.extend_from_slice(e);
    }
    b
}

#[test]
fn collections() {
    let t = Type::list(Type::int());
    let b = be_elems(&[&1i32.to_be_bytes(), &2i32.to_be_bytes()]);
    let l = cell_of(&t, &b).get::<List>().unwrap().unwrap();
    let v: Vec<i32> = l.iter().map(|c| c.get::<i32>().unwrap().unwrap()).collect();
    assert_eq!(v, vec![1, 2]);
    let mut bad = b.clone();
    bad.push(0);
    assert!(cell_of(&t, &bad).get::<List>().unwrap_err().message().contains("trailing"));
    let mut bad = b.clone();
    bad[3] = 9;
    assert!(cell_of(&t, &bad).get::<List>().is_err());

    // Encoding a list gives the same bytes.
    let mut enc = Vec::new();
    ListOf(&[1i32, 2]).encode(&t, &mut enc).unwrap();
    assert_eq!(enc, b);

    let t = Type::map(Type::text(), Type::bigint());
    let mut enc = Vec::new();
    MapOf(&[("a", 1i64), ("bb", 2)]).encode(&t, &mut enc).unwrap();
    let m = cell_of(&t, &enc).get::<Map>().unwrap().unwrap();
    let v: Vec<(String, i64)> = m
        .iter()
        .map(|(k, v)| (k.get::<String>().unwrap().unwrap(), v.get::<i64>().unwrap().unwrap()))
        .collect();
    assert_eq!(v, vec![("a".to_string(), 1), ("bb".to_string(), 2)]);

    // A udt value shorter than its type: the missing field reads null.
    let t = Type::udt("ks", "addr", vec![("street".into(), Type::text()), ("n".into(), Type::int())]);
    let mut b = 3i32.to_be_bytes().to_vec();
    b.extend_from_slice(b"elm");
    let f = cell_of(&t, &b).get::<Fields>().unwrap().unwrap();
    assert_eq!(f.field("street").unwrap().get::<&str>().unwrap(), Some("elm"));
    assert!(f.field("n").unwrap().is_null());
    assert!(f.field("zip").is_none());
    let names: Vec<&str> = f.iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["street", "n"]);

    // Fixed-size vector: 2 floats back to back.
    let t = Type::vector(Type::float(), 2);
    let mut b = 1.0f32.to_be_bytes().to_vec();
    b.extend_from_slice(&2.5f32.to_be_bytes());
    let v = cell_of(&t, &b).get::<Vector>().unwrap().unwrap();
    assert_eq!(v.to_f32s().unwrap(), vec![1.0, 2.5]);
    assert_eq!(v.iter().map(|c| c.get::<f32>().unwrap().unwrap()).collect::<Vec<_>>(), vec![1.0, 2.5]);
    assert!(cell_of(&t, &b[..7]).get::<Vector>().is_err());
    // Variable-size vector, as Cassandra 5.0 sends vector<tinyint, 2> [1, 2] and
    // vector<smallint, 2> [3, 4] (captured from a real node).
    let t = Type::vector(Type::tinyint(), 2);
    let b = [0x01, 0x01, 0x01, 0x02];
    let v = cell_of(&t, &b).get::<Vector>().unwrap().unwrap();
    assert_eq!(v.iter().map(|c| c.get::<i8>().unwrap().unwrap()).collect::<Vec<_>>(), vec![1, 2]);
    let t = Type::vector(Type::smallint(), 2);
    let b = [0x02, 0x00, 0x03, 0x02, 0x00, 0x04];
    let v = cell_of(&t, &b).get::<Vector>().unwrap().unwrap();
    assert_eq!(v.iter().map(|c| c.get::<i16>().unwrap().unwrap()).collect::<Vec<_>>(), vec![3, 4]);
    assert!(cell_of(&t, &b[..5]).get::<Vector>().is_err());

    // Dynamic values.
    let t = Type::set(Type::text());
    let b = be_elems(&[b"x"]);
    match cell_of(&t, &b).value().unwrap() {
        Value::List(l) => assert_eq!(l.len(), 1),
        v => panic!("{:?}", v),
    }
    assert!(matches!(Cell::new(&t, None).value().unwrap(), Value::Null));
}

struct Emitter;

impl Plugin for Emitter {
    fn init(_: &Config) -> Result<Self, Error> {
        Ok(Emitter)
    }
    fn process(&mut self, page: &Page<'_>, out: &mut Output) -> Result<(), Error> {
        let schema = Schema::new().with("id", Type::int()).with("name", Type::text());
        for row in page.rows() {
            let i: i32 = row.get(0)?.unwrap_or(0);
            match i {
                0 => out.drop(row.index()),
                1 => out.route("audit", row.index()),
                2 => {
                    let mut w = out.rows("new", &schema)?;
                    w.put(i).put(row.get::<&str>(1)?).end_row()?;
                }
                3 => {
                    // Wrong type: bigint into text.
                    let mut w = out.rows("new", &schema)?;
                    w.put(i).put(5i64).end_row()?;
                }
                4 => {
                    let mut w = out.rows("new", &schema)?;
                    w.put(i).end_row()?;
                }
                5 => {
                    let mut w = out.rows("new", &schema)?;
                    w.put(i);
                }
                6 => {
                    out.rows("new", &Schema::new().with("x", Type::int()))?;
                }
                _ => return Err(row.error(format!("bad id {}", i))),
            }
        }
        Ok(())
    }
}

fn page_of_ids(ids: &[i32]) -> Vec<u8> {
    let mut pb = PageBuilder::new(Schema::new().with("id", Type::int()).with("name", Type::text()));
    for i in ids {
        pb.put(*i).put(format!("n{}", i)).end_row();
    }
    pb.build()
}

/// Keeps the rows whose id is a multiple of 3 with keep_where; an id of -1 is an
/// error about its row.
struct Thirds;

impl Plugin for Thirds {
    fn init(_: &Config) -> Result<Self, Error> {
        Ok(Thirds)
    }
    fn process(&mut self, page: &Page<'_>, out: &mut Output) -> Result<(), Error> {
        out.keep_where(page, |row| match row.get::<i32>(0usize)? {
            Some(-1) => Err(row.error("minus one")),
            v => Ok(v.map_or(false, |v| v % 3 == 0)),
        })
    }
}

#[test]
fn keep_where_selects_like_set_kept() {
    let mut h = Harness::<Thirds>::new(&Config::default()).unwrap();
    for n in [0usize, 1, 7, 8, 9, 16, 21, 64, 67] {
        let ids: Vec<i32> = (0..n as i32).collect();
        let res = h.process_bytes(&page_of_ids(&ids)).unwrap();
        let mut want = vec![0u8; (n + 7) / 8];
        for i in 0..n {
            if i % 3 == 0 {
                want[i / 8] |= 1 << (i % 8);
            }
        }
        match res {
            None => assert!(n <= 1, "{} rows: pass-through", n), // every row kept
            Some(secs) if secs.is_empty() => assert!(want.iter().all(|&b| b == 0)),
            Some(secs) => assert_eq!(
                secs[0],
                Section::Select { output: "".into(), nrows: n, bitmap: want },
                "{} rows",
                n
            ),
        }
    }
    // The first error wins, in the eight-row groups and in the tail.
    for bad in [2usize, 8, 13, 17] {
        let ids: Vec<i32> = (0..19).map(|i| if i == bad as i32 || i == 18 { -1 } else { i }).collect();
        let e = h.process_bytes(&page_of_ids(&ids)).unwrap_err();
        assert_eq!((e.row(), e.message()), (Some(bad), "minus one"));
    }
}

#[test]
fn output_encoding() {
    let mut h = Harness::<Emitter>::new(&Config::default()).unwrap();
    // Only drops: a result without sections (nothing for the default output).
    let res = h.process_bytes(&page_of_ids(&[0, 9][..1])).unwrap().unwrap();
    assert_eq!(res.len(), 0);
    // Nothing happened to 0 rows: pass through.
    assert_eq!(h.process_bytes(&page_of_ids(&[])).unwrap(), None);
    // Route + rows + drop.
    let res = h.process_bytes(&page_of_ids(&[1, 0, 2, 2])).unwrap().unwrap();
    assert_eq!(res.len(), 3);
    assert_eq!(res[0], Section::Select { output: "".into(), nrows: 4, bitmap: vec![0b1101] });
    assert_eq!(res[1].kept(), vec![0]);
    assert!(matches!(&res[1], Section::Select { output, .. } if output == "audit"));
    match &res[2] {
        Section::Rows { output, schema, rows } => {
            assert_eq!(output, "new");
            assert_eq!(schema.len(), 2);
            assert_eq!(rows.len(), 2);
            assert_eq!(rows[0], vec![Some(2i32.to_be_bytes().to_vec()), Some(b"n2".to_vec())]);
        }
        s => panic!("{:?}", s),
    }
    // Only rows to a named output: the default output passes everything.
    let res = h.process_bytes(&page_of_ids(&[2])).unwrap().unwrap();
    assert_eq!(res[0].kept(), vec![0]);
    // Errors.
    let e = h.process_bytes(&page_of_ids(&[3])).unwrap_err();
    assert_eq!(e.message(), "output \"new\" column \"name\": cannot write i64 to a text column");
    let e = h.process_bytes(&page_of_ids(&[4])).unwrap_err();
    assert_eq!(e.message(), "output \"new\": row has 1 cells, its schema 2 columns");
    let e = h.process_bytes(&page_of_ids(&[5])).unwrap_err();
    assert!(e.message().contains("begun and neither ended"), "{}", e);
    let e = h.process_bytes(&page_of_ids(&[2, 6])).unwrap_err();
    assert!(e.message().contains("rows of schema (x int) after rows of schema (id int, name text)"), "{}", e);
    let e = h.process_bytes(&page_of_ids(&[0, 0, 42])).unwrap_err();
    assert_eq!((e.row(), e.message()), (Some(2), "bad id 42"));
}

struct Copier;

impl Plugin for Copier {
    fn init(_: &Config) -> Result<Self, Error> {
        Ok(Copier)
    }
    fn process(&mut self, page: &Page<'_>, out: &mut Output) -> Result<(), Error> {
        let mut w = out.rows("", page.schema())?;
        for row in page.rows() {
            w.row(&row).end_row()?;
        }
        Ok(())
    }
}

#[test]
fn copy_rows_and_split_sections() {
    let mut h = Harness::<Copier>::new(&Config::default()).unwrap();
    let page = page_of_ids(&[1, 2, 3]);
    let res = h.process_bytes(&page).unwrap().unwrap();
    match &res[0] {
        Section::Rows { output, rows, .. } => {
            assert_eq!(output, "");
            assert_eq!(rows.len(), 3);
            assert_eq!(rows[2][1], Some(b"n3".to_vec()));
        }
        s => panic!("{:?}", s),
    }
    // More rows than one section may carry.
    let n = MAX_SECTION_ROWS + 5;
    let mut pb = PageBuilder::new(Schema::new().with("b", Type::boolean()));
    for i in 0..n {
        pb.put(i % 2 == 0).end_row();
    }
    let res = h.process_bytes(&pb.build()).unwrap().unwrap();
    assert_eq!(res.len(), 2);
    match (&res[0], &res[1]) {
        (Section::Rows { rows: a, .. }, Section::Rows { rows: b, .. }) => {
            assert_eq!((a.len(), b.len()), (MAX_SECTION_ROWS, 5));
            assert_eq!(b[0][0], Some(vec![(MAX_SECTION_ROWS % 2 == 0) as u8]));
        }
        s => panic!("{:?}", s),
    }
}

#[test]
fn config_access() {
    let cfg = Config::from_pairs(vec![
        ("a", "1"),
        ("arr", "x"),
        ("arr", "y"),
        ("flag", "true"),
        ("rename.old", "new"),
        ("rename.x", "y"),
    ]);
    let back = Config::decode(&cfg.encode()).unwrap();
    assert_eq!(back, cfg);
    assert_eq!(cfg.get("a"), Some("1"));
    assert_eq!(cfg.get_all("arr"), vec!["x", "y"]);
    assert_eq!(cfg.parse::<i64>("a").unwrap(), Some(1));
    assert_eq!(cfg.parse::<bool>("flag").unwrap(), Some(true));
    assert_eq!(cfg.parse_or::<u32>("missing", 7).unwrap(), 7);
    assert!(cfg.parse::<bool>("a").unwrap_err().message().starts_with("config key \"a\": invalid value \"1\""));
    assert_eq!(cfg.one("arr").unwrap_err().message(), "config key \"arr\" must have one value, got 2");
    assert_eq!(cfg.single(&["a", "arr"]).unwrap_err().message(), "config key \"arr\" must have one value, got 2");
    assert_eq!(cfg.require("nope").unwrap_err().message(), "missing config key \"nope\"");
    assert_eq!(cfg.table("rename"), vec![("old", "new"), ("x", "y")]);
    assert!(cfg.unknown(&["a", "arr", "flag", "rename.*"]).is_ok());
    assert_eq!(cfg.unknown(&["a", "flag", "rename.*"]).unwrap_err().message(), "unknown config key \"arr\"");
    assert!(Config::decode(&[1, 2, 3, 4]).unwrap_err().message().contains("bad magic"));
    let mut trailing = cfg.encode();
    trailing.push(0);
    assert!(Config::decode(&trailing).unwrap_err().message().contains("trailing"));
    assert!(Config::decode(&[]).unwrap().is_empty());
}

struct Stateful(u64);

impl Plugin for Stateful {
    fn init(cfg: &Config) -> Result<Self, Error> {
        if cfg.contains("fail") {
            return Err(Error::new("init refused"));
        }
        Ok(Stateful(0))
    }
    fn process(&mut self, page: &Page<'_>, out: &mut Output) -> Result<(), Error> {
        self.0 += page.num_rows() as u64;
        out.drop_all();
        Ok(())
    }
    fn flush(&mut self, out: &mut Output) -> Result<(), Error> {
        let s = Schema::new().with("n", Type::bigint());
        out.rows("", &s)?.put(self.0).end_row()
    }
    fn snapshot(&self) -> Option<Vec<u8>> {
        Some(self.0.to_le_bytes().to_vec())
    }
    fn restore(&mut self, state: &[u8]) -> Result<(), Error> {
        let a: [u8; 8] = state.try_into().map_err(|_| Error::new("bad state"))?;
        self.0 = u64::from_le_bytes(a);
        Ok(())
    }
}

#[test]
fn lifecycle() {
    assert_eq!(
        Harness::<Stateful>::new(&Config::from_pairs(vec![("fail", "")])).err().unwrap().message(),
        "init refused"
    );
    let mut h = Harness::<Stateful>::new(&Config::default()).unwrap();
    h.process_bytes(&page_of_ids(&[1, 2])).unwrap();
    let snap = h.snapshot().unwrap();
    let mut h2 = Harness::<Stateful>::new(&Config::default()).unwrap();
    h2.restore(&snap).unwrap();
    assert_eq!(h2.restore(&[1]).unwrap_err().message(), "bad state");
    let res = h2.flush_sections().unwrap().unwrap();
    match &res[0] {
        Section::Rows { rows, .. } => assert_eq!(rows[0][0], Some(2u64.to_be_bytes().to_vec())),
        s => panic!("{:?}", s),
    }
    // A plugin without restore: empty snapshot; empty state is accepted, non-empty
    // state refused (ABI.md section 5: never dropped silently).
    let mut h = Harness::<Rec>::new(&Config::default()).unwrap();
    assert!(h.snapshot().unwrap().is_empty());
    assert_eq!(h.flush_sections().unwrap(), None);
    take_logs();
    h.restore(&[]).unwrap();
    let e = h.restore(&[1, 2]).unwrap_err();
    assert_eq!(
        e.message(),
        "sluice sdk: plugin cannot restore state: it implements no restore, so the 2 bytes of state of the instance it replaces would be lost"
    );
    assert_eq!(e.row(), None);
    assert!(take_logs().is_empty());
}

#[test]
fn encode_checks() {
    let mut b = Vec::new();
    assert_eq!(
        300i32.encode(&Type::tinyint(), &mut b).unwrap_err().message(),
        "i32 300 out of range for a tinyint column"
    );
    assert!("é".encode(&Type::ascii(), &mut b).is_err());
    assert!(1.5f64.encode(&Type::float(), &mut b).is_err());
    b.clear();
    1.5f32.encode(&Type::double(), &mut b).unwrap();
    assert_eq!(b, 1.5f64.to_be_bytes());
    let random = Uuid::parse("123e4567-e89b-42d3-a456-426614174000").unwrap();
    assert!(random.encode(&Type::timeuuid(), &mut b).is_err());
    assert!(ListOf(&[None::<i32>]).encode(&Type::list(Type::int()), &mut b).is_err());
}

#[test]
fn row_errors_and_quote() {
    struct P;
    impl Plugin for P {
        fn init(_: &Config) -> Result<Self, Error> {
            Ok(P)
        }
        fn process(&mut self, page: &Page<'_>, _: &mut Output) -> Result<(), Error> {
            for row in page.rows() {
                row.get::<i32>("id")?;
            }
            for row in page.rows() {
                row.get::<i32>("nope")?;
            }
            Ok(())
        }
    }
    let mut pb = PageBuilder::new(Schema::new().with("id", Type::int()).with("x", Type::text()));
    pb.put(1i32).put("a").end_row();
    let mut h = Harness::<P>::new(&Config::default()).unwrap();
    let e = h.process_bytes(&pb.build()).unwrap_err();
    assert_eq!(e.message(), "column \"nope\" not found (columns: id, x)");
    assert_eq!(e.row(), None);
    let mut pb = PageBuilder::new(Schema::new().with("id", Type::int()));
    pb.put(1i32).end_row();
    pb.raw(Some(&[1, 2, 3])).end_row();
    let e = h.process_bytes(&pb.build()).unwrap_err();
    assert_eq!((e.row(), e.message()), (Some(1), "row 1: column \"id\": invalid int cell of 3 bytes"));
    let mut pb = PageBuilder::new(Schema::new().with("id", Type::bigint()));
    pb.put(1i64).end_row();
    let e = h.process_bytes(&pb.build()).unwrap_err();
    assert_eq!(e.message(), "column \"id\" has type bigint, want tinyint, smallint or int");

    assert_eq!(quote("a\"b\\c\n"), "\"a\"b\\c\n\"");
}

/// Rejects the rows whose id is odd, with a reason.
struct Rejecter;

impl Plugin for Rejecter {
    fn init(_: &Config) -> Result<Self, Error> {
        Ok(Rejecter)
    }
    fn process(&mut self, page: &Page<'_>, out: &mut Output) -> Result<(), Error> {
        for row in page.rows() {
            let i: i32 = row.get(0)?.unwrap_or(0);
            if i % 2 == 1 {
                out.reject(&row, &format!("odd id {}", i))?;
            }
        }
        Ok(())
    }
}

#[test]
fn reject_sends_to_the_dead_letter_output() {
    let mut h = Harness::<Rejecter>::new(&Config::default()).unwrap();
    let res = h.process_bytes(&page_of_ids(&[1, 2, 3])).unwrap().unwrap();
    assert_eq!(res[0], Section::Select { output: "".into(), nrows: 3, bitmap: vec![0b010] });
    match &res[1] {
        Section::Rows { output, schema, rows } => {
            assert_eq!(output, crate::REJECTED_OUTPUT);
            assert_eq!(schema.len(), 3);
            assert_eq!(rows.len(), 2);
            assert_eq!(
                rows[1],
                vec![Some(3i32.to_be_bytes().to_vec()), Some(b"n3".to_vec()), Some(b"odd id 3".to_vec())]
            );
        }
        s => panic!("{:?}", s),
    }
}

/// Records the schemas `prepare` saw; fails `prepare` for a schema with a
/// column named "bad".
struct Preparer {
    prepared: Vec<Vec<String>>,
    age: usize,
}

impl Plugin for Preparer {
    fn init(_: &Config) -> Result<Self, Error> {
        Ok(Preparer { prepared: Vec::new(), age: 0 })
    }
    fn prepare(&mut self, schema: &Schema) -> Result<(), Error> {
        self.prepared.push(schema.columns().iter().map(|c| c.name.clone()).collect());
        if schema.index("bad").is_some() {
            return Err(Error::new("preparer: bad schema"));
        }
        self.age = schema.index("age").unwrap_or(0);
        Ok(())
    }
    fn process(&mut self, page: &Page<'_>, out: &mut Output) -> Result<(), Error> {
        for row in page.rows() {
            out.set_kept(row.index(), row.get::<i32>(self.age)?.map_or(false, |a| a >= 18));
        }
        Ok(())
    }
}

#[test]
fn prepare_once_per_schema_and_again_after_failure() {
    use crate::testing::NULL;
    let mut h = Harness::<Preparer>::new(&Config::default()).unwrap();
    let s1 = Schema::new().with("id", Type::int()).with("age", Type::int());
    let p = h.page(&s1).row((1, 17)).row((2, 18)).row((3, NULL));
    assert_eq!(h.process(&p).unwrap().kept(), [1]);
    let p = h.page(&s1).row((4, 30));
    assert_eq!(h.process(&p).unwrap().kept(), [0]);
    let bad = Schema::new().with("bad", Type::int());
    let p = h.page(&bad).row((1,));
    assert_eq!(h.process(&p).unwrap_err().message(), "preparer: bad schema");
    let p = h.page(&bad).row((1,));
    assert!(h.process(&p).is_err());
    let s2 = Schema::new().with("age", Type::int());
    let p = h.page(&s2).row((20,));
    assert_eq!(h.process(&p).unwrap().kept(), [0]);
    let seen = &h.plugin().unwrap().prepared;
    assert_eq!(seen.len(), 4, "{:?}", seen);
}

/// Emits (name text, n int) rows: the typed Outcome reads them by column name.
struct Doubler;

impl Plugin for Doubler {
    fn init(_: &Config) -> Result<Self, Error> {
        Ok(Doubler)
    }
    fn process(&mut self, page: &Page<'_>, out: &mut Output) -> Result<(), Error> {
        let schema = Schema::new().with("name", Type::text()).with("n", Type::int());
        let mut w = out.rows("twice", &schema)?;
        for row in page.rows() {
            w.put(row.get::<&str>("name")?);
            w.put(row.get::<i32>("n")?.map(|n| n * 2));
            w.end_row()?;
        }
        Ok(())
    }
}

#[test]
fn outcome_rows_by_column_name() {
    use crate::testing::NULL;
    let mut h = Harness::<Doubler>::new(&Config::default()).unwrap();
    let s = Schema::new().with("n", Type::int()).with("name", Type::text());
    let out = h.process(&h.page(&s).row((2, "a")).row((NULL, "b"))).unwrap();
    assert_eq!(out.kept(), [0, 1], "rows not dropped pass on the default output");
    let rows = out.rows("twice").unwrap();
    let got: Vec<(Option<&str>, Option<i32>)> =
        rows.rows().map(|r| (r.get::<&str>("name").unwrap(), r.get::<i32>("n").unwrap())).collect();
    assert_eq!(got, [(Some("a"), Some(4)), (Some("b"), None)]);
    assert!(out.rows("").is_none());
}

#[test]
fn decimal_and_varint_compare_exactly() {
    use std::cmp::Ordering::*;
    let vi = |v: i64| {
        let mut b = Vec::new();
        v.encode(&Type::varint(), &mut b).unwrap();
        b
    };
    let (a, b, c, z) = (vi(150), vi(15), vi(-2), vi(0));
    let dec = |u: &'static [u8], scale: i32| Decimal { scale, unscaled: Varint(u) };
    let a: &'static [u8] = Box::leak(a.into_boxed_slice());
    let b: &'static [u8] = Box::leak(b.into_boxed_slice());
    let c: &'static [u8] = Box::leak(c.into_boxed_slice());
    let z: &'static [u8] = Box::leak(z.into_boxed_slice());
    // 1.50 == 1.5, 1.5 > -0.02, 0 == 0.000, 150 > 1.5
    assert_eq!(dec(a, 2).cmp_value(&dec(b, 1)), Equal);
    assert_eq!(dec(b, 1).cmp_value(&dec(c, 2)), Greater);
    assert_eq!(dec(z, 0).cmp_value(&dec(z, 3)), Equal);
    assert_eq!(dec(a, 0).cmp_value(&dec(b, 1)), Greater);
    assert_eq!(dec(c, 0).cmp_value(&dec(c, 1)), Less); // -2 < -0.2
    for (text, want) in [("1.5", Equal), ("1.50000", Equal), ("15e-1", Equal), ("1.49", Greater), ("2", Less), ("-7", Greater), ("0.0", Greater)] {
        assert_eq!(dec(a, 2).cmp_text(text).unwrap(), want, "1.50 vs {}", text);
    }
    assert_eq!(Varint(a).cmp_value(&Varint(b)), Greater);
    assert_eq!(Varint(c).cmp_value(&Varint(z)), Less);
    assert_eq!(Varint(a).cmp_text("1.5e2").unwrap(), Equal);
    assert_eq!(Varint(a).cmp_text("149.99").unwrap(), Greater);
    // 2^127 - 1, beyond i64: 0x7f ff .. ff (16 bytes)
    let mut big = vec![0x7f];
    big.extend_from_slice(&[0xff; 15]);
    assert_eq!(Varint(&big).cmp_text("170141183460469231731687303715884105727").unwrap(), Equal);
    assert_eq!(Varint(&big).cmp_text("170141183460469231731687303715884105728").unwrap(), Less);
    for bad in ["", "-", "1.2.3", "1e", "x", "1e+"] {
        assert!(Varint(a).cmp_text(bad).is_err(), "{:?}", bad);
    }
}

#[test]
fn fixture_schema_and_json_lines() {
    let schema = Schema::parse(
        "# a fixture\nid int\nname text\nat timestamp\nday date\ntags set<text>\nprice decimal\nn varint\nscores frozen<map<text, int>>\nraw blob\n",
    )
    .unwrap();
    assert_eq!(schema.len(), 9);
    let page = PageBuilder::new(schema.clone())
        .jsonl(concat!(
            r#"{"id":1,"name":"a\u00e9","at":"2024-01-02T03:04:05.678Z","day":"2024-01-02","tags":["x","y"],"price":"-12.50","n":-129,"scores":{"k":3},"raw":"yv4="}"#,
            "\n\n",
            r#"{"id":2,"at":1500,"price":1e2}"#,
            "\n"
        ))
        .unwrap();
    let b = page.build();
    let layout = crate::page::Page::read_header(&b).unwrap();
    let mut r = crate::wire::Reader::new(&b, "page");
    r.pos = layout.schema_start;
    let s = Schema::read_columns(&mut r, layout.ncols).unwrap();
    let p = crate::page::Page::assemble(&b, &layout, r.pos, &s, 1).unwrap();
    assert_eq!(p.num_rows(), 2);
    let row = p.row(0);
    assert_eq!(row.get::<&str>("name").unwrap(), Some("aé"));
    assert_eq!(row.get::<Timestamp>("at").unwrap().unwrap().millis(), 1_704_164_645_678);
    assert_eq!(format!("{}", row.get::<Date>("day").unwrap().unwrap()), "2024-01-02");
    assert_eq!(format!("{}", row.get::<Decimal>("price").unwrap().unwrap()), "-12.50");
    assert_eq!(row.get::<Varint>("n").unwrap().unwrap().to_i64(), Some(-129));
    assert_eq!(row.get::<&[u8]>("raw").unwrap(), Some(&[0xca, 0xfe][..]));
    let tags: Vec<&str> = row.get::<List>("tags").unwrap().unwrap().iter().map(|c| c.get::<&str>().unwrap().unwrap()).collect();
    assert_eq!(tags, ["x", "y"]);
    let row = p.row(1);
    assert_eq!(row.get::<&str>("name").unwrap(), None);
    assert_eq!(row.get::<Timestamp>("at").unwrap().unwrap().millis(), 1500);
    assert_eq!(format!("{}", row.get::<Decimal>("price").unwrap().unwrap()), "100");

    let e = PageBuilder::new(schema.clone()).jsonl(r#"{"nope":1}"#).unwrap_err();
    assert!(e.message().contains(r#""nope" is not a column"#), "{}", e.message());
    let e = PageBuilder::new(schema).jsonl(r#"{"id":"x"}"#).unwrap_err();
    assert!(e.message().starts_with("JSON line 1: column \"id\" (int)"), "{}", e.message());
}
