/*
 * sluice.h - the C SDK for sluice plugins (ABI v1, see abi/ABI.md).
 *
 * A single header. In exactly one .c file of the plugin, define
 * SLUICE_IMPLEMENTATION before including it; that file then also holds the
 * module's exports. Other files include it without the define.
 *
 *     #define SLUICE_IMPLEMENTATION
 *     #define SLUICE_ERROR_PREFIX "adults: "   // optional
 *     #include "sluice.h"
 *
 *     int sluice_plugin_init(const sluice_config *cfg) {
 *         static const char *const known[] = {NULL};
 *         return sluice_config_unknown(cfg, known);
 *     }
 *
 *     int sluice_plugin_process(const sluice_page *page, sluice_output *out) {
 *         int32_t col = sluice_find_column(page, SLUICE_STR("age"));
 *         if (col < 0) return SLUICE_FAIL;
 *         for (uint32_t i = 0; i < page->nrows; i++) {
 *             sluice_row row = sluice_page_row(page, i);
 *             int32_t age;
 *             int st = sluice_get_int(&row, (uint32_t)col, &age);
 *             if (st < 0) return st;
 *             sluice_select(out, i, st == SLUICE_OK && age >= 18);
 *         }
 *         return SLUICE_OK;
 *     }
 *
 * Build it as a reactor module:
 *
 *     clang --target=wasm32-wasi -mexec-model=reactor -mbulk-memory -O2 -o adults.wasm adults.c
 *
 * or without any libc:
 *
 *     clang --target=wasm32 -nostdlib -Wl,--no-entry -mbulk-memory -O2 -o adults.wasm adults.c
 *
 * (-mbulk-memory is optional: it makes memcpy and memset single
 * instructions, which matters because the host checks for timeouts on
 * every loop iteration of a plugin.)
 *
 * The SDK needs no libc: it only uses compiler headers (stdint.h, stddef.h,
 * stdbool.h, stdarg.h) and defines weak memcpy/memmove/memset/memcmp (which
 * a linked libc overrides). Linking wasi-libc for the plugin's own use
 * (strtod, malloc...) works alongside it.
 *
 * # What the plugin defines
 *
 *     int sluice_plugin_init(const sluice_config *cfg);            required
 *     int sluice_plugin_process(const sluice_page *p, sluice_output *out);  required
 *     int sluice_plugin_prepare(const sluice_schema *s);  with #define SLUICE_WITH_PREPARE
 *     int sluice_plugin_flush(sluice_output *out);       with #define SLUICE_WITH_FLUSH
 *     int sluice_plugin_snapshot(sluice_buf *state);     with #define SLUICE_WITH_SNAPSHOT
 *     int sluice_plugin_restore(const uint8_t *state, uint32_t len);   (same)
 *
 * Each returns SLUICE_OK (0) or SLUICE_FAIL (-1) after recording an error
 * with sluice_fail (or after an SDK function that recorded one, such as a
 * getter of an invalid cell). The first recorded error of a call is the one
 * reported, prefixed with SLUICE_ERROR_PREFIX; it stops the stream. An
 * error recorded during a call that then returns SLUICE_OK is reported
 * anyway. The SLUICE_WITH_* macros must be defined before the include in
 * the SLUICE_IMPLEMENTATION file: they decide which exports the module has.
 * Without SLUICE_WITH_SNAPSHOT the module exports neither sluice_snapshot
 * nor sluice_restore, so the host refuses non-empty state from the instance
 * it replaces (ABI.md section 5) and accepts empty state, as the other SDKs
 * do for a plugin without restore.
 *
 * # Lifecycle, memory and lifetimes
 *
 * The host calls init once, process once per page, flush at the end of the
 * stream, snapshot/restore around a hot swap; one call at a time, so no
 * locking is needed. A sluice_page, its rows, cells, column names and
 * every sluice_str read from it point into the input buffer and are valid
 * only during the call: copy what you keep. The config (sluice_config and
 * its strings) stays valid for the life of the instance.
 *
 * Memory for the plugin's state: sluice_malloc, sluice_realloc and
 * sluice_free: size classes for small blocks, coalescing runs of 64 KiB
 * pages for large ones, all from memory.grow (memory is never given back
 * to the host, as WebAssembly cannot shrink it). It does not touch the
 * memory wasi-libc's malloc manages, so both can be used in one module.
 * Running out of memory (the host's memory limit) traps. The SDK keeps one
 * input buffer, one result buffer and one buffer per output written, each
 * reused from call to call: a plugin that rewrites every row of a page
 * peaks at about five times the largest page; one that only selects rows,
 * at about once.
 *
 * Output semantics are those of the Go SDK: the default output receives the
 * input rows unchanged unless the plugin selects rows (sluice_select,
 * sluice_keep, sluice_drop, sluice_keep_all, sluice_drop_all: a bitmap,
 * rows are not copied) or writes rows to it (sluice_rows(out, "" ...));
 * written rows replace the input rows unless a selection was made too.
 * Named outputs receive only the rows written to them.
 */
#ifndef SLUICE_H
#define SLUICE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SLUICE_ERROR_PREFIX
#define SLUICE_ERROR_PREFIX ""
#endif

/* ABI version implemented: major << 16 | minor. */
#define SLUICE_ABI_VERSION 0x00010000u

/* Return values of plugin functions and SDK calls. */
#define SLUICE_OK 0    /* success; for getters: a value was read */
#define SLUICE_NULL 1  /* getters: the cell is NULL (or empty, for fixed-size types) */
#define SLUICE_FAIL -1 /* an error was recorded (see sluice_fail) */

/* Log levels of sluice_log. */
#define SLUICE_DEBUG 0
#define SLUICE_INFO 1
#define SLUICE_WARN 2
#define SLUICE_ERROR 3

/* CQL type ids (native protocol v5 option ids, plus vector). */
enum {
    SLUICE_CUSTOM = 0x0000,
    SLUICE_ASCII = 0x0001,
    SLUICE_BIGINT = 0x0002,
    SLUICE_BLOB = 0x0003,
    SLUICE_BOOLEAN = 0x0004,
    SLUICE_COUNTER = 0x0005,
    SLUICE_DECIMAL = 0x0006,
    SLUICE_DOUBLE = 0x0007,
    SLUICE_FLOAT = 0x0008,
    SLUICE_INT = 0x0009,
    SLUICE_TIMESTAMP = 0x000B,
    SLUICE_UUID = 0x000C,
    SLUICE_TEXT = 0x000D, /* varchar */
    SLUICE_VARINT = 0x000E,
    SLUICE_TIMEUUID = 0x000F,
    SLUICE_INET = 0x0010,
    SLUICE_DATE = 0x0011,
    SLUICE_TIME = 0x0012,
    SLUICE_SMALLINT = 0x0013,
    SLUICE_TINYINT = 0x0014,
    SLUICE_DURATION = 0x0015,
    SLUICE_LIST = 0x0020,
    SLUICE_MAP = 0x0021,
    SLUICE_SET = 0x0022,
    SLUICE_UDT = 0x0030,
    SLUICE_TUPLE = 0x0031,
    SLUICE_VECTOR = 0x0050
};

/* The encoded date of 1970-01-01: dates are unsigned days centred on 2^31. */
#define SLUICE_DATE_EPOCH 0x80000000u
/* One more than the largest valid time of day, in nanoseconds (24h). */
#define SLUICE_MAX_TIME 86400000000000LL

/* A byte string; not NUL-terminated. */
typedef struct sluice_str {
    const uint8_t *ptr;
    uint32_t len;
} sluice_str;

/* A sluice_str of a string literal. */
#define SLUICE_STR(lit) ((sluice_str){(const uint8_t *)(lit), (uint32_t)(sizeof(lit) - 1)})

sluice_str sluice_cstr(const char *s);               /* of a NUL-terminated string */
bool sluice_str_eq(sluice_str a, sluice_str b);      /* same bytes */
int sluice_str_cmp(sluice_str a, sluice_str b);      /* bytewise order: <0, 0, >0 */
const char *sluice_type_name(uint16_t id);           /* "int", "text", ..., "type(0xNNNN)" */

/* One column of a schema. */
typedef struct sluice_column {
    sluice_str name;
    uint16_t type;        /* top-level type id */
    const uint8_t *desc;  /* the full type descriptor (ABI TypeDesc) */
    uint32_t desc_len;
} sluice_column;

/* Column names and types. bytes holds the encoded column descriptors
 * (ncols x (str name, TypeDesc)), as they appear in pages and results. */
typedef struct sluice_schema {
    uint32_t ncols;
    const sluice_column *cols;
    const uint8_t *bytes;
    uint32_t bytes_len;
} sluice_schema;

/* One input page (a view of the input buffer, valid during the call).
 *
 * The SDK checks the page's structure (header, column descriptors, row
 * offsets) before calling the plugin, and each cell's framing when a cell
 * is read: a cell that runs past its row records an error (`sluice sdk:
 * page <n>: row <i>: ...`) and reads as NULL. */
typedef struct sluice_page {
    uint64_t number; /* 1-based, increasing within the stream */
    uint32_t split;  /* token-range split index, 0 when not split */
    uint32_t nrows;
    sluice_schema schema;
    /* Changes exactly when the schema's bytes differ from the previous
     * page's (never 0): key per-schema work (column resolution, parsed
     * values) on it. */
    uint32_t schema_id;
    const uint8_t *offsets; /* nrows+1 little-endian u32 */
    const uint8_t *rows;    /* rows area */
    uint32_t rows_len;
} sluice_page;

/* One row of a page. */
typedef struct sluice_row {
    const sluice_page *page;
    uint32_t index;
    const uint8_t *ptr; /* the row's cells */
    const uint8_t *end;
} sluice_row;

/* One cell: len -1 is NULL, 0 is empty (not NULL). */
typedef struct sluice_cell {
    const uint8_t *ptr;
    int32_t len;
} sluice_cell;

/* Index of the column called name (exact, case-sensitive), or -1. */
int32_t sluice_column_index(const sluice_schema *s, sluice_str name);
/* Like sluice_column_index, but records the error
 * `column "<name>" not found (columns: a, b, c)` when it returns -1. */
int32_t sluice_find_column(const sluice_page *p, sluice_str name);
/* The index of the row's column called name (a NUL-terminated string), to
 * read a cell by column name: sluice_get_int(&row, sluice_col(&row, "age"), &v).
 * When there is no such column it records `column "<name>" not found
 * (columns: a, b, c)` and returns UINT32_MAX, which every getter refuses
 * (SLUICE_FAIL). It searches the schema on every call: in a loop over many
 * rows, resolve names once per schema (SLUICE_WITH_PREPARE) instead. */
uint32_t sluice_col(const sluice_row *r, const char *name);
/* Row i of the page (i < nrows). */
sluice_row sluice_page_row(const sluice_page *p, uint32_t i);
/* Cell col of the row (col < ncols). Reading the cells of a row in
 * increasing column order costs one step per cell skipped. A malformed row
 * records an error and gives a NULL cell. */
sluice_cell sluice_row_cell(const sluice_row *r, uint32_t col);

/*
 * Typed getters. Each checks the column's type, then reads the cell. It
 * returns SLUICE_OK with the value, SLUICE_NULL for a NULL cell (and, for
 * every type but text, ascii and blob, an empty cell), or SLUICE_FAIL after
 * recording an error: `column "<name>" has type <type>, want <types>`, or
 * `row <i>: column "<name>": invalid <type> cell of <n> bytes`.
 */
int sluice_get_text(const sluice_row *r, uint32_t col, sluice_str *v);   /* text, ascii; bytes not validated */
int sluice_get_blob(const sluice_row *r, uint32_t col, sluice_str *v);   /* any type: the raw bytes */
int sluice_get_int(const sluice_row *r, uint32_t col, int32_t *v);
int sluice_get_bigint(const sluice_row *r, uint32_t col, int64_t *v);    /* bigint, counter */
int sluice_get_smallint(const sluice_row *r, uint32_t col, int16_t *v);
int sluice_get_tinyint(const sluice_row *r, uint32_t col, int8_t *v);
int sluice_get_float(const sluice_row *r, uint32_t col, float *v);
int sluice_get_double(const sluice_row *r, uint32_t col, double *v);
int sluice_get_boolean(const sluice_row *r, uint32_t col, bool *v);      /* any non-zero byte is true */
int sluice_get_timestamp(const sluice_row *r, uint32_t col, int64_t *ms); /* ms since 1970-01-01T00:00Z */
int sluice_get_date(const sluice_row *r, uint32_t col, uint32_t *days);  /* SLUICE_DATE_EPOCH = 1970-01-01 */
int sluice_get_time(const sluice_row *r, uint32_t col, int64_t *ns);     /* 0 .. SLUICE_MAX_TIME-1 */
int sluice_get_uuid(const sluice_row *r, uint32_t col, uint8_t v[16]);   /* uuid, timeuuid */
int sluice_get_inet(const sluice_row *r, uint32_t col, sluice_str *addr); /* 4 or 16 bytes */
int sluice_get_varint(const sluice_row *r, uint32_t col, sluice_str *twos); /* big-endian two's complement */
int sluice_get_decimal(const sluice_row *r, uint32_t col, int32_t *scale, sluice_str *unscaled);

typedef struct sluice_duration {
    int32_t months;
    int32_t days;
    int64_t nanos;
} sluice_duration;
int sluice_get_duration(const sluice_row *r, uint32_t col, sluice_duration *v);

/* Elements of a list, set, map (key, value, key, value...), tuple, udt
 * (fields in type order) or vector cell. */
typedef struct sluice_elems {
    const uint8_t *p, *end;
    uint32_t left;   /* elements left; tuples: UINT32_MAX, until the end */
    int32_t fixed;   /* vector of fixed-size elements: their size, else -1 */
    bool vint;       /* vector of variable-size elements */
} sluice_elems;
int sluice_get_elems(const sluice_row *r, uint32_t col, sluice_elems *it);
/* Next element (len -1 for NULL); false at the end. A malformed cell makes
 * it return false after recording an error. */
