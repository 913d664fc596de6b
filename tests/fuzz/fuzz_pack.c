/*
 * Pack trailer and header (section 6). The input is a u32 (little-endian)
 * count of blob bytes before the header, then a header plaintext. Tried
 * three ways: the input as the tail of a pack (trailer parsing and a
 * header that fails its tag), the plaintext alone, and the plaintext
 * sealed under a fixed key as the tail of a pack of that many blob bytes.
 */
#include <string.h>

#include "fuzz.h"
#include "repo/repo.h"

static struct repo *
stub_repo(void)
{
	/* repo_pack_parse_tail only reads the encryption key. */
	static struct repo r;

	memcpy(r.keys.enc, fuzz_key, MM_KEY_LEN);
	return &r;
}

static void
try_tail(const uint8_t *tail, size_t n, uint64_t pack_size)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct pack_entry *ents = NULL;
	size_t nents = 0;
	uint32_t hlen;
	uint64_t total = 0;

	if (repo_pack_header_len(tail, n, pack_size, &hlen, &c) == 0)
		FUZZ_ASSERT(hlen >= MM_AEAD_OVERHEAD && hlen <= pack_size - 4);
	if (repo_pack_parse_tail(stub_repo(), tail, n, pack_size, &ents, &nents, &c) != 0) {
		FUZZ_ASSERT(ents == NULL);
		return;
	}
	for (size_t i = 0; i < nents; i++)
		total += ents[i].length;
	FUZZ_ASSERT(total <= pack_size);
	free(ents);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct pack_entry *ents = NULL;
	struct buf tail = BUF_INIT;
	size_t nents = 0;
	uint32_t before;

	if (size < 4)
		return 0;
	before = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
		 (uint32_t)data[3] << 24;
	/* As the raw end of a pack, the whole pack or after blob bytes. */
	try_tail(data, size, size);
	try_tail(data, size, (uint64_t)size + before);
	if (pack_header_decode(data + 4, size - 4, &ents, &nents, &c) == 0) {
		struct buf again = BUF_INIT;
		FUZZ_ASSERT(pack_header_encode(ents, nents, &again) == 0);
		FUZZ_ASSERT(again.len == size - 4 && memcmp(again.data, data + 4, size - 4) == 0);
		buf_release(&again);
		free(ents);
	}
	if (crypto_seal(fuzz_key, data + 4, size - 4, NULL, 0, &tail) != 0)
		abort();
	if (tail.len <= UINT32_MAX) {
		uint32_t hl = (uint32_t)tail.len;
		if (buf_append_u32(&tail, hl) != 0)
			abort();
		try_tail(tail.data, tail.len, (uint64_t)before + tail.len);
	}
	buf_release(&tail);
	return 0;
}
