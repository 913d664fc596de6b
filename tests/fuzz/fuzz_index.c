/* Index object plaintext (section 7), into an empty and a non-empty index. */
#include <string.h>

#include "fuzz.h"
#include "repo/repo.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct index ix;
	size_t n1;

	index_init(&ix);
	if (index_decode(&ix, data, size, &c) == 0) {
		/* Every entry decoded is found again where it was put. */
		for (size_t i = 0; i < ix.n; i++) {
			const struct index_entry *en = index_entry_at(&ix, i);
			struct blob_loc loc;
			FUZZ_ASSERT(index_find(&ix, &en->id, &loc) == 0);
			FUZZ_ASSERT((loc.pack & 0x7fffffffu) < ix.npacks);
		}
		/* A second copy adds packs but no blob twice. */
		n1 = ix.n;
		FUZZ_ASSERT(index_decode(&ix, data, size, &c) == 0);
		FUZZ_ASSERT(ix.n == n1);
	}
	index_release(&ix);
	return 0;
}
