// Exact number parsing: decimal integers with overflow detection and correctly
// rounded decimal floats (AssemblyScript's parseFloat keeps 19 digits and is not
// always correctly rounded; sluice needs the same double as Go and Rust).

/** The outcome of a parse: ok, or a syntax error (range false) or out of range. */
export class ParseStatus {
  ok: bool = false;
  /** Well-formed but out of range. */
  range: bool = false;
}

@inline function isDigit(c: i32): bool { return c >= 0x30 && c <= 0x39; }

/** Matches [+-]?[0-9]+. */
export function isInteger(s: string): bool {
  let i = 0;
  if (s.length > 0 && (s.charCodeAt(0) == 0x2B || s.charCodeAt(0) == 0x2D)) i = 1;
  if (i >= s.length) return false;
  for (; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/** Parses [+-]?[0-9]+ (leading zeros allowed) as an i64, detecting overflow. */
export function parseI64(s: string, st: ParseStatus): i64 {
  st.ok = false;
  st.range = false;
  if (!isInteger(s)) return 0;
  let i = 0;
  let neg = false;
  const c0 = s.charCodeAt(0);
  if (c0 == 0x2B || c0 == 0x2D) { neg = c0 == 0x2D; i = 1; }
  const limit: u64 = neg ? <u64>9223372036854775808 : <u64>9223372036854775807;
  let v: u64 = 0;
  for (; i < s.length; i++) {
    const d = <u64>(s.charCodeAt(i) - 0x30);
    if (v > (limit - d) / 10) {
      st.range = true;
      return 0;
    }
    v = v * 10 + d;
  }
  st.ok = true;
  return neg ? -(<i64>v) : <i64>v;
}

/** Matches [+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?. */
export function isDecimalFloat(s: string): bool {
  let i = 0;
  const n = s.length;
  if (i < n && (s.charCodeAt(i) == 0x2B || s.charCodeAt(i) == 0x2D)) i++;
  const start = i;
  while (i < n && isDigit(s.charCodeAt(i))) i++;
  const intDigits = i - start;
  let fracDigits = 0;
  if (i < n && s.charCodeAt(i) == 0x2E) {
    i++;
    const fs = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    fracDigits = i - fs;
  }
  if (intDigits == 0 && fracDigits == 0) return false;
  if (i < n && (s.charCodeAt(i) == 0x65 || s.charCodeAt(i) == 0x45)) {
    i++;
    if (i < n && (s.charCodeAt(i) == 0x2B || s.charCodeAt(i) == 0x2D)) i++;
    const es = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    if (i == es) return false;
  }
  return i == n;
}

// ---- a minimal unsigned big integer (little-endian u32 limbs) ----

class Big {
  l: u32[] = [];

  static of(v: u32): Big { const b = new Big(); if (v != 0) b.l.push(v); return b; }

  clone(): Big { const b = new Big(); b.l = this.l.slice(0); return b; }

  isZero(): bool { return this.l.length == 0; }

  trim(): void { while (this.l.length > 0 && this.l[this.l.length - 1] == 0) this.l.pop(); }

  mulAdd(m: u32, a: u32): void {
    let carry: u64 = <u64>a;
    for (let i = 0; i < this.l.length; i++) {
      const t = <u64>this.l[i] * <u64>m + carry;
      this.l[i] = <u32>t;
      carry = t >> 32;
    }
    if (carry != 0) this.l.push(<u32>carry);
  }

  bitLen(): i32 {
    if (this.l.length == 0) return 0;
    return (this.l.length - 1) * 32 + 32 - <i32>clz<u32>(this.l[this.l.length - 1]);
  }

  shl(n: i32): Big {
    const b = new Big();
    if (this.isZero()) return b;
    const words = n >> 5;
    const bits = n & 31;
    for (let i = 0; i < words; i++) b.l.push(0);
    let carry: u32 = 0;
    for (let i = 0; i < this.l.length; i++) {
      const v = this.l[i];
      b.l.push(bits == 0 ? v : (v << bits) | carry);
      carry = bits == 0 ? 0 : v >> (32 - bits);
    }
    if (carry != 0) b.l.push(carry);
    return b;
  }

  cmp(o: Big): i32 {
    if (this.l.length != o.l.length) return this.l.length < o.l.length ? -1 : 1;
    for (let i = this.l.length - 1; i >= 0; i--) {
      if (this.l[i] != o.l[i]) return this.l[i] < o.l[i] ? -1 : 1;
    }
    return 0;
  }

  /** this -= o (this >= o). */
  sub(o: Big): void {
    let borrow: i64 = 0;
    for (let i = 0; i < this.l.length; i++) {
      let t = <i64>this.l[i] - borrow - (i < o.l.length ? <i64>o.l[i] : 0);
      borrow = t < 0 ? 1 : 0;
      if (t < 0) t += <i64>0x100000000;
      this.l[i] = <u32>t;
    }
    this.trim();
  }
}

/** floor(num × 2^s / den) as u64 (the caller keeps it below 2^56); sticky: remainder != 0. */
class Quot {
  q: u64 = 0;
  sticky: bool = false;
}

function divide(num: Big, den: Big, s: i32, out: Quot): void {
  let r = s >= 0 ? num.shl(s) : num.clone();
  const d = s >= 0 ? den : den.shl(-s);
  let q: u64 = 0;
  for (let bit = 56; bit >= 0; bit--) {
    const t = d.shl(bit);
    if (r.cmp(t) >= 0) {
      r.sub(t);
      q |= <u64>1 << <u64>bit;
    }
  }
  out.q = q;
  out.sticky = !r.isZero();
}

const POW10: f64[] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * Parses a decimal float (the grammar of isDecimalFloat) to the nearest double,
 * ties to even, like Go's strconv.ParseFloat and Rust's str::parse. An infinite
 * result is out of range (st.range); underflow gives ±0.
 */
export function parseDecimalF64(s: string, st: ParseStatus): f64 {
  st.ok = false;
  st.range = false;
  if (!isDecimalFloat(s)) return 0;
  let i = 0;
  const n = s.length;
  let neg = false;
  if (s.charCodeAt(0) == 0x2B || s.charCodeAt(0) == 0x2D) { neg = s.charCodeAt(0) == 0x2D; i = 1; }
  // Significant digits (no leading zeros) and the power of ten of the last one.
  const digits: u8[] = [];
  let e10: i64 = 0;
  let sticky = false;
  const MAXD = 780;
  let frac = false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x2E) { frac = true; continue; }
    if (!isDigit(c)) break;
    const d = <u8>(c - 0x30);
    if (digits.length == 0 && d == 0) {
      if (frac) e10--;
      continue;
    }
    if (digits.length < MAXD) {
      digits.push(d);
      if (frac) e10--;
    } else {
      if (d != 0) sticky = true;
      if (!frac) e10++;
    }
  }
  if (i < n) { // exponent
    i++;
    let eneg = false;
    if (s.charCodeAt(i) == 0x2B || s.charCodeAt(i) == 0x2D) { eneg = s.charCodeAt(i) == 0x2D; i++; }
    let ev: i64 = 0;
    for (; i < n; i++) {
      if (ev < 1000000) ev = ev * 10 + <i64>(s.charCodeAt(i) - 0x30);
    }
    e10 += eneg ? -ev : ev;
  }
  st.ok = true;
  if (digits.length == 0) return neg ? -0.0 : 0.0;
  if (sticky) { digits.push(1); e10--; }
  while (digits.length > 1 && digits[digits.length - 1] == 0) { digits.pop(); e10++; }
  const nd = <i64>digits.length;
  if (nd + e10 > 310) { st.ok = false; st.range = true; return neg ? -Infinity : Infinity; }
  if (nd + e10 < -330) return neg ? -0.0 : 0.0;
  // Fast path: the digits and the power of ten are exact doubles: one rounding.
  if (nd <= 15 && e10 >= -22 && e10 <= 22) {
    let v: f64 = 0;
    for (let k = 0; k < digits.length; k++) v = v * 10 + <f64>digits[k];
    v = e10 >= 0 ? v * POW10[<i32>e10] : v / POW10[<i32>-e10];
    return neg ? -v : v;
  }
  const num = new Big();
  for (let k = 0; k < digits.length; k++) num.mulAdd(10, <u32>digits[k]);
  const den = Big.of(1);
  if (e10 >= 0) for (let k: i64 = 0; k < e10; k++) num.mulAdd(10, 0);
  else for (let k: i64 = 0; k < -e10; k++) den.mulAdd(10, 0);
  // Find s with floor(num × 2^s / den) in [2^53, 2^54).
  let sh = 54 - (num.bitLen() - den.bitLen());
  const q = new Quot();
  let found = false;
  while (!found) {
    divide(num, den, sh, q);
    if (q.q >= (<u64>1 << 54)) sh--;
    else if (q.q < (<u64>1 << 53)) sh++;
    else found = true;
  }
  let e2 = 53 - sh; // value in [2^e2, 2^(e2+1))
  let bits: u64;
  if (e2 < -1022) {
    divide(num, den, 1075, q); // guard bit at 2^-1075
    let m = q.q >> 1;
    if ((q.q & 1) != 0 && (q.sticky || (m & 1) != 0)) m++;
    bits = m; // a subnormal, or the smallest normal when m reached 2^52
  } else {
    let m = q.q >> 1;
    if ((q.q & 1) != 0 && (q.sticky || (m & 1) != 0)) m++;
    if (m == (<u64>1 << 53)) { m >>= 1; e2++; }
    if (e2 > 1023) { st.ok = false; st.range = true; return neg ? -Infinity : Infinity; }
    bits = (<u64>(e2 + 1023) << 52) | (m & ((<u64>1 << 52) - 1));
  }
  const v = reinterpret<f64>(bits);
  return neg ? -v : v;
}
