/* Snapshot plaintext (section 9). */
#include <string.h>

#include "fuzz.h"
#include "repo/repo.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct snapshot s;
	struct buf again = BUF_INIT;

	memset(&s, 0, sizeof(s));
	if (snapshot_decode(data, size, &s, &c) != 0) {
		FUZZ_ASSERT(s.host == NULL && s.paths == NULL);
		return 0;
	}
	FUZZ_ASSERT(s.host && s.user && s.program);
	for (size_t i = 0; i < s.npaths; i++)
		FUZZ_ASSERT(s.paths[i] != NULL);
	FUZZ_ASSERT(snapshot_encode(&s, &again) == 0);
	FUZZ_ASSERT(again.len == size && memcmp(again.data, data, size) == 0);
	buf_release(&again);
	snapshot_release(&s);
	return 0;
}
