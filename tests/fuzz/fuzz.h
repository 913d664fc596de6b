/*
 * Shared by the fuzz targets (tests/fuzz/fuzz_*.c). Each target defines
 * LLVMFuzzerTestOneInput; it is linked either with libFuzzer (make fuzz,
 * clang) or with driver.c, which replays corpus files (make test, gcc).
 * A target must never print, leak, or keep state between inputs, and
 * calls FUZZ_ASSERT only for properties that must hold for every input.
 */
#ifndef MAMORI_FUZZ_H
#define MAMORI_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property broken: stop loudly (libFuzzer and the driver both catch it). */
#define FUZZ_ASSERT(cond)                                                              \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: fuzz assertion failed: %s\n", __FILE__, \
				__LINE__, #cond);                                      \
			abort();                                                       \
		}                                                                      \
	} while (0)

/* The fixed key targets seal with, so that fuzzed plaintext reaches the
 * decoders behind an AEAD tag (a key holder can write any plaintext). */
static const uint8_t fuzz_key[MM_KEY_LEN] = {
	0x6d, 0x61, 0x6d, 0x6f, 0x72, 0x69, 0x20, 0x66, 0x75, 0x7a, 0x7a, 0x20, 0x6b, 0x65, 0x79, 0x21,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
};

#endif
