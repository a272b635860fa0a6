/*
 * project: the sluice example plugin "project" in C. It selects, orders and
 * renames columns and appends one computed column (len or upper of a text
 * column), emitting new rows on the default output. Its behaviour is
 * specified in plugins/examples/README.md, identically for every SDK
 * language.
 *
 * Built (from this directory; see build.sh) with:
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -mbulk-memory -O2 -Wall -Wextra -Werror -I../../../c -o project.wasm project.c
 */
#define SLUICE_IMPLEMENTATION
#define SLUICE_ERROR_PREFIX "project: "
#include "sluice.h"

struct column {
    sluice_str source, name;
};

static struct column *columns;
static uint32_t ncolumns;
static enum { FN_NONE, FN_LEN, FN_UPPER } fn;
static sluice_str fn_src, fn_name;
static sluice_buf fn_name_buf;

/* Resolution for the last input schema seen (page->schema_id; 0: none). */
static uint32_t schema_seen;
static int32_t *cols; /* input column of each output column */
static int32_t fn_col;
static sluice_schema *out_schema;
static sluice_buf upper;

/* Splits s at its first ':'; false when there is none. */
static bool cut(sluice_str s, sluice_str *before, sluice_str *after) {
    for (uint32_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == ':') {
            before->ptr = s.ptr;
            before->len = i;
            after->ptr = s.ptr + i + 1;
            after->len = s.len - i - 1;
            return true;
        }
    }
    *before = s;
    return false;
}

int sluice_plugin_init(const sluice_config *cfg) {
    static const char *const known[] = {"columns", "compute", "compute_as", NULL};
    static const char *const single[] = {"compute", "compute_as", NULL};
    if (sluice_config_unknown(cfg, known) < 0 || sluice_config_single(cfg, single) < 0) return SLUICE_FAIL;
    ncolumns = sluice_config_count(cfg, "columns");
    if (ncolumns == 0) return sluice_fail(-1, "missing config key \"columns\"");
    columns = (struct column *)sluice_malloc(sizeof(struct column) * ncolumns);
    cols = (int32_t *)sluice_malloc(sizeof(int32_t) * ncolumns);
    for (uint32_t i = 0; i < ncolumns; i++) {
        sluice_str e;
        sluice_config_at(cfg, "columns", i, &e);
        struct column *c = &columns[i];
        if (!cut(e, &c->source, &c->name)) c->name = c->source;
        if (c->source.len == 0 || c->name.len == 0)
            return sluice_fail(-1, "columns entry \"%S\" is not \"source\" or \"source:name\"", e);
    }
    sluice_str compute, as;
    bool has_compute = sluice_config_at(cfg, "compute", 0, &compute);
    if (has_compute) {
        sluice_str f;
        bool found = cut(compute, &f, &fn_src);
        if (found && sluice_str_eq(f, SLUICE_STR("len"))) fn = FN_LEN;
        else if (found && sluice_str_eq(f, SLUICE_STR("upper"))) fn = FN_UPPER;
        if (fn == FN_NONE || fn_src.len == 0)
            return sluice_fail(-1, "compute \"%S\" is not \"len:<column>\" or \"upper:<column>\"", compute);
        sluice_buf_printf(&fn_name_buf, "%S_%S", fn_src, f);
        fn_name = sluice_buf_view(&fn_name_buf);
    }
    bool has_as = sluice_config_at(cfg, "compute_as", 0, &as);
    if (has_as && !has_compute) return sluice_fail(-1, "compute_as needs compute");
    if (has_as) {
        if (as.len == 0) return sluice_fail(-1, "compute_as is empty");
        fn_name = as;
    }
    uint32_t n = ncolumns + (fn != FN_NONE);
    for (uint32_t i = 0; i < n; i++) {
        sluice_str a = i < ncolumns ? columns[i].name : fn_name;
        for (uint32_t j = 0; j < i; j++)
            if (sluice_str_eq(a, columns[j].name)) return sluice_fail(-1, "output column \"%S\" appears twice", a);
    }
    return SLUICE_OK;
}

static int resolve(const sluice_page *page) {
    schema_seen = 0;
    sluice_schema_free(out_schema);
    out_schema = sluice_schema_new();
    for (uint32_t i = 0; i < ncolumns; i++) {
        int32_t c = sluice_find_column(page, columns[i].source);
        if (c < 0) return SLUICE_FAIL;
        cols[i] = c;
        const sluice_column *in = &page->schema.cols[c];
        sluice_schema_add_desc(out_schema, columns[i].name, in->desc, in->desc_len);
    }
    if (fn != FN_NONE) {
        fn_col = sluice_find_column(page, fn_src);
        if (fn_col < 0) return SLUICE_FAIL;
        const sluice_column *in = &page->schema.cols[fn_col];
        if (in->type != SLUICE_TEXT && in->type != SLUICE_ASCII)
            return sluice_fail(-1, "compute source \"%S\" has type %s, want text or ascii", fn_src, sluice_type_name(in->type));
        if (fn == FN_LEN) sluice_schema_add(out_schema, fn_name, SLUICE_INT);
        else sluice_schema_add_desc(out_schema, fn_name, in->desc, in->desc_len);
    }
    schema_seen = page->schema_id;
    return SLUICE_OK;
}

int sluice_plugin_process(const sluice_page *page, sluice_output *out) {
    if (page->schema_id != schema_seen) {
        if (resolve(page) < 0) return SLUICE_FAIL;
    }
    sluice_writer *w = sluice_rows(out, SLUICE_STR(""), out_schema);
    if (!w) return SLUICE_FAIL;
    for (uint32_t i = 0; i < page->nrows; i++) {
        sluice_row row = sluice_page_row(page, i);
        for (uint32_t c = 0; c < ncolumns; c++) sluice_put_copy(w, &row, (uint32_t)cols[c]);
        if (fn != FN_NONE) {
            sluice_cell cell = sluice_row_cell(&row, (uint32_t)fn_col);
            if (cell.len < 0) {
                sluice_put_null(w);
            } else if (fn == FN_LEN) {
                int32_t n = 0;
                for (int32_t k = 0; k < cell.len; k++) n += cell.ptr[k] < 0x80 || cell.ptr[k] > 0xBF;
                sluice_put_int(w, n);
            } else {
                upper.len = 0;
                sluice_buf_put(&upper, cell.ptr, (uint32_t)cell.len);
                for (uint32_t k = 0; k < upper.len; k++)
                    if (upper.ptr[k] >= 'a' && upper.ptr[k] <= 'z') upper.ptr[k] -= 0x20;
                sluice_put_raw(w, upper.ptr, upper.len);
            }
        }
        if (sluice_end_row(w) < 0) return SLUICE_FAIL;
    }
    return SLUICE_OK;
}
