/*
 * sftp: the connection layer of the SFTP backend: ssh started with
 * posix_spawn, SFTP packets over its standard input and output with a
 * deadline on every wait, the pool of connections, single requests, and
 * what ssh's words mean (see sftp.c for the backend's operations).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/backend_internal.h"
#include "backend/sftp_internal.h"

extern char **environ;

double
sftp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- ssh's standard error --------------------------------------------------- */

/* Read what ssh wrote on standard error, keeping the last SFTP_ERRTAIL bytes. */
static void
drain_err(struct sftp_conn *k)
{
	char tmp[1024];
	ssize_t got;

	if (k->err < 0)
		return;
	while ((got = read(k->err, tmp, sizeof(tmp))) > 0) {
		size_t g = (size_t)got; /* < sizeof(k->errtxt) */

		if (k->errlen + g > sizeof(k->errtxt)) {
			size_t drop = k->errlen + g - sizeof(k->errtxt);
			memmove(k->errtxt, k->errtxt + drop, k->errlen - drop);
			k->errlen -= drop;
		}
		memcpy(k->errtxt + k->errlen, tmp, g);
		k->errlen += g;
	}
	if (got == 0) {
		close(k->err);
		k->err = -1;
	}
}

/* Wait up to secs for ssh to exit (reading its last words), then make it. */
static void
reap(struct sftp_conn *k, double secs)
{
	double end = sftp_now() + secs;
	int st;

	if (k->pid <= 0)
		return;
	for (;;) {
		pid_t w = waitpid(k->pid, &st, WNOHANG);
		if (w == k->pid || (w < 0 && errno != EINTR))
			break;
		if (sftp_now() >= end) {
			kill(k->pid, SIGKILL);
			while (waitpid(k->pid, &st, 0) < 0 && errno == EINTR)
				;
			break;
		}
		if (k->err >= 0) {
			struct pollfd p = { k->err, POLLIN, 0 };
			if (poll(&p, 1, 20) > 0)
				drain_err(k);
		} else {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	k->pid = -1;
	drain_err(k);
}

void
sftp_conn_free(struct sftp_conn *k)
{
	if (k == NULL)
		return;
	if (k->sk >= 0)
		close(k->sk); /* ssh sees the end of its input and exits */
	k->sk = -1;
	reap(k, 2.0);
	if (k->err >= 0)
		close(k->err);
	buf_release(&k->rx);
	buf_release(&k->tx);
	free(k);
}

/*
 * The connection failed (EOF, reset): let ssh finish, read why, and set
 * the error. Returns the code.
 */
static int
conn_died(struct sftp_be *sb, struct sftp_conn *k, struct mm_ctx *c)
{
	char why[512];
	int code;

	k->broken = 1;
	if (k->ready)
		atomic_store(&sb->lost, 1);
	if (k->sk >= 0) {
		close(k->sk);
		k->sk = -1;
	}
	reap(k, 3.0);
	code = sftp_ssh_diagnose(k->errtxt, k->errlen, why, sizeof(why));
	switch (code) {
	case MM_ERESOLVE:
		return mm_fail(c, code, "sftp %s: host name %s not resolved (check the name, "
			       "DNS or /etc/hosts) (ssh: %s)", sb->desc, sb->loc.host, why);
	case MM_ECONNREFUSED:
		return mm_fail(c, code, "sftp %s: connection refused or host unreachable (is sshd "
			       "running on that port? a firewall?) (ssh: %s)", sb->desc, why);
	case MM_ETIMEDOUT:
		return mm_fail(c, code, "sftp %s: connection timed out (a firewall dropping "
			       "packets, or a server that does not answer) (ssh: %s)", sb->desc, why);
	case MM_EHOSTKEY:
		if (strstr(k->errtxt, "CHANGED") != NULL || strstr(why, "CHANGED") != NULL)
			return mm_fail(c, code, "sftp %s: the host key of %s has CHANGED since it "
				       "was recorded in known_hosts: someone may be intercepting "
				       "the connection, or the server was reinstalled; check with "
				       "its administrator before removing the old key "
				       "(ssh-keygen -R HOST) (ssh: %s)", sb->desc, sb->loc.host, why);
		return mm_fail(c, code, "sftp %s: the host key of %s is not known: connect once "
			       "with 'ssh %s' and check the fingerprint, or add the key to "
			       "known_hosts (ssh: %s)", sb->desc, sb->loc.host, sb->loc.host, why);
	case MM_EDENIED:
		return mm_fail(c, code, "sftp %s: permission denied: the server refused the login "
			       "(wrong user, or no key of ours in its authorized_keys; mamori runs "
			       "ssh with BatchMode=yes, so it uses keys and agents, never a "
			       "password prompt) (ssh: %s)", sb->desc, why);
	case MM_EREMOTE:
		return mm_fail(c, code, "sftp %s: the server offers no SFTP subsystem "
			       "(Subsystem sftp in its sshd_config) (ssh: %s)", sb->desc, why);
	default:
		return mm_fail(c, MM_ECONNLOST, "sftp %s: the connection dropped%s%s%s", sb->desc,
			       why[0] ? " (ssh: " : "", why, why[0] ? ")" : "");
	}
}

static int
conn_timeout(struct sftp_be *sb, struct sftp_conn *k, struct mm_ctx *c)
{
	k->broken = 1;
	if (k->pid > 0)
		kill(k->pid, SIGTERM);
	return mm_fail(c, MM_ETIMEDOUT, "sftp %s: no answer from the server within %d s (a "
		       "stuck server or network; a slow link may need -o sftp.timeout=SECONDS)",
		       sb->desc, k->ready ? sb->timeout : 2 * sb->timeout + 5);
}

/* ---- packets ------------------------------------------------------------------ */

/* Wait for fd to be ready for ev (reading ssh's stderr meanwhile). */
static int
wait_fd(struct sftp_be *sb, struct sftp_conn *k, short ev, double deadline, struct mm_ctx *c)
{
	for (;;) {
		struct pollfd p[2] = { { k->sk, ev, 0 }, { k->err, POLLIN, 0 } };
		double left = deadline - sftp_now();
		int n;

		if (left <= 0)
			return conn_timeout(sb, k, c);
		n = poll(p, k->err >= 0 ? 2 : 1, (int)(left * 1000) + 1);
		if (n < 0 && errno != EINTR)
			return mm_fail_errno(c, errno, "sftp %s: poll", sb->desc);
		if (n > 0 && k->err >= 0 && (p[1].revents & (POLLIN | POLLHUP)))
			drain_err(k);
		if (n > 0 && p[0].revents != 0)
			return 0;
	}
}

static int
conn_send(struct sftp_be *sb, struct sftp_conn *k, const uint8_t *p, size_t n, struct mm_ctx *c)
{
	double deadline = sftp_now() + sb->timeout;
	int r;

	if (k->broken)
		return mm_fail(c, MM_ECONNLOST, "sftp %s: the connection dropped", sb->desc);
	while (n > 0) {
		ssize_t w = send(k->sk, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			if ((r = wait_fd(sb, k, POLLOUT, deadline, c)) != 0)
				return r;
			continue;
		}
		return conn_died(sb, k, c);
	}
	return 0;
}

int
sftp_send_tx(struct sftp_be *sb, struct sftp_conn *k, struct mm_ctx *c)
{
	int r;

	if ((r = sftp_put_end(&k->tx)) != 0)
		return mm_fail(c, r, "sftp %s: request too large", sb->desc);
	return conn_send(sb, k, k->tx.data, k->tx.len, c);
}

/* Make rx hold at least want bytes. */
static int
conn_fill(struct sftp_be *sb, struct sftp_conn *k, size_t want, double deadline,
	  struct mm_ctx *c)
{
	int r;

	while (k->rx.len < want) {
		ssize_t got;

		if ((r = buf_reserve(&k->rx, 64 * 1024)) != 0)
			return mm_fail(c, r, "out of memory");
		got = recv(k->sk, k->rx.data + k->rx.len, k->rx.cap - k->rx.len, MSG_DONTWAIT);
		if (got > 0) {
			k->rx.len += (size_t)got;
			continue;
		}
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			if ((r = wait_fd(sb, k, POLLIN, deadline, c)) != 0)
				return r;
			continue;
		}
		return conn_died(sb, k, c);
	}
	return 0;
}

/* The next reply; its pointers are valid until the next call. */
int
sftp_recv(struct sftp_be *sb, struct sftp_conn *k, struct sftp_reply *rep, struct mm_ctx *c)
{
	/* Before the first reply ssh is still connecting and logging in: its
	 * own ConnectTimeout (the same bound) fires first and says why. */
	double deadline = sftp_now() + (k->ready ? sb->timeout : 2.0 * sb->timeout + 5);
	uint32_t len;
	int r;

	if (k->broken)
		return mm_fail(c, MM_ECONNLOST, "sftp %s: the connection dropped", sb->desc);
	if (k->consumed > 0) {
		memmove(k->rx.data, k->rx.data + k->consumed, k->rx.len - k->consumed);
		k->rx.len -= k->consumed;
		k->consumed = 0;
	}
	if ((r = conn_fill(sb, k, 4, deadline, c)) != 0)
		return r;
	if (sftp_frame_len(k->rx.data, SFTP_PACKET_MAX, &len) != 0) {
		k->broken = 1;
		return mm_fail(c, MM_EPROTOCOL, "sftp %s: the server sent a packet of %u bytes "
			       "(at most %u are allowed): not an SFTP server, or something "
			       "printed by a login script", sb->desc,
			       (unsigned)((uint32_t)k->rx.data[0] << 24 | (uint32_t)k->rx.data[1] << 16 |
					  (uint32_t)k->rx.data[2] << 8 | k->rx.data[3]),
			       SFTP_PACKET_MAX);
	}
	if ((r = conn_fill(sb, k, 4 + (size_t)len, deadline, c)) != 0)
		return r;
	k->consumed = 4 + (size_t)len;
	if ((r = sftp_reply_decode(k->rx.data + 4, len, rep, c)) != 0) {
		k->broken = 1;
		return mm_prefix(c, r, "sftp %s", sb->desc);
	}
	return 0;
}

uint32_t
sftp_new_id(struct sftp_conn *k)
{
	return ++k->next_id;
}

/* One request in k->tx (id given), one reply whose id must match. */
int
sftp_roundtrip(struct sftp_be *sb, struct sftp_conn *k, uint32_t id, struct sftp_reply *rep,
	       struct mm_ctx *c)
{
	int r;

	if ((r = sftp_send_tx(sb, k, c)) != 0 || (r = sftp_recv(sb, k, rep, c)) != 0)
		return r;
	if (rep->id != id) {
		k->broken = 1;
		return mm_fail(c, MM_EPROTOCOL, "sftp %s: the server answered request %u with "
			       "a reply to %u", sb->desc, id, rep->id);
	}
	return 0;
}

/* A STATUS reply as a code: 0 for OK. what/path name the request. */
int
sftp_status_err(struct sftp_be *sb, const struct sftp_reply *rep, const char *what,
		const char *path, struct mm_ctx *c)
{
	char tmp[32];
	const char *sn;
	int code;

	if (rep->type != SFTP_STATUS)
		return mm_fail(c, MM_EPROTOCOL, "sftp %s: %s %s: unexpected reply of type %u",
			       sb->desc, what, path, rep->type);
	switch (rep->status) {
	case SFTP_FX_OK: return 0;
	case SFTP_FX_EOF: code = MM_ENOENT; break;
	case SFTP_FX_NO_SUCH_FILE: code = MM_ENOENT; break;
	case SFTP_FX_PERMISSION_DENIED: code = MM_EPERM; break;
	case SFTP_FX_OP_UNSUPPORTED: code = MM_EUNSUPPORTED; break;
	case SFTP_FX_NO_CONNECTION:
	case SFTP_FX_CONNECTION_LOST: code = MM_ECONNLOST; break;
	default: code = MM_EREMOTE; break;
	}
	sn = sftp_status_name(rep->status, tmp, sizeof(tmp));
	if (rep->msg_len > 0 && !(rep->msg_len == strlen(sn) && strncasecmp((const char *)rep->msg,
									      sn, rep->msg_len) == 0))
		return mm_fail(c, code, "sftp %s: %s %s: %s (server: %.*s)", sb->desc, what, path,
			       sn, (int)(rep->msg_len > 200 ? 200 : rep->msg_len),
			       (const char *)rep->msg);
	return mm_fail(c, code, "sftp %s: %s %s: %s", sb->desc, what, path, sn);
}

/* ---- connections ---------------------------------------------------------------- */

static int
conn_open(struct sftp_be *sb, struct sftp_conn **out, struct mm_ctx *c)
{
	struct sftp_conn *k;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	struct sftp_reply rep;
	int sv[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int r, e;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	k->sk = k->err = -1;
	k->pid = -1;
	buf_init(&k->rx, 2 * SFTP_PACKET_MAX + 64 * 1024);
	buf_init(&k->tx, SFTP_PACKET_MAX + 4);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe2(ep, O_CLOEXEC) != 0) {
		r = mm_fail_errno(c, errno, "sftp %s: cannot make pipes for ssh", sb->desc);
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
	posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	/* Its own process group: a Ctrl-C reaches mamori, which then closes
	 * the connection, rather than killing ssh under it. */
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
				 POSIX_SPAWN_SETPGROUP);
	e = posix_spawnp(&k->pid, sb->argv[0], &fa, &at, sb->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(sv[1]);
	close(ep[1]);
	sv[1] = ep[1] = -1;
	k->sk = sv[0];
	k->err = ep[0];
	sv[0] = ep[0] = -1;
	if (e != 0) {
		k->pid = -1;
		r = mm_fail(c, e == ENOENT ? MM_ENOENT : MM_EIO, "sftp %s: cannot run '%s': %s%s",
			    sb->desc, sb->argv[0], strerror(e),
			    e == ENOENT ? " (install the OpenSSH client: apt-get install "
			    "openssh-client)" : "");
		goto out;
	}
	(void)fcntl(k->err, F_SETFL, O_NONBLOCK);
	/* INIT carries our version where other requests carry an id. */
	if ((r = sftp_put_begin(&k->tx, SFTP_INIT, 0)) != 0 || (r = sftp_put_u32(&k->tx, 3)) != 0) {
		r = mm_fail(c, r, "out of memory");
		goto out;
	}
	if ((r = sftp_send_tx(sb, k, c)) != 0 || (r = sftp_recv(sb, k, &rep, c)) != 0)
		goto out;
	if (rep.type != SFTP_VERSION || rep.version < 3) {
		r = mm_fail(c, MM_EPROTOCOL, "sftp %s: the server does not speak SFTP version 3 "
			    "(reply type %u, version %u)", sb->desc, rep.type, rep.version);
		goto out;
	}
	k->ext = rep.ext;
	k->ready = 1;
	*out = k;
	k = NULL;
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	sftp_conn_free(k);
	return r;
}

int
sftp_conn_get(struct sftp_be *sb, struct sftp_conn **out, struct mm_ctx *c)
{
	int r;

	pthread_mutex_lock(&sb->mu);
	for (;;) {
		if (sb->idle != NULL) {
			*out = sb->idle;
			sb->idle = sb->idle->next;
			pthread_mutex_unlock(&sb->mu);
			return 0;
		}
		if (sb->nconns < sb->max_conns)
			break;
		pthread_cond_wait(&sb->cv, &sb->mu);
	}
	sb->nconns++;
	pthread_mutex_unlock(&sb->mu);
	if ((r = conn_open(sb, out, c)) != 0) {
		pthread_mutex_lock(&sb->mu);
		sb->nconns--;
		pthread_cond_signal(&sb->cv);
		pthread_mutex_unlock(&sb->mu);
	}
	return r;
}

void
sftp_conn_put(struct sftp_be *sb, struct sftp_conn *k)
{
	if (k == NULL)
		return;
	if (k->broken) {
		sftp_conn_free(k);
		pthread_mutex_lock(&sb->mu);
		sb->nconns--;
	} else {
		pthread_mutex_lock(&sb->mu);
		k->next = sb->idle;
		sb->idle = k;
	}
	pthread_cond_signal(&sb->cv);
	pthread_mutex_unlock(&sb->mu);
}

/* ---- requests --------------------------------------------------------------------- */

/* A request with one path argument, expecting STATUS OK. */
int
sftp_rq_path(struct sftp_be *sb, struct sftp_conn *k, uint8_t type, const char *path,
	     const char *what, int with_dir_attrs, struct sftp_reply *rep, struct mm_ctx *c)
{
	uint32_t id = sftp_new_id(k);
	int r;

	if ((r = sftp_put_begin(&k->tx, type, id)) != 0 || (r = sftp_put_cstr(&k->tx, path)) != 0 ||
	    (with_dir_attrs && (r = sftp_put_perm_attrs(&k->tx, SFTP_DIR_MODE)) != 0))
		return mm_fail(c, r, "sftp %s: request too large", sb->desc);
	if ((r = sftp_roundtrip(sb, k, id, rep, c)) != 0)
		return r;
	if (rep->type == SFTP_STATUS || (type != SFTP_STAT && type != SFTP_LSTAT &&
					 type != SFTP_OPENDIR))
		return sftp_status_err(sb, rep, what, path, c);
	return 0;
}

int
sftp_rq_stat(struct sftp_be *sb, struct sftp_conn *k, const char *path, struct sftp_attrs *a,
	     struct mm_ctx *c)
{
	struct sftp_reply rep;
	int r;

	if ((r = sftp_rq_path(sb, k, SFTP_STAT, path, "stat", 0, &rep, c)) != 0)
		return r;
	if (rep.type != SFTP_ATTRS)
		return mm_fail(c, MM_EPROTOCOL, "sftp %s: stat %s: unexpected reply type %u",
			       sb->desc, path, rep.type);
	*a = rep.attrs;
	return 0;
}

/* Open a file; handle (≤ SFTP_HANDLE_MAX) copied to h. */
int
sftp_rq_open(struct sftp_be *sb, struct sftp_conn *k, const char *path, uint32_t pflags,
	     uint8_t *h, size_t *hlen, struct mm_ctx *c)
{
	struct sftp_reply rep;
	uint32_t id = sftp_new_id(k);
	int r;

	if ((r = sftp_put_begin(&k->tx, SFTP_OPEN, id)) != 0 ||
	    (r = sftp_put_cstr(&k->tx, path)) != 0 || (r = sftp_put_u32(&k->tx, pflags)) != 0 ||
	    (r = (pflags & SFTP_FXF_CREAT) ? sftp_put_perm_attrs(&k->tx, SFTP_FILE_MODE)
					   : sftp_put_u32(&k->tx, 0)) != 0)
		return mm_fail(c, r, "sftp %s: request too large", sb->desc);
	if ((r = sftp_roundtrip(sb, k, id, &rep, c)) != 0)
		return r;
	if (rep.type != SFTP_HANDLE) {
		if ((r = sftp_status_err(sb, &rep, "open", path, c)) != 0)
			return r;
		return mm_fail(c, MM_EPROTOCOL, "sftp %s: open %s: the server said OK without "
			       "a handle", sb->desc, path);
	}
	memcpy(h, rep.data, rep.data_len);
	*hlen = rep.data_len;
	return 0;
}

int
sftp_rq_handle(struct sftp_be *sb, struct sftp_conn *k, uint8_t type, const char *ext,
	       const uint8_t *h, size_t hlen, struct sftp_reply *rep, struct mm_ctx *c)
{
	uint32_t id = sftp_new_id(k);
	int r;

	if ((r = sftp_put_begin(&k->tx, type, id)) != 0 ||
	    (ext != NULL && (r = sftp_put_cstr(&k->tx, ext)) != 0) ||
	    (r = sftp_put_string(&k->tx, h, hlen)) != 0)
		return mm_fail(c, r, "sftp %s: request too large", sb->desc);
	return sftp_roundtrip(sb, k, id, rep, c);
}

int
sftp_rq_close(struct sftp_be *sb, struct sftp_conn *k, const uint8_t *h, size_t hlen,
	      const char *path, struct mm_ctx *c)
{
	struct sftp_reply rep;
	int r;

	if ((r = sftp_rq_handle(sb, k, SFTP_CLOSE, NULL, h, hlen, &rep, c)) != 0)
		return r;
	return sftp_status_err(sb, &rep, "close", path, c);
}

int
sftp_rq_rename(struct sftp_be *sb, struct sftp_conn *k, const char *from, const char *to,
	       int replace, struct mm_ctx *c)
{
	struct sftp_reply rep;
	uint32_t id = sftp_new_id(k);
	int posix = replace && (k->ext & SFTP_EXT_POSIX_RENAME);
	int r;

	if ((r = sftp_put_begin(&k->tx, posix ? SFTP_EXTENDED : SFTP_RENAME, id)) != 0 ||
	    (posix && (r = sftp_put_cstr(&k->tx, "posix-rename@openssh.com")) != 0) ||
	    (r = sftp_put_cstr(&k->tx, from)) != 0 || (r = sftp_put_cstr(&k->tx, to)) != 0)
		return mm_fail(c, r, "sftp %s: request too large", sb->desc);
	if ((r = sftp_roundtrip(sb, k, id, &rep, c)) != 0)
		return r;
	return sftp_status_err(sb, &rep, "rename to", to, c);
}

/* Free space in the folder of path, for the diagnosis of a failed write;
 * -1 when the server cannot say. */
int64_t
sftp_free_space(struct sftp_be *sb, struct sftp_conn *k, const char *dir)
{
	struct mm_ctx ignore = MM_CTX_INIT;
	struct sftp_reply rep;
	struct sftp_statvfs v;
	uint32_t id;

	if (!(k->ext & SFTP_EXT_STATVFS) || k->broken)
		return -1;
	id = sftp_new_id(k);
	if (sftp_put_begin(&k->tx, SFTP_EXTENDED, id) != 0 ||
	    sftp_put_cstr(&k->tx, "statvfs@openssh.com") != 0 || sftp_put_cstr(&k->tx, dir) != 0 ||
	    sftp_roundtrip(sb, k, id, &rep, &ignore) != 0 ||
	    sftp_statvfs_decode(&rep, &v, &ignore) != 0)
		return -1;
	if (v.frsize != 0 && v.bavail > (uint64_t)INT64_MAX / v.frsize)
		return INT64_MAX;
	return (int64_t)(v.bavail * (v.frsize ? v.frsize : v.bsize));
}
