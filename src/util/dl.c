/* Libraries a command loads when it needs them (util.h, mm_dl_load). */
#include <dlfcn.h>

#include "util/util.h"

int
mm_dl_load(const char *soname, const char *package, const char *const *names, size_t n,
	   void **fns, struct mm_ctx *c)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	const char *why;

	if (h == NULL) {
		why = dlerror();
		return mm_fail(c, MM_EUNSUPPORTED, "cannot load %s (%s): install the %s package",
			       soname, why ? why : "not found", package);
	}
	for (size_t i = 0; i < n; i++) {
		if ((fns[i] = dlsym(h, names[i])) == NULL) {
			why = dlerror();
			return mm_fail(c, MM_EUNSUPPORTED, "%s has no %s (%s): install the %s "
				       "package of Debian 12", soname, names[i], why ? why : "?",
				       package);
		}
	}
	return 0;
}
