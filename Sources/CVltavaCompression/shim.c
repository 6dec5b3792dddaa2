#include "CVltavaCompression.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>
#endif

// MARK: CRC32C

int vltava_crc32c_hardware_available(void) {
#if defined(__x86_64__)
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & bit_SSE4_2) != 0;
#else
    return 0;
#endif
}

#if defined(__x86_64__)
// One stream of crc32q runs at about 8 bytes per 3 cycles, well above the 2 GB/s the broker needs.
__attribute__((target("sse4.2")))
uint32_t vltava_crc32c_hardware(uint32_t crc, const uint8_t *data, size_t length) {
    uint64_t c = crc;
    while (length > 0 && ((uintptr_t)data & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *data++);
        length--;
    }
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, data, 8);
        c = _mm_crc32_u64(c, word);
        data += 8;
        length -= 8;
    }
    while (length > 0) {
        c = _mm_crc32_u8((uint32_t)c, *data++);
        length--;
    }
    return (uint32_t)c;
}
#else
uint32_t vltava_crc32c_hardware(uint32_t crc, const uint8_t *data, size_t length) {
    (void)data; (void)length;
    return crc;
}
#endif

// MARK: Run-time loading of liblz4 and libzstd

typedef struct {
    int blockSizeID;
    int blockMode;
    int contentChecksumFlag;
    int frameType;
    unsigned long long contentSize;
    unsigned dictID;
    int blockChecksumFlag;
} lz4_frame_info;

typedef struct {
    lz4_frame_info frameInfo;
    int compressionLevel;
    unsigned autoFlush;
    unsigned favorDecSpeed;
    unsigned reserved[3];
} lz4_preferences;

typedef struct { const void *src; size_t size; size_t pos; } zstd_in_buffer;
typedef struct { void *dst; size_t size; size_t pos; } zstd_out_buffer;

static struct {
    void *handle;
    size_t (*compressFrame)(void *, size_t, const void *, size_t, const lz4_preferences *);
    size_t (*compressFrameBound)(size_t, const lz4_preferences *);
    size_t (*createDecompressionContext)(void **, unsigned);
    size_t (*decompress)(void *, void *, size_t *, const void *, size_t *, const void *);
    size_t (*freeDecompressionContext)(void *);
    unsigned (*isError)(size_t);
    const char *(*getErrorName)(size_t);
} lz4;

static struct {
    void *handle;
    size_t (*compress)(void *, size_t, const void *, size_t, int);
    size_t (*compressBound)(size_t);
    void *(*createDStream)(void);
    size_t (*initDStream)(void *);
    size_t (*decompressStream)(void *, zstd_out_buffer *, zstd_in_buffer *);
    size_t (*freeDStream)(void *);
    unsigned (*isError)(size_t);
    const char *(*getErrorName)(size_t);
    size_t (*setParameter)(void *, int, int); // optional: ZSTD_DCtx_setParameter
    int (*getErrorCode)(size_t);              // optional: ZSTD_getErrorCode
    unsigned long long (*getFrameContentSize)(const void *, size_t); // optional
} zstd;

static pthread_once_t loadOnce = PTHREAD_ONCE_INIT;
static const char *lz4Missing;
static const char *zstdMissing;

#define LOAD(lib, field, name)                                  \
    do {                                                        \
        *(void **)(&lib.field) = dlsym(lib.handle, name);       \
        if (lib.field == NULL) return "symbol " name " missing"; \
    } while (0)

