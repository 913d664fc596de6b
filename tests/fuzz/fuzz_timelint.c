/* An ntp.conf or chrony.conf handed to `mamori time lint`. */
#include <string.h>

#include "fuzz.h"
#include "timesync/timesync.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct ts_lint l = TS_LINT_INIT;

	for (int hint = TS_CONF_UNKNOWN; hint <= TS_CONF_CHRONY; hint++) {
		FUZZ_ASSERT(ts_lint_text((const char *)data, size, (enum ts_conf_kind)hint, &l,
					 &c) == 0);
		FUZZ_ASSERT(l.n > 0 || l.kind != TS_CONF_UNKNOWN);
		for (size_t i = 1; i < l.n; i++) {
			unsigned a = l.f[i - 1].line ? l.f[i - 1].line : UINT32_MAX;
			unsigned b = l.f[i].line ? l.f[i].line : UINT32_MAX;
			FUZZ_ASSERT(a <= b);
			FUZZ_ASSERT(strlen(l.f[i].msg) < sizeof(l.f[i].msg));
		}
		FUZZ_ASSERT(ts_lint_worst(&l) >= 0 && ts_lint_worst(&l) <= 2);
		ts_lint_release(&l);
		l = (struct ts_lint)TS_LINT_INIT;
	}
	return 0;
}
