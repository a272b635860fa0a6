/*
 * count_by: the sluice example plugin "count_by" in C. It counts the rows
 * per value of a column and emits (value text, count bigint) rows at the
 * end of the stream; its counts survive a hot swap through snapshot/restore,
 * in a format shared by every SDK language. Its behaviour is specified in
 * plugins/examples/README.md.
 *
 * Built (from this directory; see build.sh) with:
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -mbulk-memory -O2 -Wall -Wextra -Werror -I../../../c -o count_by.wasm count_by.c
 */
#define SLUICE_IMPLEMENTATION
#define SLUICE_ERROR_PREFIX "count_by: "
#define SLUICE_WITH_FLUSH
#define SLUICE_WITH_SNAPSHOT
#include "sluice.h"

#define SNAPSHOT_MAGIC 0x31424353u /* "SCB1" */

static sluice_str column, output;
static sluice_schema *out_schema;

/* ---- counts: an open-addressing hash table of copied keys ---- */

struct entry {
    uint8_t *key; /* NULL: free slot */
    uint32_t len;
    uint32_t hash;
    uint64_t count;
};

struct counts {
    struct entry *slots;
    uint32_t cap; /* power of two */
    uint32_t n;
    uint64_t null_count;
};

static struct counts counts;

static uint32_t hash(const uint8_t *p, uint32_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static void counts_free(struct counts *c) {
    for (uint32_t i = 0; i < c->cap; i++) sluice_free(c->slots[i].key);
    sluice_free(c->slots);
    c->slots = NULL;
    c->cap = c->n = 0;
    c->null_count = 0;
}

static struct entry *slot_for(struct counts *c, const uint8_t *p, uint32_t n, uint32_t h) {
    for (uint32_t i = h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        struct entry *e = &c->slots[i];
        if (!e->key || (e->hash == h && e->len == n && (n == 0 || memcmp(e->key, p, n) == 0))) return e;
    }
}

static void grow(struct counts *c) {
    struct entry *old = c->slots;
    uint32_t old_cap = c->cap;
    c->cap = old_cap ? old_cap * 2 : 64;
    c->slots = (struct entry *)sluice_malloc(sizeof(struct entry) * c->cap);
    memset(c->slots, 0, sizeof(struct entry) * c->cap);
    for (uint32_t i = 0; i < old_cap; i++)
        if (old[i].key) *slot_for(c, old[i].key, old[i].len, old[i].hash) = old[i];
    sluice_free(old);
}

/* Adds count to key p[0:n] (copied when new). */
static void add(struct counts *c, const uint8_t *p, uint32_t n, uint64_t count) {
    if ((c->n + 1) * 10 > c->cap * 7) grow(c);
    uint32_t h = hash(p, n);
    struct entry *e = slot_for(c, p, n, h);
    if (!e->key) {
        e->key = (uint8_t *)sluice_malloc(n ? n : 1);
        memcpy(e->key, p, n);
        e->len = n;
        e->hash = h;
        e->count = 0;
        c->n++;
    }
    e->count += count;
}

static int entry_cmp(const struct entry *a, const struct entry *b) {
    sluice_str x = {a->key, a->len}, y = {b->key, b->len};
    return sluice_str_cmp(x, y);
}

/* The entries sorted bytewise (merge sort into a malloc'd array). */
static struct entry **sorted(struct counts *c) {
    struct entry **a = (struct entry **)sluice_malloc(sizeof(struct entry *) * (c->n ? c->n : 1));
    struct entry **tmp = (struct entry **)sluice_malloc(sizeof(struct entry *) * (c->n ? c->n : 1));
    uint32_t k = 0;
    for (uint32_t i = 0; i < c->cap; i++)
        if (c->slots[i].key) a[k++] = &c->slots[i];
    for (uint32_t width = 1; width < k; width *= 2) {
        for (uint32_t lo = 0; lo < k; lo += 2 * width) {
            uint32_t mid = lo + width < k ? lo + width : k, hi = lo + 2 * width < k ? lo + 2 * width : k;
            uint32_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi) tmp[o++] = entry_cmp(a[j], a[i]) < 0 ? a[j++] : a[i++];
            while (i < mid) tmp[o++] = a[i++];
            while (j < hi) tmp[o++] = a[j++];
        }
        struct entry **t = a;
        a = tmp;
        tmp = t;
    }
    sluice_free(tmp);
    return a;
}

/* ---- config ---- */

