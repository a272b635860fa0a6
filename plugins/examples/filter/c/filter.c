/*
 * filter: the sluice example plugin "filter" in C. It keeps the rows where
 * a column compares true to a configured value, with a SELECT bitmap (no
 * row is copied). Its behaviour is specified in plugins/examples/README.md,
 * identically for every SDK language.
 *
 * Built (from this directory; see build.sh) with:
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -mbulk-memory -O2 -Wall -Wextra -Werror -I../../../c -o filter.wasm filter.c
 *
 * It links wasi-libc for strtod (correctly rounded decimal parsing); the
 * module imports nothing from WASI.
 */
#define SLUICE_IMPLEMENTATION
#define SLUICE_ERROR_PREFIX "filter: "
#include "sluice.h"

#include <math.h>
#include <stdlib.h>

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IS_NULL, OP_NOT_NULL };
static const char *const op_names[] = {"==", "!=", "<", "<=", ">", ">=", "is_null", "not_null"};

/* What the value is compared as. */
enum kind { K_INT, K_DATE, K_FLOAT, K_DOUBLE, K_BOOL, K_TEXT };

static sluice_str column, value;
static enum op op;

/* Resolution for the last schema seen (page->schema_id; 0: none). */
static uint32_t schema_seen;
static int32_t col;
static uint16_t typ;
static enum kind kind;
static int64_t t_int; /* ints, timestamp (ms), time (ns), bool */
static uint32_t t_date;
static float t_float;
static double t_double;
static bool err_pending; /* resolution failed: resolve (and fail) again */

int sluice_plugin_init(const sluice_config *cfg) {
    static const char *const known[] = {"column", "op", "value", NULL};
    if (sluice_config_unknown(cfg, known) < 0 || sluice_config_single(cfg, known) < 0) return SLUICE_FAIL;
    if (sluice_config_require(cfg, "column", &column) < 0) return SLUICE_FAIL;
    sluice_str o;
    if (sluice_config_require(cfg, "op", &o) < 0) return SLUICE_FAIL;
    unsigned i = 0;
    while (i < 8 && !sluice_str_eq(o, sluice_cstr(op_names[i]))) i++;
    if (i == 8) return sluice_fail(-1, "op \"%S\" is not one of ==, !=, <, <=, >, >=, is_null, not_null", o);
    op = (enum op)i;
    bool has_value = sluice_config_at(cfg, "value", 0, &value);
    bool null_test = op == OP_IS_NULL || op == OP_NOT_NULL;
    if (!null_test && !has_value) return sluice_fail(-1, "op \"%S\" needs config key \"value\"", o);
    if (null_test && has_value) return sluice_fail(-1, "op \"%S\" takes no config key \"value\"", o);
    return SLUICE_OK;
}

static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* [+-]?[0-9]+ */
static bool is_integer(sluice_str s) {
    uint32_t i = 0;
    if (s.len && (s.ptr[0] == '+' || s.ptr[0] == '-')) i++;
    if (i == s.len) return false;
    for (; i < s.len; i++)
        if (!is_digit(s.ptr[i])) return false;
    return true;
}

enum parse { P_OK, P_SYNTAX, P_RANGE };

static enum parse parse_int(sluice_str s, int64_t lo, int64_t hi, int64_t *v) {
    if (!is_integer(s)) return P_SYNTAX;
    uint32_t i = 0;
    bool neg = false;
    if (s.ptr[0] == '+' || s.ptr[0] == '-') neg = s.ptr[i++] == '-';
    uint64_t x = 0, lim = neg ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
    for (; i < s.len; i++) {
        uint64_t d = s.ptr[i] - '0';
        if (x > (lim - d) / 10) return P_RANGE;
        x = x * 10 + d;
    }
    int64_t r = neg ? (int64_t)(0 - x) : (int64_t)x;
    if (r < lo || r > hi) return P_RANGE;
    *v = r;
    return P_OK;
}

