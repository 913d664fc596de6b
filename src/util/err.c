/* Error codes, their descriptions, and the error context. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

const char *
mm_strerror(int code)
{
	switch (code) {
	case MM_OK:
		return "success";
	case MM_ENOMEM:
		return "out of memory";
	case MM_EIO:
		return "input/output error";
	case MM_EINVAL:
		return "invalid argument";
	case MM_ECORRUPT:
		return "repository data is corrupt";
	case MM_EAUTH:
		return "authentication failed (data was altered or corrupted)";
	case MM_ENOREPO:
		return "no repository at this location";
	case MM_ELOCKED:
		return "repository is locked";
	case MM_EPASSWORD:
		return "wrong password (no key matches)";
	case MM_ENOENT:
		return "not found";
	case MM_ENOSPC:
		return "no space left on device";
	case MM_ELIMIT:
		return "size limit exceeded";
	case MM_EEXIST:
		return "already exists";
	case MM_EUNSUPPORTED:
		return "unsupported format version or feature";
	case MM_ECRYPTO:
		return "cryptographic library failure";
	case MM_EPERM:
		return "permission denied";
	case MM_EUNSAFE:
		return "path escapes the restore target";
	case MM_EAMBIGUOUS:
		return "ambiguous snapshot prefix";
	case MM_EINTR:
		return "interrupted";
	case MM_ECONFIG:
		return "configuration error";
	case MM_ECHILD:
		return "a command failed";
	case MM_EBUSY:
		return "already running";
	case MM_EVERIFY:
		return "restored data differs from the snapshot";
	case MM_ETIMEDOUT:
		return "connection timed out";
	case MM_ECONNREFUSED:
		return "connection refused";
	case MM_ERESOLVE:
		return "host name not resolved";
	case MM_ETLS:
		return "TLS failure";
	case MM_ETAMPER:
		return "the ledger does not verify (altered, removed or inserted records)";
	case MM_ETORN:
		return "the ledger ends in a torn record (crash during an append)";
	case MM_ESIG:
		return "signature does not verify";
	case MM_EDENIED:
		return "access denied by the remote side";
	case MM_ESKEW:
		return "the local clock is too far off for the remote side";
	case MM_EREMOTE:
		return "the remote side reported an error";
	case MM_ESTALELOCK:
		return "repository locked by a stale lock";
	case MM_ENOSNAPSHOT:
		return "no such snapshot";
	case MM_ENOPATH:
		return "no such path in the snapshot";
	case MM_EVERSION:
		return "format version not supported by this mamori";
	case MM_EACCESS:
		return "repository not accessible to this user";
	case MM_EHOSTKEY:
		return "the remote host key is unknown or has changed";
	case MM_ECONNLOST:
		return "the connection dropped";
	case MM_EPROTOCOL:
		return "the remote side broke the protocol";
	case MM_EKEYSDIFFER:
		return "the repositories do not share chunker parameters and ID key";
	case MM_ENOBUCKET:
		return "the bucket does not exist";
	case MM_ESIGNATURE:
		return "signature rejected (wrong secret key)";
	case MM_EREMOTEFULL:
		return "the remote store is full";
	default:
		return "unknown error";
	}
}

int
mm_from_errno(int e)
{
	switch (e) {
	case ENOMEM:
		return MM_ENOMEM;
	case ENOSPC:
#ifdef EDQUOT
	case EDQUOT:
#endif
		return MM_ENOSPC;
	case ENOENT:
		return MM_ENOENT;
	case EACCES:
	case EPERM:
	case EROFS:
		return MM_EPERM;
	case EEXIST:
		return MM_EEXIST;
	case EINTR:
		return MM_EINTR;
	case ETIMEDOUT:
		return MM_ETIMEDOUT;
	case ECONNREFUSED:
		return MM_ECONNREFUSED;
	default:
		return MM_EIO;
	}
}

int
mm_fail(struct mm_ctx *c, int code, const char *fmt, ...)
{
	va_list ap;

	if (c == NULL)
		return code;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* Returns mm_from_errno(e): the errno value itself is not an MM_E* code. */
int
mm_fail_errno(struct mm_ctx *c, int e, const char *fmt, ...)
{
	char ebuf[256];
	const char *es;
	va_list ap;
	size_t len;

	if (c == NULL)
		return mm_from_errno(e);
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	es = strerror_r(e, ebuf, sizeof(ebuf)); /* GNU variant (_GNU_SOURCE) */
	len = strlen(c->msg);
	if (len < sizeof(c->msg))
		snprintf(c->msg + len, sizeof(c->msg) - len, ": %s", es);
	return mm_from_errno(e);
}

int
mm_prefix(struct mm_ctx *c, int code, const char *fmt, ...)
{
	char old[sizeof(c->msg)];
	va_list ap;
	size_t len;

	if (c == NULL)
		return code;
	memcpy(old, c->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	if (old[0] != '\0') {
		len = strlen(c->msg);
		snprintf(c->msg + len, sizeof(c->msg) - len, ": %s", old);
	}
	return code;
}