bool sluice_elems_next(sluice_elems *it, sluice_cell *elem);

/* ---- configuration ---- */

typedef struct sluice_kv {
    sluice_str key, value;
} sluice_kv;

/* The plugin's config: key/value pairs sorted by key; an array gives one
 * pair per element under the same key; nested tables give dotted keys. */
typedef struct sluice_config {
    uint32_t n;
    const sluice_kv *kvs;
} sluice_config;

uint32_t sluice_config_count(const sluice_config *c, const char *key);
/* True when key is set (Go Has, Rust and AssemblyScript has). */
bool sluice_config_has(const sluice_config *c, const char *key);
/* The i-th value of key (0 = first); false when there is none. */
bool sluice_config_at(const sluice_config *c, const char *key, uint32_t i, sluice_str *v);
/* Fails with `unknown config key "<key>"` for the first pair whose key is
 * not in known (NULL-terminated; an entry "t.*" accepts every "t.x"). */
int sluice_config_unknown(const sluice_config *c, const char *const *known);
/* Fails with `config key "<key>" must have one value, got <n>` for the
 * first of keys (NULL-terminated) with more than one value. */
int sluice_config_single(const sluice_config *c, const char *const *keys);
/* The single value of key: SLUICE_OK, SLUICE_NULL when absent (v = def),
 * or SLUICE_FAIL when it has several. */
int sluice_config_string(const sluice_config *c, const char *key, sluice_str def, sluice_str *v);
/* The single value of key; fails with `missing config key "<key>"`. */
int sluice_config_require(const sluice_config *c, const char *key, sluice_str *v);
/* The single value of key as a decimal integer / true|false. */
int sluice_config_int(const sluice_config *c, const char *key, int64_t def, int64_t *v);
int sluice_config_bool(const sluice_config *c, const char *key, bool def, bool *v);

/* ---- growable byte buffers ---- */

typedef struct sluice_buf {
    uint8_t *ptr;
    uint32_t len, cap;
} sluice_buf;

void sluice_buf_put(sluice_buf *b, const void *p, uint32_t n);
void sluice_buf_str(sluice_buf *b, sluice_str s);
void sluice_buf_byte(sluice_buf *b, uint8_t c);
void sluice_buf_u32le(sluice_buf *b, uint32_t v);
void sluice_buf_u64le(sluice_buf *b, uint64_t v);
void sluice_buf_i64(sluice_buf *b, int64_t v);                /* decimal */
void sluice_buf_udec(sluice_buf *b, uint64_t v, int width);   /* decimal, zero-padded to width */
void sluice_buf_hex(sluice_buf *b, const uint8_t *p, uint32_t n); /* lower-case */
void sluice_buf_printf(sluice_buf *b, const char *fmt, ...);
void sluice_buf_vprintf(sluice_buf *b, const char *fmt, va_list ap);
void sluice_buf_free(sluice_buf *b);
static inline sluice_str sluice_buf_view(const sluice_buf *b) {
    sluice_str s = {b->ptr, b->len};
    return s;
}

/*
 * Formatting (sluice_fail, sluice_log, sluice_buf_printf) understands
 * %s (const char *), %S (sluice_str, by value), %d %u %x (int, unsigned),
 * %lld %llu %llx (int64_t, uint64_t), %c and %%. No widths or flags.
 */

/* ---- errors and logging ---- */

/* Records the error of the current call (the first one wins) and returns
 * SLUICE_FAIL. row is the input row it is about, or -1. */
int sluice_fail(int64_t row, const char *fmt, ...);
/* Whether an error was recorded during the current call. */
bool sluice_failed(void);
/* Sends a message to the host's log (capped by the host per page). */
void sluice_log(int level, const char *fmt, ...);

/* ---- memory ---- */

void *sluice_malloc(size_t n);
void *sluice_realloc(void *p, size_t n);
void sluice_free(void *p);

/* ---- schemas for output rows ---- */

/* A schema under construction (sluice_schema_new, sluice_schema_add*).
 * Build schemas once (in init, or when the input schema changes) and reuse
 * them; free with sluice_schema_free. */
sluice_schema *sluice_schema_new(void);
/* Adds a column of a scalar type. */
void sluice_schema_add(sluice_schema *s, sluice_str name, uint16_t type);
/* Adds a column with a full type descriptor (e.g. copied from an input
 * column: col->desc, col->desc_len). */
void sluice_schema_add_desc(sluice_schema *s, sluice_str name, const uint8_t *desc, uint32_t desc_len);
bool sluice_schema_eq(const sluice_schema *a, const sluice_schema *b);
void sluice_schema_free(sluice_schema *s);

/* ---- output ---- */

typedef struct sluice_output sluice_output;
typedef struct sluice_writer sluice_writer;

/* Selection of input rows for the default output (process only). */
void sluice_select(sluice_output *out, uint32_t row, bool keep);
void sluice_keep(sluice_output *out, uint32_t row);
void sluice_drop(sluice_output *out, uint32_t row);
void sluice_keep_all(sluice_output *out);
void sluice_drop_all(sluice_output *out);

/* Sends input row to the named output (not the default one: use
 * sluice_keep) without copying it: a SELECT section on that output, which
 * therefore has the input schema (process only). */
void sluice_route(sluice_output *out, sluice_str output, uint32_t row);

/* The writer of rows for output (empty = default) with schema; one writer
 * and one schema per output per call. NULL after recording an error when
 * the schema differs from the one already used for that output. The
 * schema must stay valid until the call returns. */
sluice_writer *sluice_rows(sluice_output *out, sluice_str output, const sluice_schema *schema);
/* Appends the next cell of the current row. Type mismatches and too many
 * cells record an error that sluice_end_row reports. */
void sluice_put_null(sluice_writer *w);
void sluice_put_raw(sluice_writer *w, const void *p, uint32_t n); /* any type, not checked */
void sluice_put_cell(sluice_writer *w, sluice_cell c);            /* any type, not checked */
void sluice_put_copy(sluice_writer *w, const sluice_row *r, uint32_t col);
void sluice_put_text(sluice_writer *w, sluice_str s);             /* text, ascii */
void sluice_put_blob(sluice_writer *w, sluice_str s);
void sluice_put_int(sluice_writer *w, int32_t v);
void sluice_put_bigint(sluice_writer *w, int64_t v);              /* bigint, counter */
void sluice_put_smallint(sluice_writer *w, int16_t v);
void sluice_put_tinyint(sluice_writer *w, int8_t v);
void sluice_put_float(sluice_writer *w, float v);
void sluice_put_double(sluice_writer *w, double v);
void sluice_put_boolean(sluice_writer *w, bool v);
void sluice_put_timestamp(sluice_writer *w, int64_t ms);
void sluice_put_date(sluice_writer *w, uint32_t days);
void sluice_put_time(sluice_writer *w, int64_t ns);
void sluice_put_uuid(sluice_writer *w, const uint8_t v[16]);
/* Ends the row: SLUICE_OK, or SLUICE_FAIL (the row is discarded) when a
 * cell was refused or the row does not have one cell per column. */
int sluice_end_row(sluice_writer *w);
/* Writes input row r unchanged to output (schema: the input schema). */
int sluice_emit_row(sluice_output *out, sluice_str output, const sluice_row *r);

/* ---- what the plugin defines ---- */

int sluice_plugin_init(const sluice_config *cfg);
int sluice_plugin_process(const sluice_page *page, sluice_output *out);
#ifdef SLUICE_WITH_PREPARE
/* Called before the first page of each new schema (pages of a stream share
 * one, so usually once): resolve column names to indices here. A failure
 * fails that page, and prepare is called again before the next one. */
int sluice_plugin_prepare(const sluice_schema *schema);
#endif
#ifdef SLUICE_WITH_FLUSH
int sluice_plugin_flush(sluice_output *out);
#endif
#ifdef SLUICE_WITH_SNAPSHOT
int sluice_plugin_snapshot(sluice_buf *state);
int sluice_plugin_restore(const uint8_t *state, uint32_t len);
#endif

#ifdef __cplusplus
}
#endif

/* ======================================================================== */

#ifdef SLUICE_IMPLEMENTATION

/* ---- freestanding helpers ---- */

#ifndef SLUICE_NO_MEMFUNCS
/* Weak, so a linked libc's versions win. no_builtin keeps the optimiser
 * from turning these loops back into calls to themselves.
 *
 * Built with -mbulk-memory (as the examples are), memcpy, memmove and
 * memset are single memory.copy / memory.fill instructions. Without it they
 * move 8 bytes per step. Either matters more than it seems: the host runs
 * plugins with a check on every loop iteration (about 40 ns each), so the
 * SDK keeps its per-row work free of byte-at-a-time loops. */
#ifdef __wasm_bulk_memory__
__attribute__((weak, no_builtin("memcpy"))) void *memcpy(void *restrict d, const void *restrict s, size_t n) {
    return __builtin_memcpy(d, s, n);
}
__attribute__((weak, no_builtin("memmove"))) void *memmove(void *d, const void *s, size_t n) {
    return __builtin_memmove(d, s, n);
}
__attribute__((weak, no_builtin("memset"))) void *memset(void *d, int c, size_t n) { return __builtin_memset(d, c, n); }
#else
__attribute__((weak, no_builtin("memcpy"))) void *memcpy(void *restrict d, const void *restrict s, size_t n) {
    unsigned char *dd = (unsigned char *)d;
    const unsigned char *ss = (const unsigned char *)s;
    for (; n >= 8; n -= 8, dd += 8, ss += 8) {
        uint64_t w;
        __builtin_memcpy(&w, ss, 8);
        __builtin_memcpy(dd, &w, 8);
    }
    while (n--) *dd++ = *ss++;
    return d;
}
__attribute__((weak, no_builtin("memmove"))) void *memmove(void *d, const void *s, size_t n) {
    unsigned char *dd = (unsigned char *)d;
    const unsigned char *ss = (const unsigned char *)s;
    if (dd < ss) {
        while (n--) *dd++ = *ss++;
    } else {
        while (n--) dd[n] = ss[n];
    }
    return d;
}
__attribute__((weak, no_builtin("memset"))) void *memset(void *d, int c, size_t n) {
    unsigned char *dd = (unsigned char *)d;
    uint64_t w = (uint64_t)(unsigned char)c * 0x0101010101010101ull;
    for (; n >= 8; n -= 8, dd += 8) __builtin_memcpy(dd, &w, 8);
    while (n--) *dd++ = (unsigned char)c;
    return d;
}
#endif
/* 8 bytes per step; the first differing word is compared bytewise. */
__attribute__((weak, no_builtin("memcmp"))) int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (; n >= 8; n -= 8, x += 8, y += 8) {
        uint64_t u, v;
        __builtin_memcpy(&u, x, 8);
        __builtin_memcpy(&v, y, 8);
        if (u != v) break;
    }
    for (; n; n--, x++, y++)
        if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}
#else
void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
#endif

__attribute__((import_module("sluice"), import_name("log"))) void sluice__host_log(int32_t level, const uint8_t *ptr, int32_t len);

/* Unaligned loads and stores. WebAssembly is little-endian, so the ABI's
 * little-endian framing is a plain load and CQL's big-endian values a
 * byte swap (one instruction each after optimisation). */
static uint32_t sluice__u16le(const uint8_t *p) {
    uint16_t v;
    __builtin_memcpy(&v, p, 2);
    return v;
}
static uint32_t sluice__u32le(const uint8_t *p) {
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}
static uint64_t sluice__u64le(const uint8_t *p) {
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return v;
}
static uint32_t sluice__u32be(const uint8_t *p) { return __builtin_bswap32(sluice__u32le(p)); }
static uint64_t sluice__u64be(const uint8_t *p) { return __builtin_bswap64(sluice__u64le(p)); }
static void sluice__put32le(uint8_t *p, uint32_t v) { __builtin_memcpy(p, &v, 4); }
static void sluice__put32be(uint8_t *p, uint32_t v) {
    v = __builtin_bswap32(v);
    __builtin_memcpy(p, &v, 4);
}
static void sluice__put64be(uint8_t *p, uint64_t v) {
    v = __builtin_bswap64(v);
    __builtin_memcpy(p, &v, 8);
}

static size_t sluice__strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

sluice_str sluice_cstr(const char *s) {
    sluice_str r = {(const uint8_t *)s, (uint32_t)sluice__strlen(s)};
    return r;
}

bool sluice_str_eq(sluice_str a, sluice_str b) { return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0); }

int sluice_str_cmp(sluice_str a, sluice_str b) {
    uint32_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c != 0) return c < 0 ? -1 : 1;
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

const char *sluice_type_name(uint16_t id) {
    switch (id) {
    case SLUICE_CUSTOM: return "custom";
    case SLUICE_ASCII: return "ascii";
    case SLUICE_BIGINT: return "bigint";
    case SLUICE_BLOB: return "blob";
    case SLUICE_BOOLEAN: return "boolean";
    case SLUICE_COUNTER: return "counter";
    case SLUICE_DECIMAL: return "decimal";
    case SLUICE_DOUBLE: return "double";
    case SLUICE_FLOAT: return "float";
    case SLUICE_INT: return "int";
    case SLUICE_TIMESTAMP: return "timestamp";
    case SLUICE_UUID: return "uuid";
    case SLUICE_TEXT: return "text";
    case SLUICE_VARINT: return "varint";
    case SLUICE_TIMEUUID: return "timeuuid";
    case SLUICE_INET: return "inet";
    case SLUICE_DATE: return "date";
    case SLUICE_TIME: return "time";
    case SLUICE_SMALLINT: return "smallint";
    case SLUICE_TINYINT: return "tinyint";
    case SLUICE_DURATION: return "duration";
    case SLUICE_LIST: return "list";
    case SLUICE_MAP: return "map";
    case SLUICE_SET: return "set";
    case SLUICE_UDT: return "udt";
    case SLUICE_TUPLE: return "tuple";
    case SLUICE_VECTOR: return "vector";
    }
    {
        /* "type(0xNNNN)": one static buffer per id nibble pattern is not
         * needed; the buffer is overwritten by the next unknown id. */
        static char buf[13] = "type(0x0000)";
        static const char hexd[] = "0123456789ABCDEF";
        buf[7] = hexd[(id >> 12) & 15];
        buf[8] = hexd[(id >> 8) & 15];
        buf[9] = hexd[(id >> 4) & 15];
        buf[10] = hexd[id & 15];
        return buf;
    }
}

