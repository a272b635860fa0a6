/*
 * sdktest: a test plugin for the C SDK, driven by plugins/c/sdk_test.go.
 * Config key "mode" picks the behaviour:
 *
 *   vector   answer abi/testdata/vectors/scalars.page.hex with exactly
 *            scalars.result.hex (SELECT rows 0 and 2 to "", ROWS (row int,
 *            reason text) [1, "all null"] to "audit", route row 1 to "nulls")
 *   echo     rewrite every cell through the typed getter and writer of its
 *            column type: the ROWS must equal the input
 *   config   at flush, emit every config pair as ROWS (key text, value text)
 *   elems    per row and collection column, ROWS (col text, n int, last blob):
 *            the element count and the last element (NULL for a NULL one)
 *   order    Route "b" row 2, ROWS "a", drop row 0, ROWS "a" again
 *   copy     every row to the default output with sluice_emit_row, then
 *            the last cell of every row read backwards and forwards
 *   errors   the error named by config key "case"
 *
 * Built (from this directory; see build.sh) with:
 *
 *   clang --target=wasm32 -nostdlib -Wl,--no-entry -O2 -Wall -Wextra -Werror -I.. -o sdktest.wasm sdktest.c
 */
#define SLUICE_IMPLEMENTATION
#define SLUICE_WITH_FLUSH
#include "sluice.h"

static sluice_str mode, which;
static const sluice_config *config;
static sluice_schema *audit, *kv_schema, *elems_schema, *order_schema;

int sluice_plugin_init(const sluice_config *cfg) {
    static const char *const known[] = {"mode", "case", "greeting", "rename.*", "tags", NULL};
    static const char *const single[] = {"mode", "case", NULL};
    if (sluice_config_unknown(cfg, known) < 0 || sluice_config_single(cfg, single) < 0) return SLUICE_FAIL;
    if (sluice_config_string(cfg, "mode", SLUICE_STR("config"), &mode) < 0) return SLUICE_FAIL;
    sluice_config_string(cfg, "case", SLUICE_STR(""), &which);
    config = cfg;
    audit = sluice_schema_new();
    sluice_schema_add(audit, SLUICE_STR("row"), SLUICE_INT);
    sluice_schema_add(audit, SLUICE_STR("reason"), SLUICE_TEXT);
    kv_schema = sluice_schema_new();
    sluice_schema_add(kv_schema, SLUICE_STR("key"), SLUICE_TEXT);
    sluice_schema_add(kv_schema, SLUICE_STR("value"), SLUICE_TEXT);
    elems_schema = sluice_schema_new();
    sluice_schema_add(elems_schema, SLUICE_STR("col"), SLUICE_TEXT);
    sluice_schema_add(elems_schema, SLUICE_STR("n"), SLUICE_INT);
    sluice_schema_add(elems_schema, SLUICE_STR("last"), SLUICE_BLOB);
    order_schema = sluice_schema_new();
    sluice_schema_add(order_schema, SLUICE_STR("x"), SLUICE_INT);
    if (sluice_str_eq(which, SLUICE_STR("init"))) return sluice_fail(-1, "init failed: %d %u %lld %llu %x %c %s %S %%", -5, 7u, -9000000000LL, 18000000000ULL, 255u, 'z', "cstr", which);
    return SLUICE_OK;
}

static int vector(const sluice_page *page, sluice_output *out) {
    int32_t col = sluice_find_column(page, SLUICE_STR("c_int"));
    if (col < 0) return SLUICE_FAIL;
    for (uint32_t i = 0; i < page->nrows; i++) {
        sluice_row row = sluice_page_row(page, i);
        bool null = sluice_row_cell(&row, (uint32_t)col).len < 0;
        sluice_select(out, i, !null);
        if (null) {
            sluice_writer *w = sluice_rows(out, SLUICE_STR("audit"), audit);
            if (!w) return SLUICE_FAIL;
            sluice_put_int(w, (int32_t)i);
            sluice_put_text(w, SLUICE_STR("all null"));
            if (sluice_end_row(w) < 0) return SLUICE_FAIL;
            sluice_route(out, SLUICE_STR("nulls"), i);
        }
    }
    return SLUICE_OK;
}

