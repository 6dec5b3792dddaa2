#ifndef CVLTAVA_COMPRESSION_H
#define CVLTAVA_COMPRESSION_H

#include <stddef.h>
#include <stdint.h>

/// Kafka's codec ids (record batch attribute bits 0-2) for the codecs implemented in C.
enum {
    VLTAVA_CODEC_GZIP = 1,
    VLTAVA_CODEC_LZ4 = 3,
    VLTAVA_CODEC_ZSTD = 4,
};

/// Results of vltava_decompressor_step.
enum {
    VLTAVA_STEP_ERROR = -1,
    VLTAVA_STEP_PROGRESS = 0,
    VLTAVA_STEP_FINISHED = 1,
    /// The stream needs more memory (a zstd window) than the output limit allows.
    VLTAVA_STEP_LIMIT = 2,
};

/// Whether the CPU has the SSE4.2 crc32 instruction (checked once with cpuid).
int vltava_crc32c_hardware_available(void);

/// CRC32C with the SSE4.2 instruction; `crc` is the running value without Kafka's final inversion.
/// Only call when vltava_crc32c_hardware_available() returned 1.
uint32_t vltava_crc32c_hardware(uint32_t crc, const uint8_t *data, size_t length);

/// Whether the codec can be used: gzip always, lz4 and zstd when their shared library could be loaded.
int vltava_codec_available(int codec);

/// Why the codec is unavailable, or NULL.
const char *vltava_codec_unavailable_reason(int codec);

/// An upper bound of the compressed size of `length` bytes.
size_t vltava_compress_bound(int codec, size_t length);

/// Compresses in one call. Returns 0 and sets *written, or -1 and sets *error to a static message.
int vltava_compress(int codec, int level, const uint8_t *source, size_t sourceLength,
                    uint8_t *destination, size_t capacity, size_t *written, const char **error);

/// The decompressed size the input says it has (gzip's ISIZE trailer, the lz4 or zstd frame's content size),
/// or 0 when it does not say. Untrusted: only a first guess for the output buffer.
size_t vltava_decompressed_size_hint(int codec, const uint8_t *source, size_t sourceLength);

typedef struct vltava_decompressor vltava_decompressor;

/// A streaming decompressor. For gzip the first bytes choose gzip, zlib or raw deflate.
/// `outputLimit` bounds the zstd window (memory) the stream may ask for. NULL when out of memory or unavailable.
vltava_decompressor *vltava_decompressor_create(int codec, const uint8_t *firstBytes, size_t firstLength,
                                                size_t outputLimit);

/// Feeds input and takes output; *consumed and *produced say how much of each was used.
int vltava_decompressor_step(vltava_decompressor *decompressor,
                             const uint8_t *input, size_t inputLength, size_t *consumed,
                             uint8_t *output, size_t outputLength, size_t *produced);

/// The last error's message (valid until the decompressor is destroyed).
const char *vltava_decompressor_error(const vltava_decompressor *decompressor);

void vltava_decompressor_destroy(vltava_decompressor *decompressor);

#endif
