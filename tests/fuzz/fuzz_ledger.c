/* A ledger file (docs/ledger.md): read from a state directory or an export
 * that anyone with write access may have edited. Splitting, verifying and
 * decoding never crash; a record that decodes encodes to the same bytes. */
#include <string.h>

#include "fuzz.h"
#include "ledger/ledger.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct ledger_verify v;
	struct ledger_scan s;
	struct ledger_rec *recs = NULL;
	size_t n = 0, i;
	uint64_t end = 0;

	FUZZ_ASSERT(ledger_verify_bytes(data, size, NULL, NULL, &v, &c) == 0);
	FUZZ_ASSERT(v.records <= size / LEDGER_FRAME_OVERHEAD);
	FUZZ_ASSERT((v.nf == 0) == (ledger_verify_verdict(&v) == 0));
	ledger_verify_release(&v);
	FUZZ_ASSERT(ledger_scan_bytes(data, size, &s) == 0);
	for (i = 0; i < s.n; i++) {
		FUZZ_ASSERT(s.items[i].off == end && s.items[i].len <= LEDGER_BODY_MAX);
		end = s.items[i].off + s.items[i].len + LEDGER_FRAME_OVERHEAD;
	}
	FUZZ_ASSERT(s.good_end == end && end <= size);
	ledger_scan_release(&s);
	FUZZ_ASSERT(ledger_records(data, size, &recs, &n, &c) == 0);
	for (i = 0; i < n; i++) {
		struct buf again = BUF_INIT;

		FUZZ_ASSERT(ledger_rec_encode(&recs[i], &again) == 0);
		FUZZ_ASSERT(again.len <= LEDGER_BODY_MAX);
		buf_release(&again);
	}
	ledger_records_free(recs, n);
	/* The bytes as one record body. */
	{
		struct ledger_rec r = LEDGER_REC_INIT;
		struct buf again = BUF_INIT;

		if (ledger_rec_decode(data, size, &r, &c) == 0) {
			FUZZ_ASSERT(ledger_rec_encode(&r, &again) == 0);
			FUZZ_ASSERT(again.len == size && memcmp(again.data, data, size) == 0);
			buf_release(&again);
			ledger_rec_release(&r);
		}
	}
	return 0;
}