static int echo_cell(const sluice_row *row, uint32_t col, sluice_writer *w) {
    sluice_cell c = sluice_row_cell(row, col);
    uint16_t t = row->page->schema.cols[col].type;
    if (c.len < 0) {
        sluice_put_null(w);
        return SLUICE_OK;
    }
    if (c.len == 0 && t != SLUICE_TEXT && t != SLUICE_ASCII && t != SLUICE_BLOB) {
        sluice_put_cell(w, c);
        return SLUICE_OK;
    }
    int st = SLUICE_OK;
    switch (t) {
    case SLUICE_TEXT:
    case SLUICE_ASCII: {
        sluice_str v;
        st = sluice_get_text(row, col, &v);
        sluice_put_text(w, v);
        break;
    }
    case SLUICE_BLOB: {
        sluice_str v;
        st = sluice_get_blob(row, col, &v);
        sluice_put_blob(w, v);
        break;
    }
    case SLUICE_BIGINT:
    case SLUICE_COUNTER: {
        int64_t v;
        st = sluice_get_bigint(row, col, &v);
        sluice_put_bigint(w, v);
        break;
    }
    case SLUICE_BOOLEAN: {
        bool v;
        st = sluice_get_boolean(row, col, &v);
        sluice_put_raw(w, c.ptr, 1); /* keep the byte: any non-zero is true */
        (void)v;
        break;
    }
    case SLUICE_DOUBLE: {
        double v;
        st = sluice_get_double(row, col, &v);
        sluice_put_double(w, v);
        break;
    }
    case SLUICE_FLOAT: {
        float v;
        st = sluice_get_float(row, col, &v);
        sluice_put_float(w, v);
        break;
    }
    case SLUICE_INT: {
        int32_t v;
        st = sluice_get_int(row, col, &v);
        sluice_put_int(w, v);
        break;
    }
    case SLUICE_TIMESTAMP: {
        int64_t v;
        st = sluice_get_timestamp(row, col, &v);
        sluice_put_timestamp(w, v);
        break;
    }
    case SLUICE_UUID:
    case SLUICE_TIMEUUID: {
        uint8_t v[16];
        st = sluice_get_uuid(row, col, v);
        sluice_put_uuid(w, v);
        break;
    }
    case SLUICE_DATE: {
        uint32_t v;
        st = sluice_get_date(row, col, &v);
        sluice_put_date(w, v);
        break;
    }
    case SLUICE_TIME: {
        int64_t v;
        st = sluice_get_time(row, col, &v);
        sluice_put_time(w, v);
        break;
    }
    case SLUICE_SMALLINT: {
        int16_t v;
        st = sluice_get_smallint(row, col, &v);
        sluice_put_smallint(w, v);
        break;
    }
    case SLUICE_TINYINT: {
        int8_t v;
        st = sluice_get_tinyint(row, col, &v);
        sluice_put_tinyint(w, v);
        break;
    }
    case SLUICE_INET: {
        sluice_str v;
        st = sluice_get_inet(row, col, &v);
        sluice_put_raw(w, v.ptr, v.len);
        break;
    }
    case SLUICE_VARINT: {
        sluice_str v;
        st = sluice_get_varint(row, col, &v);
        sluice_put_raw(w, v.ptr, v.len);
        break;
    }
    case SLUICE_DECIMAL: {
        int32_t scale;
        sluice_str v;
        st = sluice_get_decimal(row, col, &scale, &v);
        uint8_t s[4] = {(uint8_t)((uint32_t)scale >> 24), (uint8_t)((uint32_t)scale >> 16), (uint8_t)((uint32_t)scale >> 8), (uint8_t)scale};
        sluice_buf b = {0};
        sluice_buf_put(&b, s, 4);
        sluice_buf_str(&b, v);
        sluice_put_raw(w, b.ptr, b.len);
        sluice_buf_free(&b);
        break;
    }
    case SLUICE_DURATION: {
        sluice_duration d;
        st = sluice_get_duration(row, col, &d);
        sluice_put_cell(w, c);
        break;
    }
    default: sluice_put_cell(w, c);
    }
    if (st == SLUICE_NULL) return sluice_fail(row->index, "column %u: non-empty cell reported NULL", col);
    return st;
}

