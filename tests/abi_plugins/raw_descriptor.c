/* A plugin written against the C header alone, whose ABI version is set at
 * build time (RAW_ABI_MAJOR/RAW_ABI_MINOR), and whose entry symbol name is
 * RAW_ENTRY. Used to build the wrong-major, newer-minor and no-entry cases. */
#include <sonde/plugin_api.h>

#define EXPORT __attribute__((visibility("default")))

static sonde_status create(const sonde_instance_info *info, sonde_instance **out, sonde_error *error) {
    (void)info;
    (void)error;
    *out = (sonde_instance *)1;
    return SONDE_OK;
}
static sonde_status start(sonde_instance *instance, sonde_error *error) {
    (void)instance;
    (void)error;
    return SONDE_OK;
}
static void stop(sonde_instance *instance) { (void)instance; }
static void destroy(sonde_instance *instance) { (void)instance; }

static const sonde_plugin_ops ops = {sizeof(sonde_plugin_ops), 0, create, start, stop, destroy, 0, 0};
static const sonde_plugin_descriptor descriptor = {
    sizeof(sonde_plugin_descriptor), RAW_ABI_MAJOR, RAW_ABI_MINOR, SONDE_PLUGIN_INPUT, RAW_NAME, "0.0.1",
    "Test plugin with a chosen ABI version", &ops};

#ifdef RAW_EXPORT_ABI_SYMBOL
EXPORT const struct sonde_abi_version sonde_plugin_abi = {RAW_ABI_MAJOR, RAW_ABI_MINOR};
#endif

EXPORT const sonde_plugin_descriptor *RAW_ENTRY(void) { return &descriptor; }