/* ---- memory ----
 *
 * Small blocks (up to 32 KiB with their header) come in power-of-two size
 * classes with one free list each, carved from 64 KiB chunks. Large blocks
 * are runs of whole 64 KiB pages from an address-ordered list of free runs:
 * first fit, split on allocation, merged with free neighbours on release,
 * grown in place when the next run is free, so buffers that double do not
 * leave their old copies stranded. Every block starts with a 16-byte header
 * (size class or page count, and a magic number). All memory comes from
 * memory.grow, so wasi-libc's malloc (which starts at __heap_base) never
 * hands out the same bytes. */

#define SLUICE__HDR 16u
#define SLUICE__MAGIC 0x51CE0A11u
#define SLUICE__LARGE 0x80000000u /* header word 0: page count | LARGE */
#define SLUICE__PAGE 65536u
#define SLUICE__MAX_SMALL 15 /* classes 5 (32 B) .. 15 (32 KiB) */

static void *sluice__free_list[SLUICE__MAX_SMALL + 1];
static uint8_t *sluice__chunk, *sluice__chunk_end; /* small-block carving */

/* A free run of pages: its first bytes. */
typedef struct sluice__run {
    uint32_t pages;
    struct sluice__run *next; /* higher address */
} sluice__run;
static sluice__run *sluice__runs;

static void sluice__oom(size_t n) {
    static const char msg[] = "sluice sdk: out of memory (memory.grow failed: the host's memory limit?)";
    (void)n;
    sluice__host_log(SLUICE_ERROR, (const uint8_t *)msg, (int32_t)sizeof(msg) - 1);
    __builtin_trap();
}

static void sluice__bad_pointer(void) {
    static const char msg[] = "sluice sdk: sluice_free/sluice_realloc of a pointer sluice_malloc did not return";
    sluice__host_log(SLUICE_ERROR, (const uint8_t *)msg, (int32_t)sizeof(msg) - 1);
    __builtin_trap();
}

/* Returns pages to the free runs, merging with adjacent runs. */
static void sluice__runs_put(uint8_t *at, uint32_t pages) {
    sluice__run **pp = &sluice__runs, *prev = NULL;
    while (*pp && (uint8_t *)*pp < at) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    sluice__run *next = *pp;
    if (prev && (uint8_t *)prev + (size_t)prev->pages * SLUICE__PAGE == at) {
        prev->pages += pages;
        if (next && (uint8_t *)prev + (size_t)prev->pages * SLUICE__PAGE == (uint8_t *)next) {
            prev->pages += next->pages;
            prev->next = next->next;
        }
        return;
    }
    sluice__run *r = (sluice__run *)at;
    r->pages = pages;
    r->next = next;
    if (next && at + (size_t)pages * SLUICE__PAGE == (uint8_t *)next) {
        r->pages += next->pages;
        r->next = next->next;
    }
    *pp = r;
}

/* Takes exactly `pages` pages starting at `at` out of the free runs, if
 * they are all free. */
static bool sluice__runs_take_at(uint8_t *at, uint32_t pages) {
    for (sluice__run **pp = &sluice__runs; *pp; pp = &(*pp)->next) {
        sluice__run *r = *pp;
        if ((uint8_t *)r > at) return false;
        if ((uint8_t *)r != at) continue;
        if (r->pages < pages) return false;
        if (r->pages == pages) {
            *pp = r->next;
        } else {
            sluice__run *rest = (sluice__run *)(at + (size_t)pages * SLUICE__PAGE);
            rest->pages = r->pages - pages;
            rest->next = r->next;
            *pp = rest;
        }
        return true;
    }
    return false;
}

static uint8_t *sluice__mem_end(void) { return (uint8_t *)(__builtin_wasm_memory_size(0) * SLUICE__PAGE); }

/* Grows memory by `pages` pages that must start at `at` (the current end of
 * memory); false if they cannot. */
static bool sluice__grow_at(uint8_t *at, uint32_t pages) {
    if (at != sluice__mem_end()) return false;
    size_t old = __builtin_wasm_memory_grow(0, pages);
    if (old == (size_t)-1) sluice__oom((size_t)pages * SLUICE__PAGE);
    if ((uint8_t *)(old * SLUICE__PAGE) == at) return true;
    sluice__runs_put((uint8_t *)(old * SLUICE__PAGE), pages); /* cannot happen single-threaded; keep them */
    return false;
}

/* Allocates a run of pages: first fit; else the last free run extended by
 * memory.grow when it ends at the end of memory; else fresh pages. */
static uint8_t *sluice__pages(uint32_t pages) {
    sluice__run *last = NULL;
    for (sluice__run *r = sluice__runs; r; r = r->next) {
        if (r->pages >= pages) {
            uint8_t *at = (uint8_t *)r;
            sluice__runs_take_at(at, pages);
            return at;
        }
        last = r;
    }
    if (last && (uint8_t *)last + (size_t)last->pages * SLUICE__PAGE == sluice__mem_end()) {
        uint8_t *at = (uint8_t *)last;
        uint32_t have = last->pages;
        if (sluice__grow_at(at + (size_t)have * SLUICE__PAGE, pages - have)) {
            sluice__runs_take_at(at, have);
            return at;
        }
    }
    size_t old = __builtin_wasm_memory_grow(0, pages);
    if (old == (size_t)-1) sluice__oom((size_t)pages * SLUICE__PAGE);
    return (uint8_t *)(old * SLUICE__PAGE);
}

void *sluice_malloc(size_t n) {
    if (n > 0x7FFF0000u) sluice__oom(n);
    size_t need = n + SLUICE__HDR;
    if (need > ((size_t)1 << SLUICE__MAX_SMALL)) {
        uint32_t pages = (uint32_t)((need + SLUICE__PAGE - 1) / SLUICE__PAGE);
        uint8_t *blk = sluice__pages(pages);
        ((uint32_t *)blk)[0] = pages | SLUICE__LARGE;
        ((uint32_t *)blk)[1] = SLUICE__MAGIC;
        return blk + SLUICE__HDR;
    }
    unsigned c = 5;
    while (((size_t)1 << c) < need) c++;
    uint8_t *blk = (uint8_t *)sluice__free_list[c];
    if (blk) {
        sluice__free_list[c] = *(void **)(blk + SLUICE__HDR);
    } else {
        size_t size = (size_t)1 << c;
        if ((size_t)(sluice__chunk_end - sluice__chunk) < size) {
            sluice__chunk = sluice__pages(1);
            sluice__chunk_end = sluice__chunk + SLUICE__PAGE;
        }
        blk = sluice__chunk;
        sluice__chunk += size;
    }
    ((uint32_t *)blk)[0] = c;
    ((uint32_t *)blk)[1] = SLUICE__MAGIC;
    return blk + SLUICE__HDR;
}

/* The header word of a block, checked. */
static uint32_t sluice__hdr(void *p) {
    uint8_t *blk = (uint8_t *)p - SLUICE__HDR;
    if (((uint32_t *)blk)[1] != SLUICE__MAGIC) sluice__bad_pointer();
    return ((uint32_t *)blk)[0];
}

/* The usable bytes of a block sluice_malloc returned. */
static size_t sluice__usable(void *p) {
    uint32_t h = sluice__hdr(p);
    if (h & SLUICE__LARGE) return (size_t)(h & ~SLUICE__LARGE) * SLUICE__PAGE - SLUICE__HDR;
    return ((size_t)1 << h) - SLUICE__HDR;
}

void sluice_free(void *p) {
    if (!p) return;
    uint32_t h = sluice__hdr(p);
    uint8_t *blk = (uint8_t *)p - SLUICE__HDR;
    ((uint32_t *)blk)[1] = 0;
    if (h & SLUICE__LARGE) {
        sluice__runs_put(blk, h & ~SLUICE__LARGE);
        return;
    }
    *(void **)(blk + SLUICE__HDR) = sluice__free_list[h];
    sluice__free_list[h] = blk;
}

void *sluice_realloc(void *p, size_t n) {
    if (!p) return sluice_malloc(n);
    size_t avail = sluice__usable(p);
    if (n <= avail) return p;
    uint32_t h = sluice__hdr(p);
    if ((h & SLUICE__LARGE) && n <= 0x7FFF0000u) {
        /* Grow in place when the pages right after the block are free. */
        uint8_t *blk = (uint8_t *)p - SLUICE__HDR;
        uint32_t have = h & ~SLUICE__LARGE;
        uint32_t pages = (uint32_t)((n + SLUICE__HDR + SLUICE__PAGE - 1) / SLUICE__PAGE);
        uint8_t *after = blk + (size_t)have * SLUICE__PAGE;
        if (sluice__runs_take_at(after, pages - have) || sluice__grow_at(after, pages - have)) {
            ((uint32_t *)blk)[0] = pages | SLUICE__LARGE;
            return p;
        }
    }
    void *q = sluice_malloc(n);
    memcpy(q, p, avail);
    sluice_free(p);
    return q;
}

/* ---- buffers and formatting ---- */

/* Makes room for `more` bytes. exact: exactly that much (for a buffer whose
 * final size is known), else at least double (amortised appends). */
static void sluice__grow_buf(sluice_buf *b, uint32_t more, bool exact) {
    if ((uint64_t)b->len + more <= b->cap) return;
    uint64_t want = (uint64_t)b->len + more;
    if (!exact && want < (uint64_t)b->cap * 2) want = (uint64_t)b->cap * 2;
    if (want > 0x7FFFFFFFu - SLUICE__HDR) sluice__oom((size_t)want);
    b->ptr = (uint8_t *)sluice_realloc(b->ptr, (size_t)want);
    /* Use the whole block: its size class is a power of two. */
    b->cap = (uint32_t)sluice__usable(b->ptr);
}

static void sluice__reserve(sluice_buf *b, uint32_t more) { sluice__grow_buf(b, more, false); }

void sluice_buf_put(sluice_buf *b, const void *p, uint32_t n) {
    if (!n) return;
    sluice__reserve(b, n);
    memcpy(b->ptr + b->len, p, n);
    b->len += n;
}
void sluice_buf_str(sluice_buf *b, sluice_str s) { sluice_buf_put(b, s.ptr, s.len); }
void sluice_buf_byte(sluice_buf *b, uint8_t c) {
    sluice__reserve(b, 1);
    b->ptr[b->len++] = c;
}
void sluice_buf_u32le(sluice_buf *b, uint32_t v) {
    sluice__reserve(b, 4);
    sluice__put32le(b->ptr + b->len, v);
    b->len += 4;
}
void sluice_buf_u64le(sluice_buf *b, uint64_t v) {
    sluice_buf_u32le(b, (uint32_t)v);
    sluice_buf_u32le(b, (uint32_t)(v >> 32));
}
void sluice_buf_udec(sluice_buf *b, uint64_t v, int width) {
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = n; i < width; i++) sluice_buf_byte(b, '0');
    while (n) sluice_buf_byte(b, (uint8_t)tmp[--n]);
}
void sluice_buf_i64(sluice_buf *b, int64_t v) {
    if (v < 0) {
        sluice_buf_byte(b, '-');
        sluice_buf_udec(b, (uint64_t)0 - (uint64_t)v, 0);
    } else {
        sluice_buf_udec(b, (uint64_t)v, 0);
    }
}
void sluice_buf_hex(sluice_buf *b, const uint8_t *p, uint32_t n) {
    static const char hexd[] = "0123456789abcdef";
    sluice__reserve(b, n * 2);
    for (uint32_t i = 0; i < n; i++) {
        b->ptr[b->len++] = (uint8_t)hexd[p[i] >> 4];
        b->ptr[b->len++] = (uint8_t)hexd[p[i] & 15];
    }
}
void sluice_buf_free(sluice_buf *b) {
    sluice_free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
}

void sluice_buf_vprintf(sluice_buf *b, const char *fmt, va_list ap) {
    static const char hexd[] = "0123456789abcdef";
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            sluice_buf_byte(b, (uint8_t)*f);
            continue;
        }
        f++;
        int ll = 0;
        while (*f == 'l') {
            ll++;
            f++;
        }
        switch (*f) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            sluice_buf_put(b, s, (uint32_t)sluice__strlen(s));
            break;
        }
        case 'S': sluice_buf_str(b, va_arg(ap, sluice_str)); break;
        case 'd':
            if (ll >= 2) sluice_buf_i64(b, va_arg(ap, long long));
            else if (ll == 1) sluice_buf_i64(b, va_arg(ap, long));
            else sluice_buf_i64(b, va_arg(ap, int));
            break;
        case 'u':
            if (ll >= 2) sluice_buf_udec(b, va_arg(ap, unsigned long long), 0);
            else if (ll == 1) sluice_buf_udec(b, va_arg(ap, unsigned long), 0);
            else sluice_buf_udec(b, va_arg(ap, unsigned), 0);
            break;
        case 'x': {
            uint64_t v = ll >= 2 ? va_arg(ap, unsigned long long) : ll == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
            char tmp[16];
            int n = 0;
            do {
                tmp[n++] = hexd[v & 15];
                v >>= 4;
            } while (v);
            while (n) sluice_buf_byte(b, (uint8_t)tmp[--n]);
            break;
        }
        case 'c': sluice_buf_byte(b, (uint8_t)va_arg(ap, int)); break;
        case '%': sluice_buf_byte(b, '%'); break;
        case '\0': f--; break;
        default:
            sluice_buf_byte(b, '%');
            sluice_buf_byte(b, (uint8_t)*f);
        }
    }
}

