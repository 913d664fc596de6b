/* A checkpoint note (docs/ledger.md): read from repositories, where anyone
 * with write access to the storage may have put it. Parsing never crashes,
 * and a parsed note keeps its bytes and a signed part inside them. */
#include <string.h>

#include "fuzz.h"
#include "ledger/ledger.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct ledger_ckpt cp;
	char name[65];

	if (ledger_ckpt_parse(data, size, &cp, &c) != 0)
		return 0;
	FUZZ_ASSERT(cp.note.len == size && memcmp(cp.note.data, data, size) == 0);
	FUZZ_ASSERT(cp.body_len > 0 && cp.body_len < size);
	FUZZ_ASSERT(strncmp(cp.origin, "mamori.ledger/", 14) == 0);
	ledger_ckpt_name(&cp, name);
	FUZZ_ASSERT(strlen(name) == 64);
	ledger_ckpt_release(&cp);
	return 0;
}
