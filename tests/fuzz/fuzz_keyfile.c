/*
 * Key file (section 2.1): the plaintext KDF header is read by anyone who
 * can write keys/; the payload behind the tag by a key holder. The input
 * is tried as a whole key file, then as header || payload plaintext that
 * the target seals under a fixed KEK with the header as AAD, so the
 * payload parser is reached too.
 */
#include <string.h>

#include "fuzz.h"
#include "repo/repo.h"

#define HEAD_LEN 35

static void
try_decode(const uint8_t *p, size_t n)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct keyfile_meta m;
	uint8_t master[MM_KEY_LEN];

	if (keyfile_decode(p, n, fuzz_key, master, &m, &c) == 0) {
		FUZZ_ASSERT(m.name && m.user && m.host);
		keyfile_meta_release(&m);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct kdf_params kp;
	struct buf sealed = BUF_INIT;

	if (keyfile_kdf_params(data, size, &kp, &c) == 0)
		FUZZ_ASSERT(kp.t_cost >= 1 && kp.t_cost <= 64 && kp.parallelism >= 1 &&
			    kp.parallelism <= 64 && kp.m_cost_kib <= 4u * 1024 * 1024);
	try_decode(data, size);
	if (size < HEAD_LEN)
		return 0;
	if (buf_append(&sealed, data, HEAD_LEN) != 0 ||
	    crypto_seal(fuzz_key, data + HEAD_LEN, size - HEAD_LEN, data, HEAD_LEN, &sealed) != 0)
		abort();
	try_decode(sealed.data, sealed.len);
	buf_release(&sealed);
	return 0;
}
