/* Tree blob plaintext (section 8): what restore and check walk. */
#include <string.h>

#include "fuzz.h"
#include "repo/repo.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct tree t = TREE_INIT;
	struct buf again = BUF_INIT;

	if (tree_decode(data, size, &t, &c) != 0) {
		FUZZ_ASSERT(t.nodes == NULL && t.n == 0);
		return 0;
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct node *n = &t.nodes[i];
		FUZZ_ASSERT(n->name_len > 0 && memchr(n->name, '/', n->name_len) == NULL &&
			    memchr(n->name, '\0', n->name_len) == NULL);
		FUZZ_ASSERT(!(n->name_len == 1 && n->name[0] == '.'));
		FUZZ_ASSERT(!(n->name_len == 2 && n->name[0] == '.' && n->name[1] == '.'));
		FUZZ_ASSERT(n->ncontent == 0 || n->type == NODE_FILE);
		FUZZ_ASSERT(tree_find(&t, n->name, n->name_len) == n);
		for (size_t j = 0; j < n->nxattrs; j++)
			FUZZ_ASSERT(n->xattrs[j].name != NULL && n->xattrs[j].value != NULL);
	}
	FUZZ_ASSERT(tree_encode(&t, &again) == 0);
	FUZZ_ASSERT(again.len == size && memcmp(again.data, data, size) == 0);
	buf_release(&again);
	tree_release(&t);
	return 0;
}
