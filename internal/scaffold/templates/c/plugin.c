/*
 * @@NAME@@: a sluice plugin in C. It keeps the rows whose configured column
 * is not null and drops the others, with a selection bitmap (no row is
 * copied).
 *
 * Config (the [stream.plugin.config] table of the sluice config file, or
 * -config-json for sluice plugin test):
 *
 *   column = "email"   # required: the column that must not be null
 *
 * Build (see Makefile):
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Werror -o @@NAME@@.wasm @@NAME@@.c
 *
 * sluice.h is the sluice C SDK (a single header), copied here from the
 * sluice source tree; its comments are the SDK's documentation.
 *
 * Where to go next:
 *   - typed getters (sluice_get_int, sluice_get_text, sluice_get_timestamp...)
 *     read cells; sluice_select/sluice_keep/sluice_drop select input rows;
 *   - sluice_rows(out, SLUICE_STR("audit"), schema) writes new rows to a
 *     named output that the stream routes to its own sink;
 *   - #define SLUICE_WITH_FLUSH and define sluice_plugin_flush to emit rows
 *     at the end of the stream; SLUICE_WITH_SNAPSHOT for hot-swap state;
 *   - the examples in the sluice repository (plugins/examples/ ... /c).
 */
#define SLUICE_IMPLEMENTATION
#define SLUICE_ERROR_PREFIX "@@NAME@@: "
#include "sluice.h"

/* The configured column. The config strings stay valid for the life of the
 * instance, so keeping the sluice_str is safe. */
static sluice_str column;

/* Checks the config once, before any page: a failure stops the stream
 * before a row is read. */
int sluice_plugin_init(const sluice_config *cfg) {
    static const char *const known[] = {"column", NULL};
    if (sluice_config_unknown(cfg, known) < 0) return SLUICE_FAIL;
    if (sluice_config_single(cfg, known) < 0) return SLUICE_FAIL;
    if (sluice_config_require(cfg, "column", &column) < 0) return SLUICE_FAIL;
    return SLUICE_OK;
}

/* Called once per page. Rows not dropped go on to the next plugin of the
 * chain, or to the stream's sink. */
int sluice_plugin_process(const sluice_page *page, sluice_output *out) {
    int32_t col = sluice_find_column(page, column);
    if (col < 0) return SLUICE_FAIL; /* the SDK recorded: column "..." not found (columns: ...) */
    for (uint32_t i = 0; i < page->nrows; i++) {
        sluice_row row = sluice_page_row(page, i);
        /* len -1 is null; an empty value (len 0, e.g. '' text) is kept. */
        sluice_select(out, i, sluice_row_cell(&row, (uint32_t)col).len >= 0);
    }
    return SLUICE_OK;
}