void sluice_buf_printf(sluice_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sluice_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

/* ---- errors and log ---- */

static struct {
    bool set;
    int64_t row;
    sluice_buf msg;
} sluice__err;

static void sluice__err_reset(void) {
    sluice__err.set = false;
    sluice__err.row = -1;
    sluice__err.msg.len = 0;
}

static int sluice__vfail(int64_t row, const char *fmt, va_list ap) {
    if (sluice__err.set) return SLUICE_FAIL;
    sluice__err.set = true;
    sluice__err.row = row;
    sluice__err.msg.len = 0;
    sluice_buf_printf(&sluice__err.msg, "%s", SLUICE_ERROR_PREFIX);
    sluice_buf_vprintf(&sluice__err.msg, fmt, ap);
    return SLUICE_FAIL;
}

int sluice_fail(int64_t row, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sluice__vfail(row, fmt, ap);
    va_end(ap);
    return SLUICE_FAIL;
}

bool sluice_failed(void) { return sluice__err.set; }

void sluice_log(int level, const char *fmt, ...) {
    static sluice_buf b;
    b.len = 0;
    va_list ap;
    va_start(ap, fmt);
    sluice_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (b.len) sluice__host_log(level, b.ptr, (int32_t)b.len);
}

/* Whether p[0:n] is valid UTF-8 (no overlongs, surrogates or values past
 * U+10FFFF), as the ABI requires of every str. */
static bool sluice__utf8(const uint8_t *p, uint32_t n) {
    uint32_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        uint32_t k;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) k = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else
            return false;
        if (n - i <= k) return false;
        if (p[i + 1] < lo || p[i + 1] > hi) return false;
        for (uint32_t j = 2; j <= k; j++)
            if (p[i + j] < 0x80 || p[i + j] > 0xBF) return false;
        i += k + 1;
    }
    return true;
}

/* ---- type descriptors and pages ---- */

/* Skips one TypeDesc at p; returns the end, or NULL when malformed. */
static const uint8_t *sluice__skip_type(const uint8_t *p, const uint8_t *end, int depth) {
    if (depth > 32 || end - p < 2) return NULL;
    uint32_t id = sluice__u16le(p);
    p += 2;
    switch (id) {
    case SLUICE_CUSTOM: {
        if (end - p < 4) return NULL;
        uint32_t n = sluice__u32le(p);
        p += 4;
        if ((uint32_t)(end - p) < n || !sluice__utf8(p, n)) return NULL;
        return p + n;
    }
    case SLUICE_LIST:
    case SLUICE_SET: return sluice__skip_type(p, end, depth + 1);
    case SLUICE_MAP:
        p = sluice__skip_type(p, end, depth + 1);
        return p ? sluice__skip_type(p, end, depth + 1) : NULL;
    case SLUICE_UDT: {
        for (int i = 0; i < 2; i++) { /* keyspace, name */
            if (end - p < 4) return NULL;
            uint32_t n = sluice__u32le(p);
            p += 4;
            if ((uint32_t)(end - p) < n || !sluice__utf8(p, n)) return NULL;
            p += n;
        }
        if (end - p < 2) return NULL;
        uint32_t n = sluice__u16le(p);
        p += 2;
        for (uint32_t i = 0; i < n && p; i++) {
            if (end - p < 4) return NULL;
            uint32_t l = sluice__u32le(p);
            p += 4;
            if ((uint32_t)(end - p) < l || !sluice__utf8(p, l)) return NULL;
            p = sluice__skip_type(p + l, end, depth + 1);
        }
        return p;
    }
    case SLUICE_TUPLE: {
        if (end - p < 2) return NULL;
        uint32_t n = sluice__u16le(p);
        p += 2;
        for (uint32_t i = 0; i < n && p; i++) p = sluice__skip_type(p, end, depth + 1);
        return p;
    }
    case SLUICE_VECTOR:
        p = sluice__skip_type(p, end, depth + 1);
        if (!p || end - p < 4) return NULL;
        return p + 4;
    default:
        if ((id >= SLUICE_ASCII && id <= SLUICE_DURATION && id != 0x000A)) return p;
        return NULL;
    }
}

/* Fixed cell length of a type descriptor, or -1. */
static int32_t sluice__fixed_len(const uint8_t *desc, uint32_t len) {
    /* Cassandra's valueLengthIfFixed (ABI.md section 9): tinyint,
     * smallint, date, time and counter are NOT fixed-length in vectors. */
    static const char lexical_uuid[] = "org.apache.cassandra.db.marshal.LexicalUUIDType";
    if (len < 2) return -1;
    switch (sluice__u16le(desc)) {
    case SLUICE_BOOLEAN: return 1;
    case SLUICE_INT:
    case SLUICE_FLOAT: return 4;
    case SLUICE_BIGINT:
    case SLUICE_DOUBLE:
    case SLUICE_TIMESTAMP: return 8;
    case SLUICE_UUID:
    case SLUICE_TIMEUUID: return 16;
    case SLUICE_CUSTOM:
        if (len == 2 + 4 + sizeof lexical_uuid - 1 && sluice__u32le(desc + 2) == sizeof lexical_uuid - 1 &&
            __builtin_memcmp(desc + 6, lexical_uuid, sizeof lexical_uuid - 1) == 0)
            return 16;
        return -1;
    case SLUICE_VECTOR: {
        const uint8_t *e = sluice__skip_type(desc + 2, desc + len, 1);
        if (!e || desc + len - e < 4) return -1;
        int32_t el = sluice__fixed_len(desc + 2, (uint32_t)(e - desc - 2));
        uint32_t dim = sluice__u32le(e);
        if (el < 0 || dim == 0 || (uint64_t)el * dim > 0x7FFFFFFF) return -1;
        return el * (int32_t)dim;
    }
    }
    return -1;
}

/* Parses ncols column descriptors at p into cols (grown as needed);
 * returns the end or NULL. */
static const uint8_t *sluice__parse_columns(const uint8_t *p, const uint8_t *end, uint32_t ncols, sluice_column **cols,
                                            uint32_t *cap) {
    if ((uint64_t)ncols * 6 > (uint64_t)(end - p)) return NULL;
    if (ncols > *cap) {
        sluice_free(*cols);
        *cols = (sluice_column *)sluice_malloc(sizeof(sluice_column) * ncols);
        *cap = ncols;
    }
    for (uint32_t i = 0; i < ncols; i++) {
        if (end - p < 4) return NULL;
        uint32_t n = sluice__u32le(p);
        p += 4;
        if ((uint32_t)(end - p) < n) return NULL;
        if (!sluice__utf8(p, n)) return NULL;
        sluice_column *c = &(*cols)[i];
        c->name.ptr = p;
        c->name.len = n;
        p += n;
        const uint8_t *t = sluice__skip_type(p, end, 1);
        if (!t) return NULL;
        c->type = (uint16_t)sluice__u16le(p);
        c->desc = p;
        c->desc_len = (uint32_t)(t - p);
        p = t;
    }
    return p;
}

/* The input schema: the column descriptors of the last page, copied, and
 * their parse. A page whose descriptors have the same bytes reuses them
 * (the parse of identical bytes is identical), so a stream pays for
 * parsing and UTF-8 checking its schema once. */
static sluice_buf sluice__schema_bytes;
static sluice_column *sluice__page_cols;
static uint32_t sluice__page_cols_cap, sluice__schema_ncols, sluice__schema_id;

/* Whether a[0:n] == b[0:n], 32 bytes per step. */
static bool sluice__bytes_eq(const uint8_t *a, const uint8_t *b, uint32_t n) {
    uint64_t diff = 0;
    for (; n >= 32; n -= 32, a += 32, b += 32) {
        uint64_t x[4], y[4];
        __builtin_memcpy(x, a, 32);
        __builtin_memcpy(y, b, 32);
        diff = (x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]);
        if (diff) return false;
    }
    for (; n >= 8; n -= 8, a += 8, b += 8) {
        uint64_t x, y;
        __builtin_memcpy(&x, a, 8);
        __builtin_memcpy(&y, b, 8);
        if (x != y) return false;
    }
    for (; n; n--)
        if (*a++ != *b++) return false;
    return true;
}

/* The index of the first row in [from, n) whose end offset is below its
 * start offset, or n. 8 rows per step. */
static uint32_t sluice__bad_offset(const uint8_t *offs, uint32_t from, uint32_t n) {
    uint32_t i = from, prev = sluice__u32le(offs + (size_t)i * 4);
    for (; n - i >= 8; i += 8) {
        uint32_t o[8];
        __builtin_memcpy(o, offs + (size_t)(i + 1) * 4, 32);
        bool bad = (o[0] < prev) | (o[1] < o[0]) | (o[2] < o[1]) | (o[3] < o[2]) | (o[4] < o[3]) | (o[5] < o[4]) |
                   (o[6] < o[5]) | (o[7] < o[6]);
        if (bad) break;
        prev = o[7];
    }
    for (; i < n; i++) {
        uint32_t e = sluice__u32le(offs + (size_t)(i + 1) * 4);
        if (e < prev) return i;
        prev = e;
    }
    return n;
}

/* The cell cursor: where the last sluice_row_cell found its cell, so that
 * reading a row's cells left to right walks the row once. Reset per page. */
static struct {
    const uint8_t *row, *row_end; /* the row it is in (NULL: none) */
    const uint8_t *at;            /* the length prefix of cell col */
    uint32_t col;
} sluice__cur;

/* Decodes an SLP1 page; returns false after recording an error. Rows'
 * offsets are checked here; cells when they are read. */
static bool sluice__parse_page(const uint8_t *b, uint32_t len, sluice_page *pg) {
    const uint8_t *end = b + len, *p = b;
    sluice__cur.row = NULL;
    if (len < 28 || sluice__u32le(b) != 0x31504C53u || sluice__u32le(b + 4) != 0)
        return sluice_fail(-1, "sluice sdk: input of %u bytes is not an SLP1 page", len), false;
    pg->number = sluice__u64le(b + 8);
    pg->split = sluice__u32le(b + 16);
    uint32_t ncols = sluice__u32le(b + 20);
    pg->nrows = sluice__u32le(b + 24);
    p = b + 28;
    uint32_t slen = sluice__schema_bytes.len;
    const uint8_t *ce;
    if (sluice__schema_id != 0 && ncols == sluice__schema_ncols && (uint32_t)(end - p) >= slen &&
        sluice__bytes_eq(p, sluice__schema_bytes.ptr, slen)) {
        ce = p + slen;
    } else {
        sluice__schema_id = 0; /* invalid until parsed */
        ce = sluice__parse_columns(p, end, ncols, &sluice__page_cols, &sluice__page_cols_cap);
        if (!ce) return sluice_fail(-1, "sluice sdk: page %llu: malformed column descriptors", pg->number), false;
        /* Keep a copy and point the columns into it. */
        sluice__schema_bytes.len = 0;
        sluice_buf_put(&sluice__schema_bytes, p, (uint32_t)(ce - p));
        for (uint32_t i = 0; i < ncols; i++) {
            sluice_column *c = &sluice__page_cols[i];
            c->name.ptr = sluice__schema_bytes.ptr + (c->name.ptr - p);
            c->desc = sluice__schema_bytes.ptr + (c->desc - p);
        }
        sluice__schema_ncols = ncols;
        static uint32_t ids;
        sluice__schema_id = ++ids ? ids : ++ids;
    }
    pg->schema.ncols = ncols;
    pg->schema.cols = sluice__page_cols;
    pg->schema.bytes = sluice__schema_bytes.ptr;
    pg->schema.bytes_len = sluice__schema_bytes.len;
    pg->schema_id = sluice__schema_id;
    p = ce;
    if ((uint64_t)(pg->nrows + 1ull) * 4 > (uint64_t)(end - p))
        return sluice_fail(-1, "sluice sdk: page %llu: offsets run past the end", pg->number), false;
    pg->offsets = p;
    p += ((size_t)pg->nrows + 1) * 4;
    pg->rows = p;
    pg->rows_len = (uint32_t)(end - p);
    if (sluice__u32le(pg->offsets) != 0 || sluice__u32le(pg->offsets + (size_t)pg->nrows * 4) != pg->rows_len)
        return sluice_fail(-1, "sluice sdk: page %llu: offsets do not span the rows area", pg->number), false;
    /* Non-decreasing offsets from 0 to rows_len keep every row in the rows
     * area, so sluice_page_row needs no checks. */
    uint32_t bad = sluice__bad_offset(pg->offsets, 0, pg->nrows);
    if (bad < pg->nrows) return sluice_fail(-1, "sluice sdk: page %llu: row %u: bad offsets", pg->number, bad), false;
    return true;
}

int32_t sluice_column_index(const sluice_schema *s, sluice_str name) {
    for (uint32_t i = 0; i < s->ncols; i++)
        if (sluice_str_eq(s->cols[i].name, name)) return (int32_t)i;
    return -1;
}

uint32_t sluice_col(const sluice_row *r, const char *name) {
    int32_t i = sluice_find_column(r->page, sluice_cstr(name));
    return i < 0 ? UINT32_MAX : (uint32_t)i;
}

int32_t sluice_find_column(const sluice_page *p, sluice_str name) {
    int32_t i = sluice_column_index(&p->schema, name);
    if (i >= 0) return i;
    if (!sluice__err.set) {
        sluice_fail(-1, "column \"%S\" not found (columns: ", name);
        for (uint32_t c = 0; c < p->schema.ncols; c++) {
            if (c) sluice_buf_printf(&sluice__err.msg, ", ");
            sluice_buf_str(&sluice__err.msg, p->schema.cols[c].name);
        }
        sluice_buf_byte(&sluice__err.msg, ')');
    }
    return -1;
}

/* The row slot (ABI.md 3.1): the index of the row the plugin last took from
 * the page of the current sluice_process (sluice_page_row stores it), -1
 * outside. After a trap the host reads it, through the sluice_row_slot
 * export, to name the row. */
static volatile int32_t sluice__row_slot = -1;

