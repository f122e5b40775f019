/*
 * gzcrc: prints the CRC-32, size and zlib-compressed size of files (or stdin), using zlib.
 *
 *     gzcrc FILE...       one line per file: crc32, size, compressed size, name
 *     gzcrc               the same for stdin
 *     gzcrc --self-test   round-trips a known buffer through zlib, checks it and exits
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct summary {
    unsigned long crc;
    size_t size;
    size_t packed;
};

/* Reads all of `f` into memory; returns NULL on error. */
static unsigned char *slurp(FILE *f, size_t *len) {
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) return NULL;
    for (;;) {
        if (n == cap) {
            unsigned char *bigger = realloc(buf, cap *= 2);
            if (!bigger) { free(buf); return NULL; }
            buf = bigger;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) { free(buf); return NULL; }
    *len = n;
    return buf;
}

static int summarize(const unsigned char *data, size_t len, struct summary *out) {
    uLongf packed_len = compressBound((uLong)len);
    unsigned char *packed = malloc(packed_len ? packed_len : 1);
    if (!packed) return -1;
    if (compress2(packed, &packed_len, data, (uLong)len, Z_BEST_COMPRESSION) != Z_OK) {
        free(packed);
        return -1;
    }
    out->crc = crc32(crc32(0L, Z_NULL, 0), data, (uInt)len);
    out->size = len;
    out->packed = packed_len;
    free(packed);
    return 0;
}

static int self_test(void) {
    const char *text = "hello world";
    struct summary s;
    if (summarize((const unsigned char *)text, strlen(text), &s) != 0 || s.crc != 0x0d4a1185UL) {
        printf("self-test FAILED: crc32(\"%s\") = %08lx\n", text, s.crc);
        return 1;
    }
    /* Round-trip a compressible buffer. */
    unsigned char plain[4096], packed[8192], back[4096];
    for (size_t i = 0; i < sizeof plain; i++) plain[i] = (unsigned char)("gzcrc "[i % 6]);
    uLongf packed_len = sizeof packed, back_len = sizeof back;
    if (compress2(packed, &packed_len, plain, sizeof plain, Z_BEST_COMPRESSION) != Z_OK ||
        uncompress(back, &back_len, packed, packed_len) != Z_OK ||
        back_len != sizeof plain || memcmp(plain, back, sizeof plain) != 0 ||
        packed_len >= sizeof plain / 10) {
        printf("self-test FAILED: zlib round trip\n");
        return 1;
    }
    printf("self-test ok: crc32(hello world)=%08lx, 4096 bytes -> %lu, zlib %s\n",
           s.crc, (unsigned long)packed_len, zlibVersion());
    return 0;
}

static int report(FILE *f, const char *name) {
    size_t len = 0;
    unsigned char *data = slurp(f, &len);
    struct summary s;
    if (!data || summarize(data, len, &s) != 0) {
        fprintf(stderr, "gzcrc: %s: read or compress failed\n", name);
        free(data);
        return 1;
    }
    printf("%08lx %zu %zu %s\n", s.crc, s.size, s.packed, name);
    free(data);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--self-test") == 0) return self_test();
    if (argc == 1) return report(stdin, "-");
    int status = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { perror(argv[i]); status = 1; continue; }
        status |= report(f, argv[i]);
        fclose(f);
    }
    return status;
}
