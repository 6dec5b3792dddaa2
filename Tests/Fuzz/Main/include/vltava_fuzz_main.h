#ifndef VLTAVA_FUZZ_MAIN_H
#define VLTAVA_FUZZ_MAIN_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver with the fuzz target of `vltava-fuzz`; the executable's `main`.
int vltava_fuzz_main(int argc, char **argv);

#endif