sluice_row sluice_page_row(const sluice_page *p, uint32_t i) {
    sluice__row_slot = (int32_t)i;
    sluice_row r;
    r.page = p;
    r.index = i;
    r.ptr = p->rows + sluice__u32le(p->offsets + (size_t)i * 4);
    r.end = p->rows + sluice__u32le(p->offsets + (size_t)i * 4 + 4);
    return r;
}

/* Records a malformed row of the current page. */
__attribute__((noinline, cold)) static sluice_cell sluice__bad_row(const sluice_row *r, const char *what) {
    sluice_cell none = {NULL, -1};
    sluice_fail(-1, "sluice sdk: page %llu: row %u: %s", (unsigned long long)r->page->number, r->index, what);
    return none;
}

/* Steps q over one cell of a row ending at end; goto bad_len/truncated. */
#define SLUICE__SKIP(q, end)                                                                                            \
    do {                                                                                                                \
        if ((end) - (q) < 4) goto truncated;                                                                            \
        int32_t n_ = (int32_t)sluice__u32le(q);                                                                         \
        (q) += 4;                                                                                                       \
        if (n_ > 0) {                                                                                                   \
            if ((uint32_t)((end) - (q)) < (uint32_t)n_) goto bad_len;                                                   \
            (q) += n_;                                                                                                  \
        } else if (n_ < -1) {                                                                                           \
            goto bad_len;                                                                                               \
        }                                                                                                               \
    } while (0)

/* The length prefix of cell col of row r, walking from cell c at q, four
 * cells per step; NULL after recording an error. Also moves the cursor. */
__attribute__((noinline)) static const uint8_t *sluice__seek(const sluice_row *r, const uint8_t *q, uint32_t c,
                                                             uint32_t col) {
    const uint8_t *end = r->end;
    switch ((col - c) & 3) {
    case 3: SLUICE__SKIP(q, end); /* fall through */
    case 2: SLUICE__SKIP(q, end); /* fall through */
    case 1: SLUICE__SKIP(q, end);
    }
    for (uint32_t k = (col - c) >> 2; k; k--) {
        SLUICE__SKIP(q, end);
        SLUICE__SKIP(q, end);
        SLUICE__SKIP(q, end);
        SLUICE__SKIP(q, end);
    }
    sluice__cur.row = r->ptr;
    sluice__cur.row_end = end;
    sluice__cur.at = q;
    sluice__cur.col = col;
    return q;
truncated:
    sluice__cur.row = NULL;
    sluice__bad_row(r, "truncated");
    return NULL;
bad_len:
    sluice__cur.row = NULL;
    sluice__bad_row(r, "bad cell length");
    return NULL;
}

__attribute__((noinline, cold)) static sluice_cell sluice__bad_col(const sluice_row *r, uint32_t col) {
    sluice_cell none = {NULL, -1};
    sluice_fail(-1, "sluice sdk: cell %u of a row of %u columns", col, r->page->schema.ncols);
    return none;
}

sluice_cell sluice_row_cell(const sluice_row *r, uint32_t col) {
    const uint8_t *q = r->ptr, *end = r->end;
    if (col >= r->page->schema.ncols) return sluice__bad_col(r, col);
    if (col != 0) {
        uint32_t c = 0;
        if (sluice__cur.row == q && sluice__cur.row_end == end && sluice__cur.col <= col) {
            q = sluice__cur.at;
            c = sluice__cur.col;
        }
        if (c != col && !(q = sluice__seek(r, q, c, col))) {
            sluice_cell none = {NULL, -1};
            return none;
        }
    }
    if (end - q < 4) return sluice__bad_row(r, "truncated");
    int32_t n = (int32_t)sluice__u32le(q);
    q += 4;
    if (n < -1 || (n > 0 && (uint32_t)(end - q) < (uint32_t)n)) return sluice__bad_row(r, "bad cell length");
    sluice_cell cell = {n >= 0 ? q : NULL, n};
    return cell;
}

/* Checks every cell of a row (and that nothing follows the last one); false
 * after recording an error. */
static bool sluice__check_row(const sluice_row *r) {
    const uint8_t *q = r->ptr, *end = r->end;
    uint32_t ncols = r->page->schema.ncols;
    switch (ncols & 3) {
    case 3: SLUICE__SKIP(q, end); /* fall through */
    case 2: SLUICE__SKIP(q, end); /* fall through */
    case 1: SLUICE__SKIP(q, end);
    }
    for (uint32_t k = ncols >> 2; k; k--) {
        SLUICE__SKIP(q, end);
        SLUICE__SKIP(q, end);
        SLUICE__SKIP(q, end);
        SLUICE__SKIP(q, end);
    }
    if (q != end) return sluice__bad_row(r, "trailing bytes"), false;
    return true;
truncated:
    return sluice__bad_row(r, "truncated"), false;
bad_len:
    return sluice__bad_row(r, "bad cell length"), false;
}

/* ---- typed getters ---- */

/* Type sets: one bit per type id (vector, 0x50, takes bit 63). */
#define SLUICE__T(id) ((id) == SLUICE_VECTOR ? 1ull << 63 : 1ull << (id))
static inline bool sluice__type_in(uint32_t id, uint64_t set) {
    uint64_t bit = id < 0x3F ? 1ull << id : id == SLUICE_VECTOR ? 1ull << 63 : 0;
    return (set & bit) != 0;
}

/* Reads cell col after checking its type against the set want; fixed > 0
 * checks the length. Returns OK, NULL or FAIL. */
__attribute__((noinline, cold)) static int sluice__bad_cell(const sluice_row *r, uint32_t col, int32_t len);
__attribute__((noinline, cold)) static int sluice__bad_type(const sluice_row *r, uint32_t col, const char *want_name) {
    if (col >= r->page->schema.ncols) {
        sluice_row_cell(r, col); /* records the error */
        return SLUICE_FAIL;
    }
    const sluice_column *c = &r->page->schema.cols[col];
    return sluice_fail(-1, "column \"%S\" has type %s, want %s", c->name, sluice_type_name(c->type), want_name);
}

static inline __attribute__((always_inline)) int sluice__get(const sluice_row *r, uint32_t col, uint64_t want,
                                                             const char *want_name, int32_t fixed, sluice_cell *out) {
    if (col >= r->page->schema.ncols || !sluice__type_in(r->page->schema.cols[col].type, want))
        return sluice__bad_type(r, col, want_name);
    *out = sluice_row_cell(r, col);
    if (out->len < 0) return sluice__err.set ? SLUICE_FAIL : SLUICE_NULL;
    if (fixed > 0) {
        if (out->len == 0) return SLUICE_NULL;
        if (out->len != fixed) return sluice__bad_cell(r, col, out->len);
    }
    return SLUICE_OK;
}

static int sluice__bad_cell(const sluice_row *r, uint32_t col, int32_t len) {
    const sluice_column *c = &r->page->schema.cols[col];
    return sluice_fail(r->index, "row %u: column \"%S\": invalid %s cell of %d bytes", r->index, c->name,
                       sluice_type_name(c->type), len);
}

#define sluice__w_text (SLUICE__T(SLUICE_TEXT) | SLUICE__T(SLUICE_ASCII))
#define sluice__w_int SLUICE__T(SLUICE_INT)
#define sluice__w_bigint (SLUICE__T(SLUICE_BIGINT) | SLUICE__T(SLUICE_COUNTER))
#define sluice__w_smallint SLUICE__T(SLUICE_SMALLINT)
#define sluice__w_tinyint SLUICE__T(SLUICE_TINYINT)
#define sluice__w_float SLUICE__T(SLUICE_FLOAT)
#define sluice__w_double SLUICE__T(SLUICE_DOUBLE)
#define sluice__w_boolean SLUICE__T(SLUICE_BOOLEAN)
#define sluice__w_timestamp SLUICE__T(SLUICE_TIMESTAMP)
#define sluice__w_date SLUICE__T(SLUICE_DATE)
#define sluice__w_time SLUICE__T(SLUICE_TIME)
#define sluice__w_uuid (SLUICE__T(SLUICE_UUID) | SLUICE__T(SLUICE_TIMEUUID))
#define sluice__w_inet SLUICE__T(SLUICE_INET)
#define sluice__w_varint SLUICE__T(SLUICE_VARINT)
#define sluice__w_decimal SLUICE__T(SLUICE_DECIMAL)
#define sluice__w_duration SLUICE__T(SLUICE_DURATION)
#define sluice__w_elems                                                                                                 \
    (SLUICE__T(SLUICE_LIST) | SLUICE__T(SLUICE_SET) | SLUICE__T(SLUICE_MAP) | SLUICE__T(SLUICE_TUPLE) |              \
     SLUICE__T(SLUICE_UDT) | SLUICE__T(SLUICE_VECTOR))

int sluice_get_text(const sluice_row *r, uint32_t col, sluice_str *v) {
    sluice_cell c;
    int st = sluice__get(r, col, sluice__w_text, "text or ascii", 0, &c);
    if (st == SLUICE_OK) {
        v->ptr = c.ptr;
        v->len = (uint32_t)c.len;
    }
    return st;
}

int sluice_get_blob(const sluice_row *r, uint32_t col, sluice_str *v) {
    sluice_cell c = sluice_row_cell(r, col);
    if (c.len < 0) return SLUICE_NULL;
    v->ptr = c.ptr;
    v->len = (uint32_t)c.len;
    return SLUICE_OK;
}

#define SLUICE__FIXED_GETTER(fn, T, want, wname, size, expr)                                                                \
    int fn(const sluice_row *r, uint32_t col, T *v) {                                                                   \
        sluice_cell c;                                                                                                  \
        int st = sluice__get(r, col, want, wname, size, &c);                                                           \
        if (st == SLUICE_OK) {                                                                                          \
            const uint8_t *p = c.ptr;                                                                                   \
            *v = (expr);                                                                                                \
        }                                                                                                               \
        return st;                                                                                                      \
    }

SLUICE__FIXED_GETTER(sluice_get_int, int32_t, sluice__w_int, "int", 4, (int32_t)sluice__u32be(p))
SLUICE__FIXED_GETTER(sluice_get_bigint, int64_t, sluice__w_bigint, "bigint or counter", 8, (int64_t)sluice__u64be(p))
SLUICE__FIXED_GETTER(sluice_get_smallint, int16_t, sluice__w_smallint, "smallint", 2, (int16_t)((uint16_t)p[0] << 8 | p[1]))
SLUICE__FIXED_GETTER(sluice_get_tinyint, int8_t, sluice__w_tinyint, "tinyint", 1, (int8_t)p[0])
SLUICE__FIXED_GETTER(sluice_get_boolean, bool, sluice__w_boolean, "boolean", 1, p[0] != 0)
SLUICE__FIXED_GETTER(sluice_get_timestamp, int64_t, sluice__w_timestamp, "timestamp", 8, (int64_t)sluice__u64be(p))
SLUICE__FIXED_GETTER(sluice_get_date, uint32_t, sluice__w_date, "date", 4, sluice__u32be(p))

int sluice_get_float(const sluice_row *r, uint32_t col, float *v) {
    sluice_cell c;
    int st = sluice__get(r, col, sluice__w_float, "float", 4, &c);
    if (st == SLUICE_OK) {
        uint32_t u = sluice__u32be(c.ptr);
        memcpy(v, &u, 4);
    }
    return st;
}

int sluice_get_double(const sluice_row *r, uint32_t col, double *v) {
    sluice_cell c;
    int st = sluice__get(r, col, sluice__w_double, "double", 8, &c);
    if (st == SLUICE_OK) {
        uint64_t u = sluice__u64be(c.ptr);
        memcpy(v, &u, 8);
    }
    return st;
}

int sluice_get_time(const sluice_row *r, uint32_t col, int64_t *ns) {
    sluice_cell c;
    int st = sluice__get(r, col, sluice__w_time, "time", 8, &c);
    if (st == SLUICE_OK) {
        int64_t v = (int64_t)sluice__u64be(c.ptr);
        if (v < 0 || v >= SLUICE_MAX_TIME) return sluice__bad_cell(r, col, c.len);
        *ns = v;
    }
    return st;
}

int sluice_get_uuid(const sluice_row *r, uint32_t col, uint8_t v[16]) {
    sluice_cell c;
    int st = sluice__get(r, col, sluice__w_uuid, "uuid or timeuuid", 16, &c);
    if (st == SLUICE_OK) memcpy(v, c.ptr, 16);
    return st;
}

int sluice_get_inet(const sluice_row *r, uint32_t col, sluice_str *addr) {
    sluice_cell c;
    int st = sluice__get(r, col, sluice__w_inet, "inet", 0, &c);
    if (st != SLUICE_OK) return st;
    if (c.len == 0) return SLUICE_NULL;
    if (c.len != 4 && c.len != 16) return sluice__bad_cell(r, col, c.len);
    addr->ptr = c.ptr;
    addr->len = (uint32_t)c.len;
    return SLUICE_OK;
}

int sluice_get_varint(const sluice_row *r, uint32_t col, sluice_str *twos) {
    sluice_cell c;
    int st = sluice__get(r, col, sluice__w_varint, "varint", 0, &c);
    if (st != SLUICE_OK) return st;
    if (c.len == 0) return SLUICE_NULL;
    twos->ptr = c.ptr;
    twos->len = (uint32_t)c.len;
    return SLUICE_OK;
}

int sluice_get_decimal(const sluice_row *r, uint32_t col, int32_t *scale, sluice_str *unscaled) {
    sluice_cell c;
    int st = sluice__get(r, col, sluice__w_decimal, "decimal", 0, &c);
    if (st != SLUICE_OK) return st;
    if (c.len == 0) return SLUICE_NULL;
    if (c.len < 5) return sluice__bad_cell(r, col, c.len);
    *scale = (int32_t)sluice__u32be(c.ptr);
    unscaled->ptr = c.ptr + 4;
    unscaled->len = (uint32_t)c.len - 4;
    return SLUICE_OK;
}

/* Cassandra's unsigned vint: the number of leading 1 bits of the first
 * byte is the number of extra bytes. Returns bytes read, 0 if malformed. */
