/*
 * chunker: FastCDC content-defined chunking (gear hash, normalised chunking,
 * Xia et al. 2016) with a gear table derived from a repository secret, so
 * chunk boundaries reveal nothing without the key.
 *
 * The chunker is a pure function over a byte stream: the caller feeds
 * buffers and receives cut points. It never reads files itself.
 */
#ifndef MAMORI_CHUNKER_H
#define MAMORI_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct chunker_params {
	uint32_t min_size; /* default 512 KiB */
	uint32_t avg_size; /* default 1 MiB, a power of two */
	uint32_t max_size; /* default 8 MiB */
};
#define CHUNKER_MIN_DEFAULT (512u * 1024)
#define CHUNKER_AVG_DEFAULT (1024u * 1024)
#define CHUNKER_MAX_DEFAULT (8u * 1024 * 1024)

/* The gear table: 256 64-bit values. The repository derives 2048 secret bytes
 * (HKDF, see docs/repository-format.md) and the chunker reads them as 256
 * little-endian u64; the chunker itself needs no crypto. */
struct chunker_gear {
	uint64_t g[256];
};

/* Validate parameters: 64 KiB <= min < avg < max <= 64 MiB, avg a power of two. */
int chunker_params_check(const struct chunker_params *p) MM_MUST_CHECK;

#define CHUNKER_GEAR_BYTES 2048
/* Build the gear table from 2048 bytes (256 little-endian u64). */
void chunker_gear_init(struct chunker_gear *g, const uint8_t bytes[CHUNKER_GEAR_BYTES]);

/*
 * Find the next cut point in data[0..n). `eof` says whether no more data
 * follows this buffer. Returns the length of the chunk that starts at data[0]:
 *  - a cut point in (0, n], or
 *  - 0 when more data is needed to decide (only when !eof and n < max_size).
 * With eof, it always returns min(n, cut) > 0 for n > 0.
 * Stateless: the caller keeps the unconsumed tail and calls again with it at
 * the start of the buffer. Normalised chunking: below avg_size the mask has
 * more bits (harder to cut), above it fewer (easier), as in FastCDC level 2.
 */
size_t chunker_next(const struct chunker_params *p, const struct chunker_gear *g,
		    const uint8_t *data, size_t n, int eof);
/* The same, knowing that data[0..from) was already scanned without a cut
 * (a previous call on a shorter buffer returned 0 with n == from): the scan
 * resumes there, giving exactly chunker_next's answer. The hash covers the
 * last 64 bytes only, so 64 bytes before `from` rebuild it. */
size_t chunker_next_from(const struct chunker_params *p, const struct chunker_gear *g,
			 const uint8_t *data, size_t n, int eof, size_t from);

#endif