static const char *load_lz4(void) {
    lz4.handle = dlopen("liblz4.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lz4.handle == NULL) return "liblz4.so.1 could not be loaded";
    LOAD(lz4, compressFrame, "LZ4F_compressFrame");
    LOAD(lz4, compressFrameBound, "LZ4F_compressFrameBound");
    LOAD(lz4, createDecompressionContext, "LZ4F_createDecompressionContext");
    LOAD(lz4, decompress, "LZ4F_decompress");
    LOAD(lz4, freeDecompressionContext, "LZ4F_freeDecompressionContext");
    LOAD(lz4, isError, "LZ4F_isError");
    LOAD(lz4, getErrorName, "LZ4F_getErrorName");
    return NULL;
}

static const char *load_zstd(void) {
    zstd.handle = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
    if (zstd.handle == NULL) return "libzstd.so.1 could not be loaded";
    LOAD(zstd, compress, "ZSTD_compress");
    LOAD(zstd, compressBound, "ZSTD_compressBound");
    LOAD(zstd, createDStream, "ZSTD_createDStream");
    LOAD(zstd, initDStream, "ZSTD_initDStream");
    LOAD(zstd, decompressStream, "ZSTD_decompressStream");
    LOAD(zstd, freeDStream, "ZSTD_freeDStream");
    LOAD(zstd, isError, "ZSTD_isError");
    LOAD(zstd, getErrorName, "ZSTD_getErrorName");
    *(void **)(&zstd.setParameter) = dlsym(zstd.handle, "ZSTD_DCtx_setParameter");
    *(void **)(&zstd.getErrorCode) = dlsym(zstd.handle, "ZSTD_getErrorCode");
    *(void **)(&zstd.getFrameContentSize) = dlsym(zstd.handle, "ZSTD_getFrameContentSize");
    return NULL;
}

static void load_libraries(void) {
    lz4Missing = load_lz4();
    zstdMissing = load_zstd();
}

const char *vltava_codec_unavailable_reason(int codec) {
    pthread_once(&loadOnce, load_libraries);
    switch (codec) {
    case VLTAVA_CODEC_GZIP: return NULL;
    case VLTAVA_CODEC_LZ4: return lz4Missing;
    case VLTAVA_CODEC_ZSTD: return zstdMissing;
    default: return "not a codec of this library";
    }
}

int vltava_codec_available(int codec) {
    return vltava_codec_unavailable_reason(codec) == NULL;
}

// MARK: Compression

// Kafka's Java client writes 64 KiB independent blocks; independent blocks are what every client can read.
static lz4_preferences lz4_kafka_preferences(int level) {
    lz4_preferences preferences;
    memset(&preferences, 0, sizeof preferences);
    preferences.frameInfo.blockSizeID = 4;
    preferences.frameInfo.blockMode = 1;
    preferences.compressionLevel = level;
    return preferences;
}

size_t vltava_compress_bound(int codec, size_t length) {
    if (!vltava_codec_available(codec)) return 0;
    switch (codec) {
    case VLTAVA_CODEC_GZIP: return compressBound((uLong)length) + 32;
    case VLTAVA_CODEC_LZ4: {
        lz4_preferences preferences = lz4_kafka_preferences(0);
        return lz4.compressFrameBound(length, &preferences);
    }
    case VLTAVA_CODEC_ZSTD: return zstd.compressBound(length);
    default: return 0;
    }
}

static int gzip_compress(int level, const uint8_t *source, size_t sourceLength, uint8_t *destination,
                         size_t capacity, size_t *written, const char **error) {
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    if (deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        *error = "deflateInit2 failed";
        return -1;
    }
    stream.next_in = (Bytef *)source;
    stream.avail_in = (uInt)sourceLength;
    stream.next_out = destination;
    stream.avail_out = (uInt)capacity;
    int result = deflate(&stream, Z_FINISH);
    *written = capacity - stream.avail_out;
    deflateEnd(&stream);
    if (result != Z_STREAM_END) {
        *error = "deflate did not finish within the bound";
        return -1;
    }
    return 0;
}

int vltava_compress(int codec, int level, const uint8_t *source, size_t sourceLength,
                    uint8_t *destination, size_t capacity, size_t *written, const char **error) {
    const char *missing = vltava_codec_unavailable_reason(codec);
    if (missing != NULL) {
        *error = missing;
        return -1;
    }
    switch (codec) {
    case VLTAVA_CODEC_GZIP:
        if (sourceLength > UINT32_MAX || capacity > UINT32_MAX) {
            *error = "input too large for one deflate call";
            return -1;
        }
        return gzip_compress(level, source, sourceLength, destination, capacity, written, error);
    case VLTAVA_CODEC_LZ4: {
        lz4_preferences preferences = lz4_kafka_preferences(level);
        size_t result = lz4.compressFrame(destination, capacity, source, sourceLength, &preferences);
        if (lz4.isError(result)) {
            *error = lz4.getErrorName(result);
            return -1;
        }
        *written = result;
        return 0;
    }
    case VLTAVA_CODEC_ZSTD: {
        size_t result = zstd.compress(destination, capacity, source, sourceLength, level);
        if (zstd.isError(result)) {
            *error = zstd.getErrorName(result);
            return -1;
        }
        *written = result;
        return 0;
    }
    default:
        *error = "not a codec of this library";
        return -1;
    }
}

// MARK: Streaming decompression

static uint64_t load_little_endian(const uint8_t *bytes, int count) {
    uint64_t value = 0;
    for (int i = count - 1; i >= 0; i--) value = (value << 8) | bytes[i];
    return value;
}

size_t vltava_decompressed_size_hint(int codec, const uint8_t *source, size_t sourceLength) {
    switch (codec) {
    case VLTAVA_CODEC_GZIP:
        if (sourceLength >= 18 && source[0] == 0x1f && source[1] == 0x8b)
            return (size_t)load_little_endian(source + sourceLength - 4, 4);
        return 0;
    case VLTAVA_CODEC_LZ4:
        // Frame: magic 0x184D2204, FLG (bit 3: content size present), BD, then the 8-byte content size.
        if (sourceLength >= 14 && load_little_endian(source, 4) == 0x184D2204 && (source[4] & 0x08) != 0)
            return (size_t)load_little_endian(source + 6, 8);
        return 0;
    case VLTAVA_CODEC_ZSTD: {
        if (!vltava_codec_available(codec) || zstd.getFrameContentSize == NULL) return 0;
        unsigned long long size = zstd.getFrameContentSize(source, sourceLength);
        return size >= (unsigned long long)-2 ? 0 : (size_t)size;
    }
    default:
        return 0;
    }
}

struct vltava_decompressor {
    int codec;
    int isGzip;
    z_stream zlib;
    void *lz4Context;
    void *zstdStream;
    const char *error;
};

vltava_decompressor *vltava_decompressor_create(int codec, const uint8_t *firstBytes, size_t firstLength,
                                                size_t outputLimit) {
    if (!vltava_codec_available(codec)) return NULL;
    vltava_decompressor *d = calloc(1, sizeof *d);
    if (d == NULL) return NULL;
    d->codec = codec;
    switch (codec) {
    case VLTAVA_CODEC_GZIP: {
        int windowBits = -15;
        if (firstLength >= 2 && firstBytes[0] == 0x1f && firstBytes[1] == 0x8b) {
            windowBits = 15 + 16;
            d->isGzip = 1;
        } else if (firstLength >= 2 && (firstBytes[0] & 0x0f) == 8 && ((firstBytes[0] << 8) | firstBytes[1]) % 31 == 0) {
            windowBits = 15;
        }
        if (inflateInit2(&d->zlib, windowBits) != Z_OK) goto fail;
        return d;
    }
    case VLTAVA_CODEC_LZ4:
        if (lz4.isError(lz4.createDecompressionContext(&d->lz4Context, 100))) goto fail;
        return d;
    case VLTAVA_CODEC_ZSTD: {
        d->zstdStream = zstd.createDStream();
        if (d->zstdStream == NULL) goto fail;
        if (zstd.isError(zstd.initDStream(d->zstdStream))) goto fail;
        if (zstd.setParameter != NULL) {
            // A frame of at most outputLimit bytes never needs a window above twice that; 1 MiB is always allowed.
            int windowLog = 20;
            while (windowLog < 27 && ((size_t)1 << (windowLog - 1)) < outputLimit) windowLog++;
            zstd.setParameter(d->zstdStream, 100 /* ZSTD_d_windowLogMax */, windowLog);
        }
        return d;
    }
    default:
        break;
    }
fail:
    vltava_decompressor_destroy(d);
    return NULL;
}

static int gzip_step(vltava_decompressor *d, const uint8_t *input, size_t inputLength, size_t *consumed,
                     uint8_t *output, size_t outputLength, size_t *produced) {
    uInt inChunk = inputLength > UINT32_MAX ? UINT32_MAX : (uInt)inputLength;
    uInt outChunk = outputLength > UINT32_MAX ? UINT32_MAX : (uInt)outputLength;
    d->zlib.next_in = (Bytef *)input;
    d->zlib.avail_in = inChunk;
    d->zlib.next_out = output;
    d->zlib.avail_out = outChunk;
    int result = inflate(&d->zlib, Z_NO_FLUSH);
    *consumed = inChunk - d->zlib.avail_in;
    *produced = outChunk - d->zlib.avail_out;
    if (result == Z_STREAM_END) {
        // A gzip stream may hold several members, as GZIPInputStream reads them.
        if (d->isGzip && d->zlib.avail_in >= 2 && d->zlib.next_in[0] == 0x1f && d->zlib.next_in[1] == 0x8b) {
            inflateReset(&d->zlib);
            return VLTAVA_STEP_PROGRESS;
        }
        return VLTAVA_STEP_FINISHED;
    }
    // Z_BUF_ERROR only means no progress was possible; the caller notices a stream that ends early.
    if (result == Z_OK || result == Z_BUF_ERROR) return VLTAVA_STEP_PROGRESS;
    d->error = d->zlib.msg != NULL ? d->zlib.msg : "inflate failed";
    return VLTAVA_STEP_ERROR;
}

int vltava_decompressor_step(vltava_decompressor *d, const uint8_t *input, size_t inputLength, size_t *consumed,
                             uint8_t *output, size_t outputLength, size_t *produced) {
    *consumed = 0;
    *produced = 0;
    switch (d->codec) {
    case VLTAVA_CODEC_GZIP:
        return gzip_step(d, input, inputLength, consumed, output, outputLength, produced);
    case VLTAVA_CODEC_LZ4: {
        size_t outSize = outputLength;
        size_t inSize = inputLength;
        size_t hint = lz4.decompress(d->lz4Context, output, &outSize, input, &inSize, NULL);
        *consumed = inSize;
        *produced = outSize;
        if (lz4.isError(hint)) {
            d->error = lz4.getErrorName(hint);
            return VLTAVA_STEP_ERROR;
        }
        if (hint == 0) return VLTAVA_STEP_FINISHED;
        return VLTAVA_STEP_PROGRESS;
    }
    case VLTAVA_CODEC_ZSTD: {
        zstd_in_buffer in = {input, inputLength, 0};
        zstd_out_buffer out = {output, outputLength, 0};
        size_t hint = zstd.decompressStream(d->zstdStream, &out, &in);
        *consumed = in.pos;
        *produced = out.pos;
        if (zstd.isError(hint) && zstd.getErrorCode != NULL && zstd.getErrorCode(hint) == 16 /* windowTooLarge */) {
            d->error = zstd.getErrorName(hint);
            return VLTAVA_STEP_LIMIT;
        }
        if (zstd.isError(hint)) {
            d->error = zstd.getErrorName(hint);
            return VLTAVA_STEP_ERROR;
        }
        if (hint == 0) return VLTAVA_STEP_FINISHED;
        return VLTAVA_STEP_PROGRESS;
    }
    default:
        d->error = "not a codec of this library";
        return VLTAVA_STEP_ERROR;
    }
}

const char *vltava_decompressor_error(const vltava_decompressor *d) {
    return d->error != NULL ? d->error : "unknown error";
}

void vltava_decompressor_destroy(vltava_decompressor *d) {
    if (d == NULL) return;
    switch (d->codec) {
    case VLTAVA_CODEC_GZIP: inflateEnd(&d->zlib); break;
    case VLTAVA_CODEC_LZ4: if (d->lz4Context != NULL) lz4.freeDecompressionContext(d->lz4Context); break;
    case VLTAVA_CODEC_ZSTD: if (d->zstdStream != NULL) zstd.freeDStream(d->zstdStream); break;
    default: break;
    }
    free(d);
}