static int echo(const sluice_page *page, sluice_output *out) {
    sluice_writer *w = sluice_rows(out, SLUICE_STR(""), &page->schema);
    if (!w) return SLUICE_FAIL;
    for (uint32_t i = 0; i < page->nrows; i++) {
        sluice_row row = sluice_page_row(page, i);
        for (uint32_t c = 0; c < page->schema.ncols; c++)
            if (echo_cell(&row, c, w) < 0) return SLUICE_FAIL;
        if (sluice_end_row(w) < 0) return SLUICE_FAIL;
    }
    return SLUICE_OK;
}

static int elems(const sluice_page *page, sluice_output *out) {
    sluice_writer *w = sluice_rows(out, SLUICE_STR(""), elems_schema);
    if (!w) return SLUICE_FAIL;
    for (uint32_t i = 0; i < page->nrows; i++) {
        sluice_row row = sluice_page_row(page, i);
        for (uint32_t c = 0; c < page->schema.ncols; c++) {
            sluice_elems it;
            int st = sluice_get_elems(&row, c, &it);
            if (st < 0) return st;
            sluice_put_text(w, page->schema.cols[c].name);
            if (st == SLUICE_NULL) {
                sluice_put_null(w);
                sluice_put_null(w);
            } else {
                int32_t n = 0;
                sluice_cell e, last = {NULL, -1};
                while (sluice_elems_next(&it, &e)) {
                    n++;
                    last = e;
                }
                if (sluice_failed()) return SLUICE_FAIL;
                sluice_put_int(w, n);
                if (last.len < 0) sluice_put_null(w);
                else sluice_put_raw(w, last.ptr, (uint32_t)last.len);
            }
            if (sluice_end_row(w) < 0) return SLUICE_FAIL;
        }
    }
    return SLUICE_OK;
}

static int order(const sluice_page *page, sluice_output *out) {
    (void)page;
    sluice_route(out, SLUICE_STR("b"), 2);
    sluice_writer *w = sluice_rows(out, SLUICE_STR("a"), order_schema);
    sluice_put_int(w, 1);
    if (sluice_end_row(w) < 0) return SLUICE_FAIL;
    sluice_drop(out, 0);
    w = sluice_rows(out, SLUICE_STR("a"), order_schema);
    sluice_put_int(w, 2);
    return sluice_end_row(w);
}

static int errors(const sluice_page *page, sluice_output *out) {
    sluice_row row = sluice_page_row(page, page->nrows - 1);
    if (sluice_str_eq(which, SLUICE_STR("missing"))) return sluice_find_column(page, SLUICE_STR("nope"));
    if (sluice_str_eq(which, SLUICE_STR("type"))) {
        int64_t v;
        return sluice_get_bigint(&row, 0, &v);
    }
    if (sluice_str_eq(which, SLUICE_STR("cell"))) {
        int32_t v;
        return sluice_get_int(&row, 0, &v);
    }
    if (sluice_str_eq(which, SLUICE_STR("row"))) return sluice_fail(row.index, "bad row %u", row.index);
    if (sluice_str_eq(which, SLUICE_STR("silent"))) return 7;
    if (sluice_str_eq(which, SLUICE_STR("ignored"))) {
        int32_t v;
        sluice_get_int(&row, 0, &v); /* records an error the plugin ignores */
        return SLUICE_OK;
    }
    if (sluice_str_eq(which, SLUICE_STR("cells"))) {
        sluice_writer *w = sluice_rows(out, SLUICE_STR(""), order_schema);
        sluice_put_text(w, SLUICE_STR("x"));
        return sluice_end_row(w);
    }
    if (sluice_str_eq(which, SLUICE_STR("unended"))) {
        sluice_writer *w = sluice_rows(out, SLUICE_STR(""), order_schema);
        sluice_put_int(w, 1);
        return SLUICE_OK;
    }
    if (sluice_str_eq(which, SLUICE_STR("mixed"))) {
        sluice_drop(out, 0);
        sluice_writer *w = sluice_rows(out, SLUICE_STR(""), order_schema);
        sluice_put_int(w, 1);
        return sluice_end_row(w);
    }
    return sluice_fail(-1, "unknown case \"%S\"", which);
}

