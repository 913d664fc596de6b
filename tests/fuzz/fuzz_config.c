/* Config object plaintext (docs/repository-format.md section 3). */
#include <string.h>

#include "fuzz.h"
#include "repo/repo.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct repo_config cf;
	struct buf again = BUF_INIT;

	if (config_decode(data, size, &cf, &c) != 0)
		return 0;
	/* What decodes encodes back to the same bytes. */
	FUZZ_ASSERT(config_encode(&cf, &again) == 0);
	FUZZ_ASSERT(again.len == size && memcmp(again.data, data, size) == 0);
	buf_release(&again);
	return 0;
}
