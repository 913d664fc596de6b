/* Lock plaintext (section 10): read from every other process's lock. */
#include <string.h>

#include "fuzz.h"
#include "repo/repo.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct lock_info l;
	struct buf again = BUF_INIT;

	if (lock_decode(data, size, &l, &c) != 0) {
		FUZZ_ASSERT(l.host == NULL && l.user == NULL && l.command == NULL);
		return 0;
	}
	(void)lock_is_stale(&l, 0);
	FUZZ_ASSERT(lock_encode(&l, &again) == 0);
	FUZZ_ASSERT(again.len == size && memcmp(again.data, data, size) == 0);
	buf_release(&again);
	lock_info_release(&l);
	return 0;
}
