#include "vltava_fuzz_main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

// SwiftPM links an executable with `--defsym main=<module>_main`, which `-parse-as-library` never defines, so
// libFuzzer's own `main` cannot be used: this is it, under the name SwiftPM asks for.
int vltava_fuzz_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