static uint32_t sluice__uvint(const uint8_t *p, const uint8_t *end, uint64_t *v) {
    if (p >= end) return 0;
    uint8_t b0 = p[0];
    uint32_t extra = 0;
    while (extra < 8 && (b0 & (0x80 >> extra))) extra++;
    if ((uint32_t)(end - p) < extra + 1) return 0;
    uint64_t x = extra == 8 ? 0 : (uint64_t)(b0 & (0xFF >> (extra + 1)));
    for (uint32_t i = 1; i <= extra; i++) x = x << 8 | p[i];
    *v = x;
    return extra + 1;
}

int sluice_get_duration(const sluice_row *r, uint32_t col, sluice_duration *v) {
    sluice_cell c;
    int st = sluice__get(r, col, sluice__w_duration, "duration", 0, &c);
    if (st != SLUICE_OK) return st;
    if (c.len == 0) return SLUICE_NULL;
    const uint8_t *p = c.ptr, *end = c.ptr + c.len;
    int64_t parts[3];
    for (int i = 0; i < 3; i++) {
        uint64_t u;
        uint32_t n = sluice__uvint(p, end, &u);
        if (!n) return sluice__bad_cell(r, col, c.len);
        p += n;
        parts[i] = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    }
    if (p != end || parts[0] != (int32_t)parts[0] || parts[1] != (int32_t)parts[1]) return sluice__bad_cell(r, col, c.len);
    v->months = (int32_t)parts[0];
    v->days = (int32_t)parts[1];
    v->nanos = parts[2];
    return SLUICE_OK;
}

int sluice_get_elems(const sluice_row *r, uint32_t col, sluice_elems *it) {
    sluice_cell c;
    int st = sluice__get(r, col, sluice__w_elems, "list, set, map, tuple, udt or vector", 0, &c);
    if (st != SLUICE_OK) return st;
    const sluice_column *cd = &r->page->schema.cols[col];
    it->p = c.ptr;
    it->end = c.ptr + c.len;
    it->fixed = -1;
    it->vint = false;
    switch (cd->type) {
    case SLUICE_LIST:
    case SLUICE_SET:
    case SLUICE_MAP: {
        if (c.len == 0) return SLUICE_NULL;
        if (c.len < 4) return sluice__bad_cell(r, col, c.len);
        int32_t n = (int32_t)sluice__u32be(c.ptr);
        if (n < 0) return sluice__bad_cell(r, col, c.len);
        it->left = (uint32_t)n * (cd->type == SLUICE_MAP ? 2u : 1u);
        it->p += 4;
        break;
    }
    case SLUICE_VECTOR: {
        if (c.len == 0) return SLUICE_NULL;
        const uint8_t *e = sluice__skip_type(cd->desc + 2, cd->desc + cd->desc_len, 1);
        it->left = sluice__u32le(e);
        it->fixed = sluice__fixed_len(cd->desc + 2, (uint32_t)(e - cd->desc - 2));
        it->vint = it->fixed < 0;
        if (it->fixed >= 0 && (uint64_t)it->fixed * it->left != (uint64_t)c.len) return sluice__bad_cell(r, col, c.len);
        break;
    }
    default: /* tuple, udt */
        it->left = UINT32_MAX;
    }
    return SLUICE_OK;
}

bool sluice_elems_next(sluice_elems *it, sluice_cell *elem) {
    if (it->left == 0) return false;
    if (it->left == UINT32_MAX && it->p == it->end) return false;
    if (it->fixed >= 0) {
        elem->ptr = it->p;
        elem->len = it->fixed;
        it->p += it->fixed;
    } else if (it->vint) {
        uint64_t n;
        uint32_t k = sluice__uvint(it->p, it->end, &n);
        if (!k || n > (uint64_t)(it->end - it->p - k)) goto bad;
        elem->ptr = it->p + k;
        elem->len = (int32_t)n;
        it->p += k + n;
    } else {
        if (it->end - it->p < 4) goto bad;
        int32_t n = (int32_t)sluice__u32be(it->p);
        it->p += 4;
        if (n < -1 || (n > 0 && (uint32_t)(it->end - it->p) < (uint32_t)n)) goto bad;
        elem->ptr = n >= 0 ? it->p : NULL;
        elem->len = n;
        if (n > 0) it->p += n;
    }
    if (it->left != UINT32_MAX) it->left--;
    return true;
bad:
    sluice_fail(-1, "sluice sdk: malformed collection, tuple or vector cell");
    it->left = 0;
    return false;
}

/* ---- config ---- */

static sluice_config sluice__cfg;

static bool sluice__key_is(sluice_str k, const char *key) {
    size_t n = sluice__strlen(key);
    return k.len == n && (n == 0 || memcmp(k.ptr, key, n) == 0);
}

uint32_t sluice_config_count(const sluice_config *c, const char *key) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->n; i++) n += sluice__key_is(c->kvs[i].key, key);
    return n;
}

bool sluice_config_has(const sluice_config *c, const char *key) { return sluice_config_count(c, key) > 0; }

bool sluice_config_at(const sluice_config *c, const char *key, uint32_t idx, sluice_str *v) {
    for (uint32_t i = 0; i < c->n; i++) {
        if (sluice__key_is(c->kvs[i].key, key) && idx-- == 0) {
            *v = c->kvs[i].value;
            return true;
        }
    }
    return false;
}

int sluice_config_unknown(const sluice_config *c, const char *const *known) {
    for (uint32_t i = 0; i < c->n; i++) {
        sluice_str k = c->kvs[i].key;
        bool ok = false;
        for (const char *const *kn = known; *kn && !ok; kn++) {
            size_t n = sluice__strlen(*kn);
            if (n >= 2 && (*kn)[n - 1] == '*' && (*kn)[n - 2] == '.')
                ok = k.len >= n - 1 && memcmp(k.ptr, *kn, n - 1) == 0;
            else
                ok = sluice__key_is(k, *kn);
        }
        if (!ok) return sluice_fail(-1, "unknown config key \"%S\"", k);
    }
    return SLUICE_OK;
}

int sluice_config_single(const sluice_config *c, const char *const *keys) {
    for (const char *const *k = keys; *k; k++) {
        uint32_t n = sluice_config_count(c, *k);
        if (n > 1) return sluice_fail(-1, "config key \"%s\" must have one value, got %u", *k, n);
    }
    return SLUICE_OK;
}

int sluice_config_string(const sluice_config *c, const char *key, sluice_str def, sluice_str *v) {
    uint32_t n = sluice_config_count(c, key);
    if (n > 1) return sluice_fail(-1, "config key \"%s\" must have one value, got %u", key, n);
    if (n == 0) {
        *v = def;
        return SLUICE_NULL;
    }
    sluice_config_at(c, key, 0, v);
    return SLUICE_OK;
}

int sluice_config_require(const sluice_config *c, const char *key, sluice_str *v) {
    sluice_str none = {NULL, 0};
    int st = sluice_config_string(c, key, none, v);
    if (st == SLUICE_NULL) return sluice_fail(-1, "missing config key \"%s\"", key);
    return st;
}

int sluice_config_int(const sluice_config *c, const char *key, int64_t def, int64_t *v) {
    sluice_str s, none = {NULL, 0};
    int st = sluice_config_string(c, key, none, &s);
    if (st != SLUICE_OK) {
        if (st == SLUICE_NULL) *v = def;
        return st == SLUICE_NULL ? SLUICE_OK : st;
    }
    uint32_t i = 0;
    bool neg = false;
    if (s.len && (s.ptr[0] == '-' || s.ptr[0] == '+')) neg = s.ptr[i++] == '-';
    if (i == s.len) goto bad;
    uint64_t x = 0, lim = neg ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
    for (; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9') goto bad;
        uint64_t d = s.ptr[i] - '0';
        if (x > (lim - d) / 10) goto bad;
        x = x * 10 + d;
    }
    *v = neg ? (int64_t)(0 - x) : (int64_t)x;
    return SLUICE_OK;
bad:
    return sluice_fail(-1, "config key \"%s\": \"%S\" is not an integer", key, s);
}

int sluice_config_bool(const sluice_config *c, const char *key, bool def, bool *v) {
    sluice_str s, none = {NULL, 0};
    int st = sluice_config_string(c, key, none, &s);
    if (st == SLUICE_NULL) {
        *v = def;
        return SLUICE_OK;
    }
    if (st != SLUICE_OK) return st;
    if (sluice_str_eq(s, SLUICE_STR("true"))) *v = true;
    else if (sluice_str_eq(s, SLUICE_STR("false"))) *v = false;
    else return sluice_fail(-1, "config key \"%s\": \"%S\" is not true or false", key, s);
    return SLUICE_OK;
}

/* Decodes SLC1 into sluice__cfg, copying every string (the config lives as
 * long as the instance). */
static bool sluice__parse_config(const uint8_t *b, uint32_t len) {
    const uint8_t *p = b, *end = b + len;
    if (len < 8 || sluice__u32le(b) != 0x31434C53u) return sluice_fail(-1, "sluice sdk: config is not SLC1"), false;
    uint32_t n = sluice__u32le(b + 4);
    p += 8;
    if ((uint64_t)n * 8 > (uint64_t)(end - p)) return sluice_fail(-1, "sluice sdk: config: %u pairs do not fit", n), false;
    uint8_t *copy = (uint8_t *)sluice_malloc(len);
    memcpy(copy, b, len);
    sluice_kv *kvs = (sluice_kv *)sluice_malloc(sizeof(sluice_kv) * (n ? n : 1));
    p = copy + 8;
    end = copy + len;
    for (uint32_t i = 0; i < n; i++) {
        for (int j = 0; j < 2; j++) {
            if (end - p < 4) return sluice_fail(-1, "sluice sdk: config pair %u truncated", i), false;
            uint32_t l = sluice__u32le(p);
            p += 4;
            if ((uint32_t)(end - p) < l) return sluice_fail(-1, "sluice sdk: config pair %u truncated", i), false;
            sluice_str s = {p, l};
            if (!sluice__utf8(p, l)) return sluice_fail(-1, "sluice sdk: config pair %u: not valid UTF-8", i), false;
            if (j == 0) kvs[i].key = s;
            else kvs[i].value = s;
            p += l;
        }
    }
    if (p != end) return sluice_fail(-1, "sluice sdk: config: %u trailing bytes", (unsigned)(end - p)), false;
    sluice__cfg.n = n;
    sluice__cfg.kvs = kvs;
    return true;
}

/* ---- schemas ---- */

typedef struct sluice__schema_impl {
    sluice_schema s; /* first: a sluice_schema* is a sluice__schema_impl* */
    sluice_buf bytes;
    sluice_column *cols;
    uint32_t cap;
} sluice__schema_impl;

sluice_schema *sluice_schema_new(void) {
    sluice__schema_impl *s = (sluice__schema_impl *)sluice_malloc(sizeof *s);
    memset(s, 0, sizeof *s);
    return &s->s;
}

static void sluice__schema_relink(sluice__schema_impl *s) {
    /* The column views point into bytes, which may have moved. */
    if (s->s.ncols > s->cap) {
        sluice_free(s->cols);
        s->cap = s->s.ncols * 2;
        s->cols = (sluice_column *)sluice_malloc(sizeof(sluice_column) * s->cap);
    }
    uint32_t cap = s->cap;
    sluice__parse_columns(s->bytes.ptr, s->bytes.ptr + s->bytes.len, s->s.ncols, &s->cols, &cap);
    s->s.cols = s->cols;
    s->s.bytes = s->bytes.ptr;
    s->s.bytes_len = s->bytes.len;
}

void sluice_schema_add_desc(sluice_schema *schema, sluice_str name, const uint8_t *desc, uint32_t desc_len) {
    sluice__schema_impl *s = (sluice__schema_impl *)schema;
    sluice_buf_u32le(&s->bytes, name.len);
    sluice_buf_str(&s->bytes, name);
    sluice_buf_put(&s->bytes, desc, desc_len);
    s->s.ncols++;
    sluice__schema_relink(s);
}

void sluice_schema_add(sluice_schema *schema, sluice_str name, uint16_t type) {
    uint8_t d[2] = {(uint8_t)type, (uint8_t)(type >> 8)};
    sluice_schema_add_desc(schema, name, d, 2);
}

bool sluice_schema_eq(const sluice_schema *a, const sluice_schema *b) {
    sluice_str x = {a->bytes, a->bytes_len}, y = {b->bytes, b->bytes_len};
    return a->ncols == b->ncols && sluice_str_eq(x, y);
}

void sluice_schema_free(sluice_schema *schema) {
    if (!schema) return;
    sluice__schema_impl *s = (sluice__schema_impl *)schema;
    sluice_buf_free(&s->bytes);
    sluice_free(s->cols);
    sluice_free(s);
}

/* ---- output ---- */

#define SLUICE__MAX_SECTION_ROWS 1000000u

struct sluice_writer {
    sluice_buf output; /* name, copied */
    uint32_t seq;      /* first use within the call */
    const sluice_schema *schema;
    sluice_buf data;  /* rows area */
    sluice_buf offs;  /* u32 offsets (native order), offs[0] = 0 */
    uint32_t nrows;
    uint32_t row_start;
    uint32_t cells;
    bool bad; /* a cell of the current row was refused (error recorded) */
};

typedef struct sluice__route {
    sluice_buf output; /* name, copied */
    sluice_buf bitmap;
    uint32_t seq;
} sluice__route;

struct sluice_output {
    int64_t nrows; /* input rows; -1 in flush */
    const sluice_schema *input;
    sluice_buf sel; /* default-output selection, valid when sel_set */
    bool sel_set;
    uint32_t sel_seq;
    sluice__route **r; /* named-output selections, reused across calls */
    uint32_t nr, rcap;
    sluice_writer **w; /* reused across calls */
    uint32_t nw, wcap;
    uint32_t seq; /* first-use counter */
};

static sluice_output sluice__out;

