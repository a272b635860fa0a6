/* The trap test plugin in C: __builtin_trap() on the first row whose column
 * equals value (plugins/conformance/trap/README.md). Built by build.sh. */
#define SLUICE_IMPLEMENTATION
#define SLUICE_WITH_PREPARE
#define SLUICE_ERROR_PREFIX "trap: "
#include "sluice.h"

static sluice_str column;
static int64_t bad;
static uint32_t col;

int sluice_plugin_prepare(const sluice_schema *schema) {
    int32_t i = sluice_column_index(schema, column);
    if (i < 0) return sluice_fail(-1, "prepare: no column \"%S\"", column);
    col = (uint32_t)i;
    return SLUICE_OK;
}

int sluice_plugin_init(const sluice_config *cfg) {
    if (sluice_config_require(cfg, "column", &column) != SLUICE_OK) return SLUICE_FAIL;
    return sluice_config_int(cfg, "value", 0, &bad) == SLUICE_OK ? SLUICE_OK : SLUICE_FAIL;
}

__attribute__((noinline)) static void check_row(int st, int32_t v) {
    if (st == SLUICE_OK && v == bad) __builtin_trap();
}

int sluice_plugin_process(const sluice_page *page, sluice_output *out) {
    (void)out;
    for (uint32_t i = 0; i < page->nrows; i++) {
        sluice_row row = sluice_page_row(page, i);
        int32_t v = 0;
        int st = sluice_get_int(&row, col, &v);
        if (st < 0) return st;
        check_row(st, v);
    }
    return SLUICE_OK;
}