/* [+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)? */
static bool is_decimal_float(sluice_str s) {
    uint32_t i = 0, n = s.len;
    const uint8_t *p = s.ptr;
    if (i < n && (p[i] == '+' || p[i] == '-')) i++;
    uint32_t st = i;
    while (i < n && is_digit(p[i])) i++;
    uint32_t int_digits = i - st, frac_digits = 0;
    if (i < n && p[i] == '.') {
        i++;
        uint32_t fs = i;
        while (i < n && is_digit(p[i])) i++;
        frac_digits = i - fs;
    }
    if (!int_digits && !frac_digits) return false;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-')) i++;
        uint32_t es = i;
        while (i < n && is_digit(p[i])) i++;
        if (i == es) return false;
    }
    return i == n;
}

/* Exactly n digits at s[i]. */
static bool num(sluice_str s, uint32_t i, uint32_t n, int64_t *v) {
    if (i + n > s.len) return false;
    int64_t x = 0;
    for (uint32_t k = i; k < i + n; k++) {
        if (!is_digit(s.ptr[k])) return false;
        x = x * 10 + (s.ptr[k] - '0');
    }
    *v = x;
    return true;
}

static int64_t days_in(int64_t y, int64_t m) {
    if (m == 2) return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28;
    if (m == 4 || m == 6 || m == 9 || m == 11) return 30;
    return 31;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    if (m <= 2) y--;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* YYYY-MM-DD, exactly. */
static bool parse_date(sluice_str s, int64_t *days) {
    int64_t y, m, d;
    if (s.len != 10 || s.ptr[4] != '-' || s.ptr[7] != '-') return false;
    if (!num(s, 0, 4, &y) || !num(s, 5, 2, &m) || !num(s, 8, 2, &d)) return false;
    if (m < 1 || m > 12 || d < 1 || d > days_in(y, m)) return false;
    *days = days_from_civil(y, m, d);
    return true;
}

/* HH:MM:SS[.F] at the start of s; *rest is what follows. */
static bool parse_clock(sluice_str s, int64_t *ns, sluice_str *rest) {
    int64_t h, m, sec;
    if (s.len < 8 || s.ptr[2] != ':' || s.ptr[5] != ':') return false;
    if (!num(s, 0, 2, &h) || !num(s, 3, 2, &m) || !num(s, 6, 2, &sec)) return false;
    if (h > 23 || m > 59 || sec > 59) return false;
    int64_t v = ((h * 60 + m) * 60 + sec) * 1000000000LL;
    uint32_t i = 8;
    if (i < s.len && s.ptr[i] == '.') {
        i++;
        uint32_t fs = i;
        int64_t frac = 0;
        while (i < s.len && is_digit(s.ptr[i])) frac = frac * 10 + (s.ptr[i++] - '0');
        uint32_t nd = i - fs;
        if (nd < 1 || nd > 9) return false;
        for (uint32_t k = nd; k < 9; k++) frac *= 10;
        v += frac;
    }
    *ns = v;
    rest->ptr = s.ptr + i;
    rest->len = s.len - i;
    return true;
}

/* YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM) to ms since the epoch. */
static bool parse_rfc3339(sluice_str s, int64_t *ms) {
    if (s.len < 20 || s.ptr[10] != 'T') return false;
    sluice_str date = {s.ptr, 10}, clock = {s.ptr + 11, s.len - 11}, rest;
    int64_t days, ns, off = 0;
    if (!parse_date(date, &days) || !parse_clock(clock, &ns, &rest)) return false;
    if (rest.len == 1 && rest.ptr[0] == 'Z') {
    } else if (rest.len == 6 && (rest.ptr[0] == '+' || rest.ptr[0] == '-') && rest.ptr[3] == ':') {
        int64_t oh, om;
        if (!num(rest, 1, 2, &oh) || !num(rest, 4, 2, &om) || oh > 23 || om > 59) return false;
        off = (oh * 60 + om) * 60;
        if (rest.ptr[0] == '-') off = -off;
    } else {
        return false;
    }
    int64_t secs = days * 86400 + ns / 1000000000LL - off;
    *ms = secs * 1000 + (ns % 1000000000LL) / 1000000;
    return true;
}

/* Parses the value for the column type; records the error on failure. */
static int parse_value(void) {
    enum parse r = P_OK;
    switch (typ) {
    case SLUICE_TINYINT: kind = K_INT; r = parse_int(value, -128, 127, &t_int); break;
    case SLUICE_SMALLINT: kind = K_INT; r = parse_int(value, -32768, 32767, &t_int); break;
    case SLUICE_INT: kind = K_INT; r = parse_int(value, INT32_MIN, INT32_MAX, &t_int); break;
    case SLUICE_BIGINT:
    case SLUICE_COUNTER: kind = K_INT; r = parse_int(value, INT64_MIN, INT64_MAX, &t_int); break;
    case SLUICE_FLOAT:
    case SLUICE_DOUBLE: {
        kind = typ == SLUICE_FLOAT ? K_FLOAT : K_DOUBLE;
        if (!is_decimal_float(value)) {
            r = P_SYNTAX;
            break;
        }
        char buf[512];
        char *heap = NULL, *s = buf;
        if (value.len >= sizeof buf) s = heap = (char *)sluice_malloc(value.len + 1);
        memcpy(s, value.ptr, value.len);
        s[value.len] = 0;
        double d = strtod(s, NULL);
        sluice_free(heap);
        if (isinf(d)) {
            r = P_RANGE;
        } else if (kind == K_DOUBLE) {
            t_double = d;
        } else {
            t_float = (float)d;
            if (isinf(t_float)) r = P_RANGE;
        }
        break;
    }
    case SLUICE_BOOLEAN:
        kind = K_BOOL;
        if (sluice_str_eq(value, SLUICE_STR("true"))) t_int = 1;
        else if (sluice_str_eq(value, SLUICE_STR("false"))) t_int = 0;
        else r = P_SYNTAX;
        break;
    case SLUICE_ASCII:
    case SLUICE_TEXT: kind = K_TEXT; break;
    case SLUICE_TIMESTAMP:
        kind = K_INT;
        if (is_integer(value)) r = parse_int(value, INT64_MIN, INT64_MAX, &t_int);
        else if (!parse_rfc3339(value, &t_int)) r = P_SYNTAX;
        break;
    case SLUICE_DATE: {
        kind = K_DATE;
        int64_t days;
        if (!parse_date(value, &days)) r = P_SYNTAX;
        else t_date = (uint32_t)(days + (int64_t)SLUICE_DATE_EPOCH);
        break;
    }
    case SLUICE_TIME: {
        kind = K_INT;
        sluice_str rest;
        if (!parse_clock(value, &t_int, &rest) || rest.len != 0) r = P_SYNTAX;
        break;
    }
    default:
        return sluice_fail(-1,
                           "column \"%S\" has type %s, which filter cannot compare (supported: tinyint, smallint, int, "
                           "bigint, counter, float, double, boolean, ascii, text, timestamp, date, time)",
                           column, sluice_type_name(typ));
    }
    if (r == P_SYNTAX) return sluice_fail(-1, "value \"%S\" is not a valid %s", value, sluice_type_name(typ));
    if (r == P_RANGE) return sluice_fail(-1, "value \"%S\" is out of range for %s", value, sluice_type_name(typ));
    return SLUICE_OK;
}

static int resolve(const sluice_page *page) {
    schema_seen = page->schema_id;
    err_pending = false;
    col = sluice_find_column(page, column);
    if (col >= 0) typ = page->schema.cols[col].type;
    if (col >= 0 && (op == OP_IS_NULL || op == OP_NOT_NULL || parse_value() == SLUICE_OK)) return SLUICE_OK;
    err_pending = true;
    return SLUICE_FAIL;
}

static bool cmp3(int c) {
    switch (op) {
    case OP_EQ: return c == 0;
    case OP_NE: return c != 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
    default: return c >= 0;
    }
}

/* IEEE 754 comparison: NaN is unordered. */
static bool cmp_double(double a, double b) {
    switch (op) {
    case OP_EQ: return a == b;
    case OP_NE: return a != b;
    case OP_LT: return a < b;
    case OP_LE: return a <= b;
    case OP_GT: return a > b;
    default: return a >= b;
    }
}

#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)

/* Whether row matches: 1, 0, or SLUICE_FAIL for a malformed cell. */
static int match(const sluice_row *row) {
    int st;
    switch (typ) {
    case SLUICE_ASCII:
    case SLUICE_TEXT: {
        sluice_cell c = sluice_row_cell(row, (uint32_t)col);
        if (c.len < 0) return 0;
        sluice_str s = {c.ptr, (uint32_t)c.len};
        return cmp3(sluice_str_cmp(s, value));
    }
    case SLUICE_TINYINT: {
        int8_t v;
        st = sluice_get_tinyint(row, (uint32_t)col, &v);
        return st != SLUICE_OK ? (st < 0 ? st : 0) : cmp3(CMP((int64_t)v, t_int));
    }
    case SLUICE_SMALLINT: {
        int16_t v;
        st = sluice_get_smallint(row, (uint32_t)col, &v);
        return st != SLUICE_OK ? (st < 0 ? st : 0) : cmp3(CMP((int64_t)v, t_int));
    }
    case SLUICE_INT: {
        int32_t v;
        st = sluice_get_int(row, (uint32_t)col, &v);
        return st != SLUICE_OK ? (st < 0 ? st : 0) : cmp3(CMP((int64_t)v, t_int));
    }
    case SLUICE_BIGINT:
    case SLUICE_COUNTER: {
        int64_t v;
        st = sluice_get_bigint(row, (uint32_t)col, &v);
        return st != SLUICE_OK ? (st < 0 ? st : 0) : cmp3(CMP(v, t_int));
    }
    case SLUICE_TIMESTAMP: {
        int64_t v;
        st = sluice_get_timestamp(row, (uint32_t)col, &v);
        return st != SLUICE_OK ? (st < 0 ? st : 0) : cmp3(CMP(v, t_int));
    }
    case SLUICE_TIME: {
        int64_t v;
        st = sluice_get_time(row, (uint32_t)col, &v);
        return st != SLUICE_OK ? (st < 0 ? st : 0) : cmp3(CMP(v, t_int));
    }
    case SLUICE_DATE: {
        uint32_t v;
        st = sluice_get_date(row, (uint32_t)col, &v);
        return st != SLUICE_OK ? (st < 0 ? st : 0) : cmp3(CMP(v, t_date));
    }
    case SLUICE_BOOLEAN: {
        bool v;
        st = sluice_get_boolean(row, (uint32_t)col, &v);
        return st != SLUICE_OK ? (st < 0 ? st : 0) : cmp3(CMP((int64_t)v, t_int));
    }
    case SLUICE_FLOAT: {
        float v;
        st = sluice_get_float(row, (uint32_t)col, &v);
        return st != SLUICE_OK ? (st < 0 ? st : 0) : cmp_double((double)v, (double)t_float);
    }
    case SLUICE_DOUBLE: {
        double v;
        st = sluice_get_double(row, (uint32_t)col, &v);
        return st != SLUICE_OK ? (st < 0 ? st : 0) : cmp_double(v, t_double);
    }
    }
    return sluice_fail(-1, "internal error: type %s", sluice_type_name(typ));
}

int sluice_plugin_process(const sluice_page *page, sluice_output *out) {
    if (page->schema_id != schema_seen || err_pending) {
        if (resolve(page) < 0) return SLUICE_FAIL;
    }
    /* The host checks for timeouts on every loop iteration of the plugin
     * (tens of ns each): unrolling the row loops amortises that check. */
    if (op == OP_IS_NULL || op == OP_NOT_NULL) {
#pragma clang loop unroll_count(8)
        for (uint32_t i = 0; i < page->nrows; i++) {
            sluice_row row = sluice_page_row(page, i);
            bool null = sluice_row_cell(&row, (uint32_t)col).len < 0;
            sluice_select(out, i, null == (op == OP_IS_NULL));
        }
        return SLUICE_OK;
    }
#pragma clang loop unroll_count(8)
    for (uint32_t i = 0; i < page->nrows; i++) {
        sluice_row row = sluice_page_row(page, i);
        int m = match(&row);
        if (m < 0) return SLUICE_FAIL;
        sluice_select(out, i, m == 1);
    }
    return SLUICE_OK;
}