static int copy(const sluice_page *page, sluice_output *out) {
    for (uint32_t i = 0; i < page->nrows; i++) {
        sluice_row row = sluice_page_row(page, i);
        if (sluice_emit_row(out, SLUICE_STR(""), &row) < 0) return SLUICE_FAIL;
    }
    /* The cell cursor: reading back and forth must find the same cells. */
    uint32_t n = page->schema.ncols;
    for (uint32_t i = 0; i < page->nrows && n > 0; i++) {
        sluice_row row = sluice_page_row(page, i);
        sluice_cell last = sluice_row_cell(&row, n - 1);
        for (uint32_t c = n; c-- > 0;) sluice_row_cell(&row, c);
        for (uint32_t c = 0; c < n; c++) {
            sluice_cell a = sluice_row_cell(&row, c), b = sluice_row_cell(&row, c);
            if (a.ptr != b.ptr || a.len != b.len) return sluice_fail(i, "row %u: cell %u read twice differs", i, c);
        }
        sluice_cell again = sluice_row_cell(&row, n - 1);
        if (again.ptr != last.ptr || again.len != last.len) return sluice_fail(i, "row %u: last cell differs", i);
    }
    return SLUICE_OK;
}

/* reject: every odd row goes to the dead-letter output with a reason. */
static int reject(const sluice_page *page, sluice_output *out) {
    for (uint32_t i = 1; i < page->nrows; i += 2) {
        sluice_row row = sluice_page_row(page, i);
        if (sluice_reject(out, &row, SLUICE_STR("odd row")) != SLUICE_OK) return SLUICE_FAIL;
    }
    return SLUICE_OK;
}

int sluice_plugin_process(const sluice_page *page, sluice_output *out) {
    if (sluice_str_eq(mode, SLUICE_STR("reject"))) return reject(page, out);
    if (sluice_str_eq(mode, SLUICE_STR("vector"))) return vector(page, out);
    if (sluice_str_eq(mode, SLUICE_STR("echo"))) return echo(page, out);
    if (sluice_str_eq(mode, SLUICE_STR("elems"))) return elems(page, out);
    if (sluice_str_eq(mode, SLUICE_STR("order"))) return order(page, out);
    if (sluice_str_eq(mode, SLUICE_STR("errors"))) return errors(page, out);
    if (sluice_str_eq(mode, SLUICE_STR("copy"))) return copy(page, out);
    return SLUICE_OK;
}

int sluice_plugin_flush(sluice_output *out) {
    if (!sluice_str_eq(mode, SLUICE_STR("config"))) return SLUICE_OK;
    sluice_writer *w = sluice_rows(out, SLUICE_STR(""), kv_schema);
    for (uint32_t i = 0; i < config->n; i++) {
        sluice_put_text(w, config->kvs[i].key);
        sluice_put_text(w, config->kvs[i].value);
        if (sluice_end_row(w) < 0) return SLUICE_FAIL;
    }
    /* The lookup helpers, checked here; a mismatch is an error. */
    sluice_str v;
    if (sluice_config_count(config, "tags") != 2 || !sluice_config_at(config, "tags", 1, &v) || !sluice_str_eq(v, SLUICE_STR("b")) ||
        sluice_config_at(config, "tags", 2, &v))
        return sluice_fail(-1, "tags lookups");
    return SLUICE_OK;
}