static void sluice__out_reset(int64_t nrows, const sluice_schema *input) {
    sluice__out.nrows = nrows;
    sluice__out.input = input;
    sluice__out.sel_set = false;
    sluice__out.nw = 0;
    sluice__out.nr = 0;
    sluice__out.seq = 0;
}

static void sluice__must_process(sluice_output *out, const char *what) {
    if (out->nrows < 0) {
        sluice_log(SLUICE_ERROR, "sluice sdk: %s called outside process: there are no input rows", what);
        __builtin_trap();
    }
}

static void sluice__selection(sluice_output *out) {
    if (out->sel_set) return;
    uint32_t n = (uint32_t)((out->nrows + 7) / 8);
    out->sel.len = 0;
    sluice__reserve(&out->sel, n ? n : 1);
    memset(out->sel.ptr, 0xFF, n);
    out->sel.len = n;
    out->sel_set = true;
    out->sel_seq = out->seq++;
}

__attribute__((noinline, cold)) static void sluice__bad_select(sluice_output *out, uint32_t row) {
    sluice__must_process(out, "sluice_select");
    sluice_log(SLUICE_ERROR, "sluice sdk: sluice_select(%u) on a page of %lld rows", row, (long long)out->nrows);
    __builtin_trap();
}

void sluice_select(sluice_output *out, uint32_t row, bool keep) {
    if (out->nrows < 0 || row >= out->nrows) sluice__bad_select(out, row);
    if (!out->sel_set) sluice__selection(out);
    uint8_t *b = &out->sel.ptr[row / 8], m = (uint8_t)(1u << (row % 8));
    *b = keep ? (uint8_t)(*b | m) : (uint8_t)(*b & ~m);
}
void sluice_keep(sluice_output *out, uint32_t row) { sluice_select(out, row, true); }
void sluice_drop(sluice_output *out, uint32_t row) { sluice_select(out, row, false); }
void sluice_keep_all(sluice_output *out) {
    sluice__must_process(out, "sluice_keep_all");
    sluice__selection(out);
    memset(out->sel.ptr, 0xFF, out->sel.len);
}
void sluice_drop_all(sluice_output *out) {
    sluice__must_process(out, "sluice_drop_all");
    sluice__selection(out);
    memset(out->sel.ptr, 0, out->sel.len);
}

void sluice_route(sluice_output *out, sluice_str output, uint32_t row) {
    sluice__must_process(out, "sluice_route");
    if (output.len == 0 || row >= out->nrows) {
        sluice_log(SLUICE_ERROR, "sluice sdk: sluice_route(\"%S\", %u) on a page of %lld rows (the default output takes sluice_keep)",
                   output, row, (long long)out->nrows);
        __builtin_trap();
    }
    sluice__route *r = NULL;
    for (uint32_t i = 0; i < out->nr && !r; i++)
        if (sluice_str_eq(sluice_buf_view(&out->r[i]->output), output)) r = out->r[i];
    if (!r) {
        if (out->nr == out->rcap) {
            uint32_t cap = out->rcap ? out->rcap * 2 : 4;
            out->r = (sluice__route **)sluice_realloc(out->r, sizeof(sluice__route *) * cap);
            for (uint32_t i = out->rcap; i < cap; i++) {
                out->r[i] = (sluice__route *)sluice_malloc(sizeof(sluice__route));
                memset(out->r[i], 0, sizeof(sluice__route));
            }
            out->rcap = cap;
        }
        r = out->r[out->nr++];
        r->output.len = 0;
        sluice_buf_str(&r->output, output);
        r->seq = out->seq++;
        uint32_t n = (uint32_t)((out->nrows + 7) / 8);
        r->bitmap.len = 0;
        sluice__reserve(&r->bitmap, n ? n : 1);
        memset(r->bitmap.ptr, 0, n);
        r->bitmap.len = n;
    }
    r->bitmap.ptr[row / 8] |= (uint8_t)(1u << (row % 8));
}

sluice_writer *sluice_rows(sluice_output *out, sluice_str output, const sluice_schema *schema) {
    for (uint32_t i = 0; i < out->nw; i++) {
        sluice_writer *w = out->w[i];
        if (sluice_str_eq(sluice_buf_view(&w->output), output)) {
            if (w->schema != schema && !sluice_schema_eq(w->schema, schema)) {
                sluice_fail(-1, "output \"%S\": schema differs from the schema already written to it in this call", output);
                return NULL;
            }
            return w;
        }
    }
    if (out->nw == out->wcap) {
        uint32_t cap = out->wcap ? out->wcap * 2 : 4;
        out->w = (sluice_writer **)sluice_realloc(out->w, sizeof(sluice_writer *) * cap);
        for (uint32_t i = out->wcap; i < cap; i++) {
            out->w[i] = (sluice_writer *)sluice_malloc(sizeof(sluice_writer));
            memset(out->w[i], 0, sizeof(sluice_writer));
        }
        out->wcap = cap;
    }
    sluice_writer *w = out->w[out->nw++];
    w->output.len = 0;
    sluice_buf_str(&w->output, output);
    w->seq = out->seq++;
    w->schema = schema;
    w->data.len = 0;
    w->offs.len = 0;
    sluice_buf_u32le(&w->offs, 0);
    w->nrows = w->row_start = w->cells = 0;
    w->bad = false;
    return w;
}

/* Starts a cell of a column whose type must be in the set want (0: any). */
static bool sluice__next(sluice_writer *w, uint64_t want, const char *what) {
    if (w->bad) return false;
    if (w->cells == 0) w->row_start = w->data.len;
    if (w->cells >= w->schema->ncols) {
        sluice_fail(-1, "output \"%S\": row %u: %s for column %u, but the schema has %u columns", sluice_buf_view(&w->output),
                    w->nrows, what, w->cells + 1, w->schema->ncols);
        w->bad = true;
        return false;
    }
    if (want) {
        const sluice_column *c = &w->schema->cols[w->cells];
        if (!sluice__type_in(c->type, want)) {
            sluice_fail(-1, "output \"%S\": row %u: %s into column \"%S\" of type %s", sluice_buf_view(&w->output), w->nrows, what,
                        c->name, sluice_type_name(c->type));
            w->bad = true;
            return false;
        }
    }
    return true;
}

static void sluice__cell(sluice_writer *w, const void *p, uint32_t n) {
    sluice_buf_u32le(&w->data, n);
    sluice_buf_put(&w->data, p, n);
    w->cells++;
}

void sluice_put_null(sluice_writer *w) {
    if (!sluice__next(w, 0, "null")) return;
    sluice_buf_u32le(&w->data, 0xFFFFFFFFu);
    w->cells++;
}
void sluice_put_raw(sluice_writer *w, const void *p, uint32_t n) {
    if (sluice__next(w, 0, "raw cell")) sluice__cell(w, p, n);
}
void sluice_put_cell(sluice_writer *w, sluice_cell c) {
    if (c.len < 0) sluice_put_null(w);
    else sluice_put_raw(w, c.ptr, (uint32_t)c.len);
}
void sluice_put_copy(sluice_writer *w, const sluice_row *r, uint32_t col) { sluice_put_cell(w, sluice_row_cell(r, col)); }
void sluice_put_text(sluice_writer *w, sluice_str s) {
    if (sluice__next(w, sluice__w_text, "text")) sluice__cell(w, s.ptr, s.len);
}
#define sluice__w_blob SLUICE__T(SLUICE_BLOB)
void sluice_put_blob(sluice_writer *w, sluice_str s) {
    if (sluice__next(w, sluice__w_blob, "blob")) sluice__cell(w, s.ptr, s.len);
}
void sluice_put_int(sluice_writer *w, int32_t v) {
    uint8_t b[4];
    sluice__put32be(b, (uint32_t)v);
    if (sluice__next(w, sluice__w_int, "int")) sluice__cell(w, b, 4);
}
void sluice_put_bigint(sluice_writer *w, int64_t v) {
    uint8_t b[8];
    sluice__put64be(b, (uint64_t)v);
    if (sluice__next(w, sluice__w_bigint, "bigint")) sluice__cell(w, b, 8);
}
void sluice_put_smallint(sluice_writer *w, int16_t v) {
    uint8_t b[2] = {(uint8_t)((uint16_t)v >> 8), (uint8_t)v};
    if (sluice__next(w, sluice__w_smallint, "smallint")) sluice__cell(w, b, 2);
}
void sluice_put_tinyint(sluice_writer *w, int8_t v) {
    uint8_t b = (uint8_t)v;
    if (sluice__next(w, sluice__w_tinyint, "tinyint")) sluice__cell(w, &b, 1);
}
void sluice_put_float(sluice_writer *w, float v) {
    uint32_t u;
    uint8_t b[4];
    memcpy(&u, &v, 4);
    sluice__put32be(b, u);
    if (sluice__next(w, sluice__w_float, "float")) sluice__cell(w, b, 4);
}
void sluice_put_double(sluice_writer *w, double v) {
    uint64_t u;
    uint8_t b[8];
    memcpy(&u, &v, 8);
    sluice__put64be(b, u);
    if (sluice__next(w, sluice__w_double, "double")) sluice__cell(w, b, 8);
}
void sluice_put_boolean(sluice_writer *w, bool v) {
    uint8_t b = v ? 1 : 0;
    if (sluice__next(w, sluice__w_boolean, "boolean")) sluice__cell(w, &b, 1);
}
void sluice_put_timestamp(sluice_writer *w, int64_t ms) {
    uint8_t b[8];
    sluice__put64be(b, (uint64_t)ms);
    if (sluice__next(w, sluice__w_timestamp, "timestamp")) sluice__cell(w, b, 8);
}
void sluice_put_date(sluice_writer *w, uint32_t days) {
    uint8_t b[4];
    sluice__put32be(b, days);
    if (sluice__next(w, sluice__w_date, "date")) sluice__cell(w, b, 4);
}
void sluice_put_time(sluice_writer *w, int64_t ns) {
    uint8_t b[8];
    if (!sluice__next(w, sluice__w_time, "time")) return;
    if (ns < 0 || ns >= SLUICE_MAX_TIME) {
        sluice_fail(-1, "output \"%S\": row %u: time of day %lld ns out of range", sluice_buf_view(&w->output), w->nrows,
                    (long long)ns);
        w->bad = true;
        return;
    }
    sluice__put64be(b, (uint64_t)ns);
    sluice__cell(w, b, 8);
}
void sluice_put_uuid(sluice_writer *w, const uint8_t v[16]) {
    if (sluice__next(w, sluice__w_uuid, "uuid")) sluice__cell(w, v, 16);
}

int sluice_end_row(sluice_writer *w) {
    bool bad = w->bad;
    if (!bad && w->cells != w->schema->ncols) {
        sluice_fail(-1, "output \"%S\": row %u has %u cells, the schema has %u columns", sluice_buf_view(&w->output), w->nrows,
                    w->cells, w->schema->ncols);
        bad = true;
    }
    if (bad) {
        w->data.len = w->row_start;
        w->cells = 0;
        w->bad = false;
        return SLUICE_FAIL;
    }
    uint32_t end = w->data.len;
    sluice_buf_put(&w->offs, &end, 4);
    w->nrows++;
    w->cells = 0;
    w->row_start = w->data.len;
    return SLUICE_OK;
}

int sluice_emit_row(sluice_output *out, sluice_str output, const sluice_row *r) {
    sluice_writer *w = sluice_rows(out, output, &r->page->schema);
    if (!w) return SLUICE_FAIL;
    if (w->cells != 0) return sluice_fail(-1, "output \"%S\": sluice_emit_row while a row is partly written", output);
    if (!sluice__check_row(r)) return SLUICE_FAIL;
    w->row_start = w->data.len;
    sluice_buf_put(&w->data, r->ptr, (uint32_t)(r->end - r->ptr));
    w->cells = w->schema->ncols;
    return sluice_end_row(w);
}

/* ---- results ---- */

static sluice_buf sluice__res;

static void sluice__res_str(sluice_str s) {
    sluice_buf_u32le(&sluice__res, s.len);
    sluice_buf_str(&sluice__res, s);
}

/* The handle of the result buffer (0 for an empty result). */
static int64_t sluice__handle(const sluice_buf *b) {
    if (!b || b->len == 0) return 0;
    return (int64_t)((uint64_t)(uintptr_t)b->ptr << 32 | b->len);
}

static int64_t sluice__error_result(void) {
    sluice__res.len = 0;
    sluice_buf_u32le(&sluice__res, 0x31524C53u);
    sluice_buf_u32le(&sluice__res, 1);
    sluice_buf_byte(&sluice__res, 3);
    sluice_buf_u64le(&sluice__res, (uint64_t)sluice__err.row);
    sluice__res_str(sluice_buf_view(&sluice__err.msg));
    return sluice__handle(&sluice__res);
}

/* The number of set bits among the first nrows of bitmap b. */
static uint32_t sluice__count_bits(const uint8_t *b, uint32_t nrows) {
    uint32_t n = 0, full = nrows / 8, i = 0;
    for (; full - i >= 32; i += 32) {
        uint64_t w[4];
        __builtin_memcpy(w, b + i, 32);
        n += (uint32_t)(__builtin_popcountll(w[0]) + __builtin_popcountll(w[1]) + __builtin_popcountll(w[2]) +
                        __builtin_popcountll(w[3]));
    }
    for (; full - i >= 8; i += 8) {
        uint64_t w;
        __builtin_memcpy(&w, b + i, 8);
        n += (uint32_t)__builtin_popcountll(w);
    }
    for (; i < full; i++) n += (uint32_t)__builtin_popcount(b[i]);
    if (nrows % 8) n += (uint32_t)__builtin_popcount(b[full] & ((1u << (nrows % 8)) - 1));
    return n;
}

static void sluice__res_select(sluice_str output, const uint8_t *bitmap, uint32_t n) {
    sluice_buf_byte(&sluice__res, 1);
    sluice__res_str(output);
    sluice_buf_u32le(&sluice__res, n);
    uint32_t at = sluice__res.len;
    sluice_buf_put(&sluice__res, bitmap, (n + 7) / 8);
    if (n % 8) sluice__res.ptr[at + (n + 7) / 8 - 1] &= (uint8_t)((1u << (n % 8)) - 1);
}

