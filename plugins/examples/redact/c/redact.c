/*
 * redact: the sluice example plugin "redact" in C. It masks the values of
 * text columns, either whole ("***") or as emails ("j***@example.com").
 * Its behaviour is specified in plugins/examples/README.md, identically for
 * every SDK language.
 *
 * Built (from this directory; see build.sh) with:
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -mbulk-memory -O2 -Wall -Wextra -Werror -I../../../c -o redact.wasm redact.c
 */
#define SLUICE_IMPLEMENTATION
#define SLUICE_ERROR_PREFIX "redact: "
#include "sluice.h"

static uint32_t ncolumns;
static sluice_str *columns;
static bool email;

/* Resolution for the last input schema seen (page->schema_id; 0: none). */
static uint32_t schema_seen;
static bool *masked; /* per input column */
static uint32_t masked_cap;
static sluice_buf buf;

int sluice_plugin_init(const sluice_config *cfg) {
    static const char *const known[] = {"columns", "mode", NULL};
    static const char *const single[] = {"mode", NULL};
    if (sluice_config_unknown(cfg, known) < 0 || sluice_config_single(cfg, single) < 0) return SLUICE_FAIL;
    ncolumns = sluice_config_count(cfg, "columns");
    if (ncolumns == 0) return sluice_fail(-1, "missing config key \"columns\"");
    columns = (sluice_str *)sluice_malloc(sizeof(sluice_str) * ncolumns);
    for (uint32_t i = 0; i < ncolumns; i++) {
        sluice_config_at(cfg, "columns", i, &columns[i]);
        for (uint32_t j = 0; j < i; j++)
            if (sluice_str_eq(columns[i], columns[j])) return sluice_fail(-1, "column \"%S\" listed twice", columns[i]);
    }
    sluice_str mode;
    if (sluice_config_string(cfg, "mode", SLUICE_STR("full"), &mode) < 0) return SLUICE_FAIL;
    if (sluice_str_eq(mode, SLUICE_STR("email"))) email = true;
    else if (!sluice_str_eq(mode, SLUICE_STR("full"))) return sluice_fail(-1, "mode \"%S\" is not email or full", mode);
    return SLUICE_OK;
}

static int resolve(const sluice_page *page) {
    schema_seen = 0;
    if (page->schema.ncols > masked_cap) {
        sluice_free(masked);
        masked_cap = page->schema.ncols;
        masked = (bool *)sluice_malloc(masked_cap);
    }
    memset(masked, 0, page->schema.ncols);
    for (uint32_t i = 0; i < ncolumns; i++) {
        int32_t c = sluice_find_column(page, columns[i]);
        if (c < 0) return SLUICE_FAIL;
        uint16_t t = page->schema.cols[c].type;
        if (t != SLUICE_TEXT && t != SLUICE_ASCII)
            return sluice_fail(-1, "column \"%S\" has type %s, want text or ascii", columns[i], sluice_type_name(t));
        masked[c] = true;
    }
    schema_seen = page->schema_id;
    return SLUICE_OK;
}

/* Writes the masked form of cell into buf. */
static void mask(sluice_cell cell) {
    buf.len = 0;
    int32_t at = -1;
    if (email)
        for (int32_t i = 0; i < cell.len; i++)
            if (cell.ptr[i] == '@') at = i;
    if (at < 0) {
        sluice_buf_put(&buf, "***", 3);
        return;
    }
    if (at > 0) {
        int32_t n = 1;
        while (n < at && cell.ptr[n] >= 0x80 && cell.ptr[n] <= 0xBF) n++;
        sluice_buf_put(&buf, cell.ptr, (uint32_t)n);
    }
    sluice_buf_put(&buf, "***", 3);
    sluice_buf_put(&buf, cell.ptr + at, (uint32_t)(cell.len - at));
}

static bool changes(sluice_cell cell) {
    mask(cell);
    return buf.len != (uint32_t)cell.len || memcmp(buf.ptr, cell.ptr, buf.len) != 0;
}

int sluice_plugin_process(const sluice_page *page, sluice_output *out) {
    if (page->schema_id != schema_seen) {
        if (resolve(page) < 0) return SLUICE_FAIL;
    }
    uint32_t ncols = page->schema.ncols;
    bool changed = false;
    for (uint32_t i = 0; i < page->nrows && !changed; i++) {
        sluice_row row = sluice_page_row(page, i);
        for (uint32_t c = 0; c < ncols && !changed; c++) {
            if (!masked[c]) continue;
            sluice_cell cell = sluice_row_cell(&row, c);
            changed = cell.len >= 0 && changes(cell);
        }
    }
    if (!changed) return SLUICE_OK; /* every row passes unchanged */
    sluice_writer *w = sluice_rows(out, SLUICE_STR(""), &page->schema);
    if (!w) return SLUICE_FAIL;
    for (uint32_t i = 0; i < page->nrows; i++) {
        sluice_row row = sluice_page_row(page, i);
        for (uint32_t c = 0; c < ncols; c++) {
            sluice_cell cell = sluice_row_cell(&row, c);
            if (!masked[c] || cell.len < 0) {
                sluice_put_cell(w, cell);
                continue;
            }
            mask(cell);
            sluice_put_raw(w, buf.ptr, buf.len);
        }
        if (sluice_end_row(w) < 0) return SLUICE_FAIL;
    }
    return SLUICE_OK;
}
