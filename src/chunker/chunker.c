/*
 * FastCDC (Xia et al., USENIX ATC 2016) with normalised chunking level 2.
 *
 * The rolling hash is h = (h << 1) + gear[byte]; bit j of h depends on the
 * last j + 1 bytes, so the masks use the top bits of h: a cut then depends
 * on a window of 64 bytes. Below avg_size the mask has log2(avg) + 2 bits
 * (cuts are 4x rarer), from avg_size on log2(avg) - 2 bits (4x likelier),
 * which narrows the size distribution around avg_size.
 */
#include <string.h>

#include "chunker/chunker.h"

static unsigned
log2_u32(uint32_t v)
{
	unsigned k = 0;

	while (v > 1) {
		v >>= 1;
		k++;
	}
	return k;
}

static uint64_t
top_mask(unsigned bits)
{
	return bits == 0 ? 0 : ~(uint64_t)0 << (64 - bits);
}

int
chunker_params_check(const struct chunker_params *p)
{
	if (p->min_size < 64u * 1024 || p->min_size >= p->avg_size || p->avg_size >= p->max_size ||
	    p->max_size > 64u * 1024 * 1024 || (p->avg_size & (p->avg_size - 1)) != 0)
		return MM_EINVAL;
	return 0;
}

void
chunker_gear_init(struct chunker_gear *g, const uint8_t bytes[CHUNKER_GEAR_BYTES])
{
	for (size_t i = 0; i < 256; i++) {
		uint64_t v = 0;

		for (int b = 7; b >= 0; b--)
			v = (v << 8) | bytes[i * 8 + (size_t)b];
		g->g[i] = v;
	}
}

/* Scan data[from, to) with one mask; the position after the cut byte, or 0. */
static size_t
scan(const uint64_t *gear, const uint8_t *data, size_t from, size_t to, uint64_t mask,
     uint64_t *h)
{
	uint64_t hash = *h;

	for (size_t i = from; i < to; i++) {
		hash = (hash << 1) + gear[data[i]];
		if ((hash & mask) == 0) {
			*h = hash;
			return i + 1;
		}
	}
	*h = hash;
	return 0;
}

size_t
chunker_next(const struct chunker_params *p, const struct chunker_gear *g, const uint8_t *data,
	     size_t n, int eof)
{
	return chunker_next_from(p, g, data, n, eof, 0);
}

size_t
chunker_next_from(const struct chunker_params *p, const struct chunker_gear *g,
		  const uint8_t *data, size_t n, int eof, size_t from)
{
	unsigned k = log2_u32(p->avg_size);
	size_t end = n < p->max_size ? n : p->max_size;
	size_t mid = end < p->avg_size ? end : p->avg_size;
	size_t start = from > p->min_size ? from : p->min_size;
	uint64_t h = 0;
	size_t cut;

	if (n <= p->min_size)
		return eof ? n : 0;
	if (start > end)
		start = end;
	/* Rebuild the hash over the bytes before start (no cut among them). */
	for (size_t i = start - p->min_size > 64 ? start - 64 : p->min_size; i < start; i++)
		h = (h << 1) + g->g[data[i]];
	if (start < mid && (cut = scan(g->g, data, start, mid, top_mask(k + 2), &h)) != 0)
		return cut;
	if ((cut = scan(g->g, data, start > mid ? start : mid, end, top_mask(k - 2), &h)) != 0)
		return cut;
	if (end == p->max_size || eof)
		return end;
	return 0;
}