int sluice_plugin_init(const sluice_config *cfg) {
    static const char *const known[] = {"column", "output", NULL};
    if (sluice_config_unknown(cfg, known) < 0 || sluice_config_single(cfg, known) < 0) return SLUICE_FAIL;
    if (sluice_config_require(cfg, "column", &column) < 0) return SLUICE_FAIL;
    sluice_config_string(cfg, "output", SLUICE_STR(""), &output);
    out_schema = sluice_schema_new();
    sluice_schema_add(out_schema, SLUICE_STR("value"), SLUICE_TEXT);
    sluice_schema_add(out_schema, SLUICE_STR("count"), SLUICE_BIGINT);
    return SLUICE_OK;
}

/* ---- rendering ---- */

static void floor_div(int64_t a, int64_t b, int64_t *q, int64_t *r) {
    *q = a / b;
    *r = a % b;
    if (*r < 0) {
        (*q)--;
        *r += b;
    }
}

/* Proleptic Gregorian date of a day number (H. Hinnant). */
static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d) {
    int64_t era, doe;
    floor_div(z + 719468, 146097, &era, &doe);
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static void put_date(sluice_buf *b, int64_t y, int64_t m, int64_t d) {
    sluice_buf_udec(b, (uint64_t)y, 4);
    sluice_buf_byte(b, '-');
    sluice_buf_udec(b, (uint64_t)m, 2);
    sluice_buf_byte(b, '-');
    sluice_buf_udec(b, (uint64_t)d, 2);
}

static void put_clock(sluice_buf *b, int64_t sod) {
    sluice_buf_udec(b, (uint64_t)(sod / 3600), 2);
    sluice_buf_byte(b, ':');
    sluice_buf_udec(b, (uint64_t)(sod / 60 % 60), 2);
    sluice_buf_byte(b, ':');
    sluice_buf_udec(b, (uint64_t)(sod % 60), 2);
}

static int fixed_len(uint16_t t) {
    switch (t) {
    case SLUICE_TINYINT:
    case SLUICE_BOOLEAN: return 1;
    case SLUICE_SMALLINT: return 2;
    case SLUICE_INT:
    case SLUICE_DATE: return 4;
    case SLUICE_BIGINT:
    case SLUICE_COUNTER:
    case SLUICE_TIMESTAMP:
    case SLUICE_TIME: return 8;
    case SLUICE_UUID:
    case SLUICE_TIMEUUID: return 16;
    }
    return -1;
}

static uint64_t be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* Renders a non-NULL cell of type t into b (README: "Keys"). */
static int render(sluice_buf *b, uint16_t t, sluice_cell c, uint32_t row) {
    if (c.len == 0) {
        if (t == SLUICE_BLOB) sluice_buf_put(b, "0x", 2);
        return SLUICE_OK;
    }
    int fl = fixed_len(t);
    if (fl > 0 && c.len != fl) goto bad;
    switch (t) {
    case SLUICE_ASCII:
    case SLUICE_TEXT: sluice_buf_put(b, c.ptr, (uint32_t)c.len); break;
    case SLUICE_BLOB:
        sluice_buf_put(b, "0x", 2);
        sluice_buf_hex(b, c.ptr, (uint32_t)c.len);
        break;
    case SLUICE_TINYINT: sluice_buf_i64(b, (int8_t)c.ptr[0]); break;
    case SLUICE_SMALLINT: sluice_buf_i64(b, (int16_t)be(c.ptr, 2)); break;
    case SLUICE_INT: sluice_buf_i64(b, (int32_t)be(c.ptr, 4)); break;
    case SLUICE_BIGINT:
    case SLUICE_COUNTER: sluice_buf_i64(b, (int64_t)be(c.ptr, 8)); break;
    case SLUICE_BOOLEAN: sluice_buf_printf(b, "%s", c.ptr[0] ? "true" : "false"); break;
    case SLUICE_TIMESTAMP: {
        int64_t ms = (int64_t)be(c.ptr, 8), secs, msec, days, sod, y, m, d;
        floor_div(ms, 1000, &secs, &msec);
        floor_div(secs, 86400, &days, &sod);
        civil_from_days(days, &y, &m, &d);
        if (y < 0 || y > 9999)
            return sluice_fail(row, "row %u: column \"%S\": timestamp %lld is outside years 0000-9999", row, column, (long long)ms);
        put_date(b, y, m, d);
        sluice_buf_byte(b, 'T');
        put_clock(b, sod);
        sluice_buf_byte(b, '.');
        sluice_buf_udec(b, (uint64_t)msec, 3);
        sluice_buf_byte(b, 'Z');
        break;
    }
    case SLUICE_DATE: {
        int64_t days = (int64_t)be(c.ptr, 4) - (int64_t)SLUICE_DATE_EPOCH, y, m, d;
        civil_from_days(days, &y, &m, &d);
        if (y < 0 || y > 9999)
            return sluice_fail(row, "row %u: column \"%S\": date %lld is outside years 0000-9999", row, column, (long long)days);
        put_date(b, y, m, d);
        break;
    }
    case SLUICE_TIME: {
        int64_t ns = (int64_t)be(c.ptr, 8);
        if (ns < 0 || ns >= SLUICE_MAX_TIME) goto bad;
        put_clock(b, ns / 1000000000LL);
        sluice_buf_byte(b, '.');
        sluice_buf_udec(b, (uint64_t)(ns % 1000000000LL), 9);
        break;
    }
    case SLUICE_UUID:
    case SLUICE_TIMEUUID:
        sluice_buf_hex(b, c.ptr, 4);
        sluice_buf_byte(b, '-');
        sluice_buf_hex(b, c.ptr + 4, 2);
        sluice_buf_byte(b, '-');
        sluice_buf_hex(b, c.ptr + 6, 2);
        sluice_buf_byte(b, '-');
        sluice_buf_hex(b, c.ptr + 8, 2);
        sluice_buf_byte(b, '-');
        sluice_buf_hex(b, c.ptr + 10, 6);
        break;
    }
    return SLUICE_OK;
bad:
    return sluice_fail(row, "row %u: column \"%S\": invalid %s cell of %d bytes", row, column, sluice_type_name(t), c.len);
}

/* ---- process, flush ---- */

static sluice_buf schema_seen;
static bool resolved;
static int32_t col;
static uint16_t typ;
static sluice_buf key;

static int resolve(const sluice_page *page) {
    resolved = false;
    schema_seen.len = 0;
    sluice_buf_put(&schema_seen, page->schema.bytes, page->schema.bytes_len);
    col = sluice_find_column(page, column);
    if (col < 0) return SLUICE_FAIL;
    typ = page->schema.cols[col].type;
    switch (typ) {
    case SLUICE_ASCII: case SLUICE_TEXT: case SLUICE_TINYINT: case SLUICE_SMALLINT: case SLUICE_INT:
    case SLUICE_BIGINT: case SLUICE_COUNTER: case SLUICE_BOOLEAN: case SLUICE_TIMESTAMP: case SLUICE_DATE:
    case SLUICE_TIME: case SLUICE_UUID: case SLUICE_TIMEUUID: case SLUICE_BLOB:
        break;
    default:
        return sluice_fail(-1,
                           "column \"%S\" has type %s, which count_by cannot count (supported: ascii, text, tinyint, "
                           "smallint, int, bigint, counter, boolean, timestamp, date, time, uuid, timeuuid, blob)",
                           column, sluice_type_name(typ));
    }
    resolved = true;
    return SLUICE_OK;
}

int sluice_plugin_process(const sluice_page *page, sluice_output *out) {
    sluice_str seen = sluice_buf_view(&schema_seen), now = {page->schema.bytes, page->schema.bytes_len};
    if (!resolved || !sluice_str_eq(seen, now)) {
        if (resolve(page) < 0) return SLUICE_FAIL;
    }
    for (uint32_t i = 0; i < page->nrows; i++) {
        sluice_row row = sluice_page_row(page, i);
        sluice_cell c = sluice_row_cell(&row, (uint32_t)col);
        if (c.len < 0) {
            counts.null_count++;
            continue;
        }
        key.len = 0;
        if (render(&key, typ, c, i) < 0) return SLUICE_FAIL;
        add(&counts, key.ptr, key.len, 1);
    }
    if (output.len == 0) sluice_drop_all(out);
    return SLUICE_OK;
}

int sluice_plugin_flush(sluice_output *out) {
    if (counts.n == 0 && counts.null_count == 0) return SLUICE_OK;
    sluice_writer *w = sluice_rows(out, output, out_schema);
    if (!w) return SLUICE_FAIL;
    if (counts.null_count) {
        sluice_put_null(w);
        sluice_put_bigint(w, (int64_t)counts.null_count);
        if (sluice_end_row(w) < 0) return SLUICE_FAIL;
    }
    struct entry **es = sorted(&counts);
    for (uint32_t i = 0; i < counts.n; i++) {
        sluice_str k = {es[i]->key, es[i]->len};
        sluice_put_text(w, k);
        sluice_put_bigint(w, (int64_t)es[i]->count);
        if (sluice_end_row(w) < 0) {
            sluice_free(es);
            return SLUICE_FAIL;
        }
    }
    sluice_free(es);
    /* The result is encoded after this returns, from the writer's own
     * copy of the rows: the counts can go now. */
    counts_free(&counts);
    return SLUICE_OK;
}

/* ---- snapshot, restore (README: "Snapshot and restore") ---- */

int sluice_plugin_snapshot(sluice_buf *state) {
    sluice_buf_u32le(state, SNAPSHOT_MAGIC);
    sluice_buf_u32le(state, column.len);
    sluice_buf_str(state, column);
    sluice_buf_u32le(state, counts.n + (counts.null_count > 0));
    if (counts.null_count) {
        sluice_buf_u32le(state, 0xFFFFFFFFu);
        sluice_buf_u64le(state, counts.null_count);
    }
    struct entry **es = sorted(&counts);
    for (uint32_t i = 0; i < counts.n; i++) {
        sluice_buf_u32le(state, es[i]->len);
        sluice_buf_put(state, es[i]->key, es[i]->len);
        sluice_buf_u64le(state, es[i]->count);
    }
    sluice_free(es);
    return SLUICE_OK;
}

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

int sluice_plugin_restore(const uint8_t *b, uint32_t len) {
    struct counts next = {0};
    uint32_t off = 0;
#define FAIL(...)                         \
    do {                                  \
        counts_free(&next);               \
        sluice_fail(-1, __VA_ARGS__);     \
        return SLUICE_FAIL;               \
    } while (0)
    if (len < 4) FAIL("restore: magic at byte 0: truncated (%u bytes left)", len);
    uint32_t magic = le32(b);
    off = 4;
    if (magic != SNAPSHOT_MAGIC) FAIL("restore: magic 0x%x, want 0x%x (\"SCB1\")", magic, SNAPSHOT_MAGIC);
    if (len - off < 4) FAIL("restore: column length at byte %u: truncated", off);
    uint32_t clen = le32(b + off);
    off += 4;
    if (clen > len - off) FAIL("restore: column length %u beyond the %u bytes left", clen, len - off);
    sluice_str snap_col = {b + off, clen};
    off += clen;
    if (len - off < 4) FAIL("restore: key count at byte %u: truncated", off);
    uint32_t n = le32(b + off);
    off += 4;
    if ((uint64_t)n * 12 > len - off) FAIL("restore: %u keys need at least %llu bytes, %u left", n, (unsigned long long)n * 12, len - off);
    sluice_str prev = {NULL, 0};
    bool have_prev = false;
    for (uint32_t i = 0; i < n; i++) {
        if (len - off < 4) FAIL("restore: key %u length: truncated", i);
        int32_t klen = (int32_t)le32(b + off);
        off += 4;
        sluice_str k = {b + off, 0};
        if (klen == -1) {
            if (i != 0) FAIL("restore: key %u is NULL, which must come first", i);
        } else if (klen < -1) {
            FAIL("restore: key %u length %d", i, klen);
        } else {
            if ((uint32_t)klen > len - off) FAIL("restore: key %u length %d beyond the %u bytes left", i, klen, len - off);
            k.len = (uint32_t)klen;
            off += (uint32_t)klen;
            if (have_prev && sluice_str_cmp(prev, k) >= 0) FAIL("restore: key %u does not sort after key %u", i, i - 1);
            prev = k;
            have_prev = true;
        }
        if (len - off < 8) FAIL("restore: key %u count: truncated", i);
        uint64_t cnt = (uint64_t)le32(b + off) | (uint64_t)le32(b + off + 4) << 32;
        off += 8;
        if (cnt == 0) FAIL("restore: key %u has count 0", i);
        if (klen == -1) next.null_count = cnt;
        else add(&next, k.ptr, k.len, cnt);
    }
    if (off != len) FAIL("restore: %u trailing bytes after %u keys", len - off, n);
    if (!sluice_str_eq(snap_col, column))
        FAIL("restore: snapshot counts column \"%S\", config column is \"%S\"", snap_col, column);
#undef FAIL
    counts_free(&counts);
    counts = next;
    return SLUICE_OK;
}