/* Appends the ROWS sections of w (at most SLUICE__MAX_SECTION_ROWS rows
 * each); returns how many. */
static uint32_t sluice__res_rows(const sluice_writer *w) {
    const uint32_t *offs = (const uint32_t *)w->offs.ptr;
    uint32_t done = 0, nsec = 0;
    do {
        uint32_t n = w->nrows - done;
        if (n > SLUICE__MAX_SECTION_ROWS) n = SLUICE__MAX_SECTION_ROWS;
        uint32_t base = offs[done];
        sluice_buf_byte(&sluice__res, 2);
        sluice__res_str(sluice_buf_view(&w->output));
        sluice_buf_u32le(&sluice__res, w->schema->ncols);
        sluice_buf_put(&sluice__res, w->schema->bytes, w->schema->bytes_len);
        sluice_buf_u32le(&sluice__res, n);
        for (uint32_t r = 0; r <= n; r++) sluice_buf_u32le(&sluice__res, offs[done + r] - base);
        sluice_buf_put(&sluice__res, w->data.ptr + base, offs[done + n] - base);
        done += n;
        nsec++;
    } while (done < w->nrows);
    return nsec;
}

/* Turns the plugin function's status into a result handle: the recorded
 * error if any, else the output. Outputs come in the order the call first
 * used them; on the default output the selection precedes written rows. */
static int64_t sluice__finish(int st) {
    if (!sluice__err.set && st != SLUICE_OK)
        sluice_fail(-1, "sluice sdk: plugin function returned %d without recording an error (use sluice_fail)", st);
    if (sluice__err.set) return sluice__error_result();
    sluice_output *o = &sluice__out;
    bool default_rows = false;
    int64_t default_seq = o->sel_set ? (int64_t)o->sel_seq : -1;
    for (uint32_t i = 0; i < o->nw; i++) {
        sluice_writer *w = o->w[i];
        if (w->cells != 0) {
            sluice_fail(-1, "output \"%S\": row %u was started but not ended (sluice_end_row)", sluice_buf_view(&w->output), w->nrows);
            return sluice__error_result();
        }
        if (w->output.len == 0) {
            default_rows = true;
            if (default_seq < 0 || (int64_t)w->seq < default_seq) default_seq = w->seq;
            if (o->sel_set && !sluice_schema_eq(w->schema, o->input)) {
                sluice_fail(-1, "sluice sdk: rows were both selected and written to the default output with another schema");
                return sluice__error_result();
            }
        }
        for (uint32_t j = 0; j < o->nr; j++) {
            if (sluice_str_eq(sluice_buf_view(&w->output), sluice_buf_view(&o->r[j]->output)) && !sluice_schema_eq(w->schema, o->input)) {
                sluice_fail(-1, "sluice sdk: output \"%S\" got both routed input rows and written rows of another schema",
                            sluice_buf_view(&w->output));
                return sluice__error_result();
            }
        }
    }
    bool def_sel = false;
    if (o->nrows >= 0) {
        uint32_t n = (uint32_t)o->nrows;
        if (o->sel_set) {
            uint32_t kept = sluice__count_bits(o->sel.ptr, n);
            if (kept == n && o->nw == 0 && o->nr == 0) return 0;
            def_sel = default_rows || kept > 0;
        } else if (o->nw == 0 && o->nr == 0) {
            return 0;
        } else if (!default_rows) {
            sluice__selection(o); /* only named outputs used: the input still passes */
            def_sel = true;
            default_seq = -1;
        }
    } else if (o->nw == 0) {
        return 0;
    }
    /* The exact size first, so the result buffer grows at most once. */
    uint64_t size = 8, bitmap = (uint64_t)(o->nrows > 0 ? (o->nrows + 7) / 8 : 0);
    if (def_sel) size += 1 + 4 + 4 + bitmap;
    for (uint32_t i = 0; i < o->nr; i++) size += 1 + 4 + o->r[i]->output.len + 4 + bitmap;
    for (uint32_t i = 0; i < o->nw; i++) {
        const sluice_writer *w = o->w[i];
        uint64_t chunks = w->nrows ? (w->nrows + SLUICE__MAX_SECTION_ROWS - 1) / SLUICE__MAX_SECTION_ROWS : 1;
        size += chunks * (1 + 4 + w->output.len + 4 + w->schema->bytes_len + 4 + 4) + 4ull * w->nrows + w->data.len;
    }
    if (size > 0x7FFF0000u) {
        sluice_fail(-1, "sluice sdk: result of %llu bytes is too large", (unsigned long long)size);
        return sluice__error_result();
    }
    sluice__res.len = 0;
    sluice__grow_buf(&sluice__res, (uint32_t)size, true);
    sluice_buf_u32le(&sluice__res, 0x31524C53u);
    sluice_buf_u32le(&sluice__res, 0); /* nsections, patched below */
    uint32_t nsec = 0, ri = 0, wi = 0;
    if (def_sel && default_seq < 0) {
        sluice__res_select(SLUICE_STR(""), o->sel.ptr, (uint32_t)o->nrows);
        nsec++;
        def_sel = false;
    }
    while (ri < o->nr || wi < o->nw) {
        bool use_route = wi >= o->nw || (ri < o->nr && o->r[ri]->seq < o->w[wi]->seq);
        uint32_t seq = use_route ? o->r[ri]->seq : o->w[wi]->seq;
        if (def_sel && default_seq <= (int64_t)seq) {
            sluice__res_select(SLUICE_STR(""), o->sel.ptr, (uint32_t)o->nrows);
            nsec++;
            def_sel = false;
        }
        if (use_route) {
            sluice__route *r = o->r[ri++];
            if (sluice__count_bits(r->bitmap.ptr, (uint32_t)o->nrows) > 0) {
                sluice__res_select(sluice_buf_view(&r->output), r->bitmap.ptr, (uint32_t)o->nrows);
                nsec++;
            }
        } else {
            nsec += sluice__res_rows(o->w[wi++]);
        }
    }
    if (def_sel) {
        sluice__res_select(SLUICE_STR(""), o->sel.ptr, (uint32_t)o->nrows);
        nsec++;
    }
    sluice__put32le(sluice__res.ptr + 4, nsec);
    return sluice__handle(&sluice__res);
}

/* ---- exports ---- */

static uint8_t *sluice__in;
static uint32_t sluice__in_cap;
static bool sluice__inited;

/* The n input bytes at ptr, which must be the buffer of the last
 * sluice_alloc. */
static const uint8_t *sluice__input(int32_t ptr, int32_t n) {
    static const uint8_t none[1];
    if (n == 0) return none;
    if (n < 0 || (uint32_t)n > sluice__in_cap || (n > 0 && (uint8_t *)(uintptr_t)(uint32_t)ptr != sluice__in)) {
        sluice_fail(-1, "sluice sdk: input (ptr 0x%x, %d bytes) is not within the buffer of the last sluice_alloc",
                    (unsigned)ptr, n);
        return NULL;
    }
    return sluice__in;
}

__attribute__((export_name("sluice_row_slot"))) int32_t sluice__export_row_slot(void) {
    return (int32_t)(uintptr_t)&sluice__row_slot;
}

__attribute__((export_name("sluice_abi_version"))) int32_t sluice__export_abi_version(void) {
    return (int32_t)SLUICE_ABI_VERSION;
}

__attribute__((export_name("sluice_alloc"))) int32_t sluice__export_alloc(int32_t size) {
    if (size < 0) __builtin_trap();
    if ((uint32_t)size > sluice__in_cap || !sluice__in) {
        sluice_free(sluice__in);
        sluice__in = (uint8_t *)sluice_malloc((size_t)size > 256 ? (size_t)size : 256);
        sluice__in_cap = (uint32_t)sluice__usable(sluice__in); /* the whole size class */
    }
    return (int32_t)(uintptr_t)sluice__in;
}

__attribute__((export_name("sluice_init"))) int64_t sluice__export_init(int32_t ptr, int32_t len) {
    sluice__err_reset();
    sluice__out_reset(-1, NULL);
    const uint8_t *b = sluice__input(ptr, len);
    if (!b || !sluice__parse_config(b, (uint32_t)len)) return sluice__error_result();
    int st = sluice_plugin_init(&sluice__cfg);
    if (!sluice__err.set && st != SLUICE_OK)
        sluice_fail(-1, "sluice sdk: sluice_plugin_init returned %d without recording an error (use sluice_fail)", st);
    if (sluice__err.set) return sluice__error_result();
    sluice__inited = true;
    return 0;
}

static bool sluice__check_inited(void) {
    if (!sluice__inited) sluice_fail(-1, "sluice sdk: called before a successful sluice_init");
    return sluice__inited;
}

__attribute__((export_name("sluice_process"))) int64_t sluice__export_process(int32_t ptr, int32_t len) {
    static sluice_page page;
    sluice__err_reset();
    if (!sluice__check_inited()) return sluice__error_result();
    const uint8_t *b = sluice__input(ptr, len);
    if (!b || !sluice__parse_page(b, (uint32_t)len, &page)) return sluice__error_result();
    sluice__out_reset(page.nrows, &page.schema);
#ifdef SLUICE_WITH_PREPARE
    /* Once per new schema; again on the next page after a failure. */
    static uint32_t prepared;
    if (prepared != page.schema_id) {
        if (sluice_plugin_prepare(&page.schema) != SLUICE_OK || sluice__err.set) return sluice__finish(SLUICE_FAIL);
        prepared = page.schema_id;
    }
#endif
    sluice__row_slot = -1;
    int st = sluice_plugin_process(&page, &sluice__out);
    sluice__row_slot = -1;
    return sluice__finish(st);
}

#ifdef SLUICE_WITH_FLUSH
__attribute__((export_name("sluice_flush"))) int64_t sluice__export_flush(void) {
    sluice__err_reset();
    if (!sluice__check_inited()) return sluice__error_result();
    sluice__out_reset(-1, NULL);
    return sluice__finish(sluice_plugin_flush(&sluice__out));
}
#endif

#ifdef SLUICE_WITH_SNAPSHOT
__attribute__((export_name("sluice_snapshot"))) int64_t sluice__export_snapshot(void) {
    static sluice_buf state;
    sluice__err_reset();
    state.len = 0;
    if (sluice__check_inited()) sluice_plugin_snapshot(&state);
    if (sluice__err.set) {
        /* sluice_snapshot has no error channel: log, then trap. */
        sluice__host_log(SLUICE_ERROR, sluice__err.msg.ptr, (int32_t)sluice__err.msg.len);
        __builtin_trap();
    }
    return sluice__handle(&state);
}

__attribute__((export_name("sluice_restore"))) int64_t sluice__export_restore(int32_t ptr, int32_t len) {
    sluice__err_reset();
    if (!sluice__check_inited()) return sluice__error_result();
    const uint8_t *b = sluice__input(ptr, len);
    if (!b) return sluice__error_result();
    int st = sluice_plugin_restore(b, (uint32_t)len);
    if (!sluice__err.set && st != SLUICE_OK)
        sluice_fail(-1, "sluice sdk: sluice_plugin_restore returned %d without recording an error (use sluice_fail)", st);
    return sluice__err.set ? sluice__error_result() : 0;
}
#endif

#endif /* SLUICE_IMPLEMENTATION */

/* ---- dead-letter output (ABI.md, "Dead-letter output") ----
 * Kept at the end of the header so the rest keeps its layout. */

#define SLUICE_REJECTED_OUTPUT "sluice.rejected"
#define SLUICE_REJECT_REASON_COLUMN "sluice_reject_reason"

/* sluice_reject sends input row r to the dead-letter output "sluice.rejected"
 * with reason (text), and drops it from the default output: the row's cells
 * unchanged, then the column sluice_reject_reason. The one way a stream goes
 * on past a bad row, by the plugin's choice, counted by the host; the stream
 * must route "sluice.rejected" to a sink. Only in sluice_plugin_process.
 * Returns SLUICE_OK or SLUICE_FAIL (error recorded). */
int sluice_reject(sluice_output *out, const sluice_row *r, sluice_str reason);

#ifdef SLUICE_IMPLEMENTATION
int sluice_reject(sluice_output *out, const sluice_row *r, sluice_str reason) {
    /* The dead-letter schema of the last input schema seen. */
    static sluice_schema *rej_schema;
    static sluice_buf rej_in; /* the input schema's column bytes it was built from */
    const sluice_schema *in = &r->page->schema;
    sluice_str have = {rej_in.ptr, rej_in.len}, want = {in->bytes, in->bytes_len};
    if (!rej_schema || !sluice_str_eq(have, want)) {
        sluice_schema_free(rej_schema);
        rej_schema = sluice_schema_new();
        for (uint32_t c = 0; c < in->ncols; c++)
            sluice_schema_add_desc(rej_schema, in->cols[c].name, in->cols[c].desc, in->cols[c].desc_len);
        sluice_schema_add(rej_schema, SLUICE_STR(SLUICE_REJECT_REASON_COLUMN), 0x000D);
        rej_in.len = 0;
        sluice_buf_put(&rej_in, in->bytes, in->bytes_len);
    }
    sluice_str output = SLUICE_STR(SLUICE_REJECTED_OUTPUT);
    sluice_writer *w = sluice_rows(out, output, rej_schema);
    if (!w) return SLUICE_FAIL;
    if (w->cells != 0) return sluice_fail(-1, "output \"%S\": sluice_reject while a row is partly written", output);
    if (!sluice__check_row(r)) return SLUICE_FAIL;
    w->row_start = w->data.len;
    sluice_buf_put(&w->data, r->ptr, (uint32_t)(r->end - r->ptr));
    w->cells = in->ncols;
    sluice_put_text(w, reason);
    if (sluice_end_row(w) != SLUICE_OK) return SLUICE_FAIL;
    sluice_drop(out, r->index);
    return SLUICE_OK;
}
#endif /* SLUICE_IMPLEMENTATION */
#endif /* SLUICE_H */
