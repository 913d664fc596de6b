/*
 * sftp: a repository in a folder on another machine, reached through the
 * system's own ssh client speaking SFTP version 3 on its standard input
 * and output (`ssh -s HOST sftp`), so ~/.ssh/config, agents, known_hosts
 * and jump hosts work exactly as for the user's own ssh. ssh does all the
 * cryptography; this file only frames SFTP requests (sftp_proto.c).
 *
 * Several threads: each operation borrows one connection (one ssh
 * process) from a small pool, opened on demand up to sftp.connections,
 * and sends its requests pipelined (reads and writes of 32 KiB, up to
 * SFTP_WINDOW in flight). A connection that failed is closed, never
 * reused.
 *
 * Every wait for the server has a deadline (sftp.timeout seconds, also
 * given to ssh as ConnectTimeout and ServerAliveInterval); a failure is
 * named from what ssh printed (sftp_ssh_diagnose).
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

#define SFTP_FILE_MODE 0600
#define SFTP_DIR_MODE 0700
#define SFTP_WINDOW 32            /* requests in flight in one read or write */
#define SFTP_TIMEOUT_DEFAULT 60   /* seconds */
#define SFTP_CONNS_DEFAULT 4
#define SFTP_CONNS_MAX 32
#define SFTP_ERRTAIL 4096         /* what we keep of ssh's standard error */
#define SFTP_ARGV_MAX 64

struct sftp_conn {
	pid_t pid;
	int sk;            /* our end of ssh's standard input and output */
	int err;           /* ssh's standard error */
	uint32_t next_id;
	unsigned ext;      /* SFTP_EXT_* */
	int broken;        /* failed: closed when given back */
	int ready;         /* the VERSION reply came */
	struct buf rx;     /* received bytes; a packet starts at 0 */
	size_t consumed;   /* bytes of rx the last reply used */
	struct buf tx;
	char errtxt[SFTP_ERRTAIL];
	size_t errlen;
	struct sftp_conn *next;
};

struct sftp_be {
	struct backend be; /* first */
	struct sftp_location loc;
	char *argv[SFTP_ARGV_MAX + 1];
	char *words;       /* storage of the words of sftp.command / sftp.args */
	char *desc;        /* "user@host:path" for messages */
	int timeout;       /* seconds */
	unsigned max_conns;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sftp_conn *idle;
	unsigned nconns;   /* open or being opened */
	_Atomic uint64_t tmpseq;
};

static struct sftp_be *
sftp_of(struct backend *be)
{
	return (struct sftp_be *)be;
}

static double
now_mono(void)
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
	double end = now_mono() + secs;
	int st;

	if (k->pid <= 0)
		return;
	for (;;) {
		pid_t w = waitpid(k->pid, &st, WNOHANG);
		if (w == k->pid || (w < 0 && errno != EINTR))
			break;
		if (now_mono() >= end) {
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

static void
conn_free(struct sftp_conn *k)
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
		double left = deadline - now_mono();
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
	double deadline = now_mono() + sb->timeout;
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

static int
send_tx(struct sftp_be *sb, struct sftp_conn *k, struct mm_ctx *c)
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
static int
conn_recv(struct sftp_be *sb, struct sftp_conn *k, struct sftp_reply *rep, struct mm_ctx *c)
{
	/* Before the first reply ssh is still connecting and logging in: its
	 * own ConnectTimeout (the same bound) fires first and says why. */
	double deadline = now_mono() + (k->ready ? sb->timeout : 2.0 * sb->timeout + 5);
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

static uint32_t
new_id(struct sftp_conn *k)
{
	return ++k->next_id;
}

/* One request in k->tx (id given), one reply whose id must match. */
static int
roundtrip(struct sftp_be *sb, struct sftp_conn *k, uint32_t id, struct sftp_reply *rep,
	  struct mm_ctx *c)
{
	int r;

	if ((r = send_tx(sb, k, c)) != 0 || (r = conn_recv(sb, k, rep, c)) != 0)
		return r;
	if (rep->id != id) {
		k->broken = 1;
		return mm_fail(c, MM_EPROTOCOL, "sftp %s: the server answered request %u with "
			       "a reply to %u", sb->desc, id, rep->id);
	}
	return 0;
}

/* A STATUS reply as a code: 0 for OK. what/path name the request. */
static int
status_err(struct sftp_be *sb, const struct sftp_reply *rep, const char *what,
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
	if ((r = send_tx(sb, k, c)) != 0 || (r = conn_recv(sb, k, &rep, c)) != 0)
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
	conn_free(k);
	return r;
}

static int
conn_get(struct sftp_be *sb, struct sftp_conn **out, struct mm_ctx *c)
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

static void
conn_put(struct sftp_be *sb, struct sftp_conn *k)
{
	if (k == NULL)
		return;
	if (k->broken) {
		conn_free(k);
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
static int
rq_path(struct sftp_be *sb, struct sftp_conn *k, uint8_t type, const char *path,
	const char *what, int with_dir_attrs, struct sftp_reply *rep, struct mm_ctx *c)
{
	uint32_t id = new_id(k);
	int r;

	if ((r = sftp_put_begin(&k->tx, type, id)) != 0 || (r = sftp_put_cstr(&k->tx, path)) != 0 ||
	    (with_dir_attrs && (r = sftp_put_perm_attrs(&k->tx, SFTP_DIR_MODE)) != 0))
		return mm_fail(c, r, "sftp %s: request too large", sb->desc);
	if ((r = roundtrip(sb, k, id, rep, c)) != 0)
		return r;
	if (rep->type == SFTP_STATUS || (type != SFTP_STAT && type != SFTP_LSTAT &&
					 type != SFTP_OPENDIR))
		return status_err(sb, rep, what, path, c);
	return 0;
}

static int
rq_stat(struct sftp_be *sb, struct sftp_conn *k, const char *path, struct sftp_attrs *a,
	struct mm_ctx *c)
{
	struct sftp_reply rep;
	int r;

	if ((r = rq_path(sb, k, SFTP_STAT, path, "stat", 0, &rep, c)) != 0)
		return r;
	if (rep.type != SFTP_ATTRS)
		return mm_fail(c, MM_EPROTOCOL, "sftp %s: stat %s: unexpected reply type %u",
			       sb->desc, path, rep.type);
	*a = rep.attrs;
	return 0;
}

/* Open a file; handle (≤ SFTP_HANDLE_MAX) copied to h. */
static int
rq_open(struct sftp_be *sb, struct sftp_conn *k, const char *path, uint32_t pflags,
	uint8_t *h, size_t *hlen, struct mm_ctx *c)
{
	struct sftp_reply rep;
	uint32_t id = new_id(k);
	int r;

	if ((r = sftp_put_begin(&k->tx, SFTP_OPEN, id)) != 0 ||
	    (r = sftp_put_cstr(&k->tx, path)) != 0 || (r = sftp_put_u32(&k->tx, pflags)) != 0 ||
	    (r = (pflags & SFTP_FXF_CREAT) ? sftp_put_perm_attrs(&k->tx, SFTP_FILE_MODE)
					   : sftp_put_u32(&k->tx, 0)) != 0)
		return mm_fail(c, r, "sftp %s: request too large", sb->desc);
	if ((r = roundtrip(sb, k, id, &rep, c)) != 0)
		return r;
	if (rep.type != SFTP_HANDLE) {
		if ((r = status_err(sb, &rep, "open", path, c)) != 0)
			return r;
		return mm_fail(c, MM_EPROTOCOL, "sftp %s: open %s: the server said OK without "
			       "a handle", sb->desc, path);
	}
	memcpy(h, rep.data, rep.data_len);
	*hlen = rep.data_len;
	return 0;
}

static int
rq_handle(struct sftp_be *sb, struct sftp_conn *k, uint8_t type, const char *ext,
	  const uint8_t *h, size_t hlen, struct sftp_reply *rep, struct mm_ctx *c)
{
	uint32_t id = new_id(k);
	int r;

	if ((r = sftp_put_begin(&k->tx, type, id)) != 0 ||
	    (ext != NULL && (r = sftp_put_cstr(&k->tx, ext)) != 0) ||
	    (r = sftp_put_string(&k->tx, h, hlen)) != 0)
		return mm_fail(c, r, "sftp %s: request too large", sb->desc);
	return roundtrip(sb, k, id, rep, c);
}

static int
rq_close(struct sftp_be *sb, struct sftp_conn *k, const uint8_t *h, size_t hlen,
	 const char *path, struct mm_ctx *c)
{
	struct sftp_reply rep;
	int r;

	if ((r = rq_handle(sb, k, SFTP_CLOSE, NULL, h, hlen, &rep, c)) != 0)
		return r;
	return status_err(sb, &rep, "close", path, c);
}

static int
rq_rename(struct sftp_be *sb, struct sftp_conn *k, const char *from, const char *to,
	  int replace, struct mm_ctx *c)
{
	struct sftp_reply rep;
	uint32_t id = new_id(k);
	int posix = replace && (k->ext & SFTP_EXT_POSIX_RENAME);
	int r;

	if ((r = sftp_put_begin(&k->tx, posix ? SFTP_EXTENDED : SFTP_RENAME, id)) != 0 ||
	    (posix && (r = sftp_put_cstr(&k->tx, "posix-rename@openssh.com")) != 0) ||
	    (r = sftp_put_cstr(&k->tx, from)) != 0 || (r = sftp_put_cstr(&k->tx, to)) != 0)
		return mm_fail(c, r, "sftp %s: request too large", sb->desc);
	if ((r = roundtrip(sb, k, id, &rep, c)) != 0)
		return r;
	return status_err(sb, &rep, "rename to", to, c);
}

/* Free space in the folder of path, for the diagnosis of a failed write;
 * -1 when the server cannot say. */
static int64_t
free_space(struct sftp_be *sb, struct sftp_conn *k, const char *dir)
{
	struct mm_ctx ignore = MM_CTX_INIT;
	struct sftp_reply rep;
	struct sftp_statvfs v;
	uint32_t id;

	if (!(k->ext & SFTP_EXT_STATVFS) || k->broken)
		return -1;
	id = new_id(k);
	if (sftp_put_begin(&k->tx, SFTP_EXTENDED, id) != 0 ||
	    sftp_put_cstr(&k->tx, "statvfs@openssh.com") != 0 || sftp_put_cstr(&k->tx, dir) != 0 ||
	    roundtrip(sb, k, id, &rep, &ignore) != 0 ||
	    sftp_statvfs_decode(&rep, &v, &ignore) != 0)
		return -1;
	if (v.frsize != 0 && v.bavail > (uint64_t)INT64_MAX / v.frsize)
		return INT64_MAX;
	return (int64_t)(v.bavail * (v.frsize ? v.frsize : v.bsize));
}

/* ---- paths ------------------------------------------------------------------------ */

static char *
join(const char *a, const char *b)
{
	size_t al = strlen(a), bl = strlen(b);
	int slash = al > 0 && a[al - 1] != '/';
	char *p = malloc(al + slash + bl + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, a, al);
	if (slash)
		p[al] = '/';
	memcpy(p + al + slash, b, bl + 1);
	return p;
}

static int
obj_path(struct sftp_be *sb, enum obj_type t, const char *name, char **out, struct mm_ctx *c)
{
	char *rel;
	int r;

	if ((r = backend_check_name(t, name, c)) != 0)
		return r;
	if ((rel = backend_obj_path(t, name)) == NULL || (*out = join(sb->loc.path, rel)) == NULL) {
		free(rel);
		return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	free(rel);
	return 0;
}

/* mkdir unless it exists as a folder. */
static int
ensure_dir(struct sftp_be *sb, struct sftp_conn *k, const char *dir, struct mm_ctx *c)
{
	struct sftp_reply rep;
	struct sftp_attrs a;
	struct mm_ctx first = MM_CTX_INIT;
	int r, r2;

	if ((r = rq_path(sb, k, SFTP_MKDIR, dir, "make folder", 1, &rep, &first)) == 0)
		return 0;
	if (k->broken) {
		memcpy(c, &first, sizeof(first));
		return r;
	}
	/* OpenSSH says "failure" when it exists. */
	if ((r2 = rq_stat(sb, k, dir, &a, c)) == 0 && (a.flags & SFTP_ATTR_PERMISSIONS) &&
	    S_ISDIR(a.perm))
		return 0;
	if (r2 == 0)
		return mm_fail(c, MM_EREMOTE, "sftp %s: %s exists and is not a folder", sb->desc, dir);
	memcpy(c, &first, sizeof(first));
	return r;
}

/* The folders an object of type t goes into: type folder, and data/XX. */
static int
ensure_obj_dirs(struct sftp_be *sb, struct sftp_conn *k, enum obj_type t, const char *name,
		struct mm_ctx *c)
{
	char *d1 = NULL, *d2 = NULL, xx[3] = { 0 };
	int r;

	if (t == OBJ_CONFIG)
		return ensure_dir(sb, k, sb->loc.path, c);
	if ((d1 = join(sb->loc.path, backend_type_dir(t))) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = ensure_dir(sb, k, d1, c)) != 0 || t != OBJ_PACK)
		goto out;
	xx[0] = name[0];
	xx[1] = name[1];
	if ((d2 = join(d1, xx)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	r = ensure_dir(sb, k, d2, c);
out:
	free(d1);
	free(d2);
	return r;
}

/* ---- the backend's operations ------------------------------------------------------ */

/* Pipelined WRITE requests for p[0..n) at offset 0. */
static int
write_all(struct sftp_be *sb, struct sftp_conn *k, const uint8_t *h, size_t hlen,
	  const void *p, size_t n, const char *path, struct mm_ctx *c)
{
	uint32_t first_id = k->next_id + 1;
	size_t sent = 0, inflight = 0;
	int r = 0, err = 0;
	struct mm_ctx firsterr = MM_CTX_INIT;

	while (sent < n || inflight > 0) {
		while (sent < n && inflight < SFTP_WINDOW && err == 0) {
			size_t chunk = n - sent < SFTP_IO_CHUNK ? n - sent : SFTP_IO_CHUNK;
			uint32_t id = new_id(k);

			if ((r = sftp_put_begin(&k->tx, SFTP_WRITE, id)) != 0 ||
			    (r = sftp_put_string(&k->tx, h, hlen)) != 0 ||
			    (r = sftp_put_u64(&k->tx, sent)) != 0 ||
			    (r = sftp_put_string(&k->tx, (const uint8_t *)p + sent, chunk)) != 0)
				return mm_fail(c, r, "out of memory");
			if ((r = send_tx(sb, k, c)) != 0)
				return r;
			sent += chunk;
			inflight++;
		}
		if (inflight == 0)
			break;
		{
			struct sftp_reply rep;

			if ((r = conn_recv(sb, k, &rep, c)) != 0)
				return r;
			if (rep.id < first_id || rep.id > k->next_id) {
				k->broken = 1;
				return mm_fail(c, MM_EPROTOCOL, "sftp %s: reply to request %u that "
					       "was never sent", sb->desc, rep.id);
			}
			inflight--;
			if (err == 0 && (r = status_err(sb, &rep, "write", path, &firsterr)) != 0)
				err = r;
		}
		if (err != 0)
			sent = n; /* send no more; collect what is in flight */
	}
	if (err != 0) {
		memcpy(c, &firsterr, sizeof(firsterr));
		return err;
	}
	return 0;
}

/* A write failed with a plain "failure": if the far side's disk is full, say so. */
static int
explain_failure(struct sftp_be *sb, struct sftp_conn *k, const char *dir, size_t n, int r,
		struct mm_ctx *c)
{
	int64_t avail;
	char fb[32];

	if (r != MM_EREMOTE)
		return r;
	avail = free_space(sb, k, dir);
	if (avail < 0 || (uint64_t)avail >= (uint64_t)n + 1024 * 1024)
		return r;
	fmt_bytes((uint64_t)avail, fb, sizeof(fb));
	return mm_fail(c, MM_ENOSPC, "sftp %s: no space left on the far side: the server's "
		       "file system holding %s has %s free (the server said only \"failure\"); "
		       "free space there or use another folder", sb->desc, dir, fb);
}

static int
sftp_write(struct backend *be, enum obj_type t, const char *name, const void *p, size_t n,
	   struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct sftp_conn *k = NULL;
	struct sftp_attrs a;
	uint8_t h[SFTP_HANDLE_MAX];
	size_t hlen = 0;
	char *path = NULL, *tmp = NULL, *dir = NULL, *slash;
	char tname[40];
	uint64_t rnd[2] = { 0, 0 };
	int r, opened = 0, renamed = 0;

	if ((r = obj_path(sb, t, name, &path, c)) != 0)
		return r;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd[0] = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	rnd[1] ^= atomic_fetch_add(&sb->tmpseq, 1);
	snprintf(tname, sizeof(tname), ".tmp-%016llx%04llx", (unsigned long long)rnd[0],
		 (unsigned long long)(rnd[1] & 0xffff));
	if ((dir = strdup(path)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir)
		*slash = '\0';
	else if (slash == dir)
		dir[1] = '\0';
	else
		strcpy(dir, ".");
	if ((tmp = join(dir, tname)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = conn_get(sb, &k, c)) != 0)
		goto out;
	if (t == OBJ_CONFIG) {
		/* Never replace the config (see local.c). */
		if ((r = rq_stat(sb, k, path, &a, c)) == 0) {
			r = mm_fail(c, MM_EEXIST, "sftp %s: %s already exists", sb->desc, path);
			goto out;
		}
		if (r != MM_ENOENT)
			goto out;
	}
	r = rq_open(sb, k, tmp, SFTP_FXF_WRITE | SFTP_FXF_CREAT | SFTP_FXF_EXCL, h, &hlen, c);
	if (r == MM_ENOENT) {
		if ((r = ensure_obj_dirs(sb, k, t, name, c)) != 0)
			goto out;
		r = rq_open(sb, k, tmp, SFTP_FXF_WRITE | SFTP_FXF_CREAT | SFTP_FXF_EXCL, h, &hlen, c);
	}
	if (r != 0)
		goto out;
	opened = 1;
	if ((r = write_all(sb, k, h, hlen, p, n, tmp, c)) != 0) {
		r = explain_failure(sb, k, dir, n, r, c);
		goto out;
	}
	if (k->ext & SFTP_EXT_FSYNC) {
		struct sftp_reply rep;

		if ((r = rq_handle(sb, k, SFTP_EXTENDED, "fsync@openssh.com", h, hlen, &rep, c)) != 0 ||
		    (r = status_err(sb, &rep, "fsync", tmp, c)) != 0) {
			r = explain_failure(sb, k, dir, n, r, c);
			goto out;
		}
	}
	opened = 0;
	if ((r = rq_close(sb, k, h, hlen, tmp, c)) != 0) {
		r = explain_failure(sb, k, dir, n, r, c);
		goto out;
	}
	if ((r = rq_rename(sb, k, tmp, path, t != OBJ_CONFIG, c)) != 0) {
		struct mm_ctx ignore = MM_CTX_INIT;

		/* Without posix-rename a plain rename refuses an existing
		 * target; an object of that name has the same content. */
		if (t == OBJ_CONFIG || k->broken || rq_stat(sb, k, path, &a, &ignore) != 0)
			goto out;
		r = 0;
		goto out;
	}
	renamed = 1;
	r = 0;
out:
	if (k != NULL && !k->broken) {
		struct mm_ctx ignore = MM_CTX_INIT;
		struct sftp_reply rep;

		if (opened)
			(void)rq_close(sb, k, h, hlen, tmp, &ignore);
		if (!renamed && hlen > 0 && !k->broken)
			(void)rq_path(sb, k, SFTP_REMOVE, tmp, "remove", 0, &rep, &ignore);
	}
	conn_put(sb, k);
	free(path);
	free(tmp);
	free(dir);
	return r;
}

/* Pipelined READ of want bytes at off into dst. */
struct rd_req {
	uint32_t id;
	uint64_t off;
	uint32_t len;
	int used;
};

static int
read_range(struct sftp_be *sb, struct sftp_conn *k, const uint8_t *h, size_t hlen, uint64_t off,
	   uint8_t *dst, size_t want, const char *path, struct mm_ctx *c)
{
	struct rd_req q[SFTP_WINDOW];
	uint64_t next = off, end = off + want;
	size_t inflight = 0;
	int r;

	memset(q, 0, sizeof(q));
	while (next < end || inflight > 0) {
		struct sftp_reply rep;
		struct rd_req *req = NULL;

		for (size_t i = 0; i < SFTP_WINDOW && next < end; i++) {
			uint64_t len = end - next < SFTP_IO_CHUNK ? end - next : SFTP_IO_CHUNK;

			if (q[i].used)
				continue;
			q[i].id = new_id(k);
			q[i].off = next;
			q[i].len = (uint32_t)len;
			q[i].used = 1;
			if ((r = sftp_put_begin(&k->tx, SFTP_READ, q[i].id)) != 0 ||
			    (r = sftp_put_string(&k->tx, h, hlen)) != 0 ||
			    (r = sftp_put_u64(&k->tx, next)) != 0 ||
			    (r = sftp_put_u32(&k->tx, (uint32_t)len)) != 0)
				return mm_fail(c, r, "out of memory");
			if ((r = send_tx(sb, k, c)) != 0)
				return r;
			next += len;
			inflight++;
		}
		if ((r = conn_recv(sb, k, &rep, c)) != 0)
			return r;
		for (size_t i = 0; i < SFTP_WINDOW; i++)
			if (q[i].used && q[i].id == rep.id)
				req = &q[i];
		if (req == NULL) {
			k->broken = 1;
			return mm_fail(c, MM_EPROTOCOL, "sftp %s: reply to request %u that is not "
				       "waiting", sb->desc, rep.id);
		}
		req->used = 0;
		inflight--;
		if (rep.type == SFTP_STATUS && rep.status == SFTP_FX_EOF) {
			/* Collect the others, then fail: the object is shorter. */
			while (inflight > 0) {
				if ((r = conn_recv(sb, k, &rep, c)) != 0)
					return r;
				inflight--;
			}
			return mm_fail(c, MM_ECORRUPT, "sftp %s: %s: read of %zu bytes at offset "
				       "%llu is past the end of the object", sb->desc, path, want,
				       (unsigned long long)off);
		}
		if (rep.type != SFTP_DATA) {
			r = status_err(sb, &rep, "read", path, c);
			if (r == 0)
				r = mm_fail(c, MM_EPROTOCOL, "sftp %s: read %s: OK without data",
					    sb->desc, path);
			k->broken = 1; /* replies still in flight: do not reuse */
			return r;
		}
		if (rep.data_len == 0 || rep.data_len > req->len) {
			k->broken = 1;
			return mm_fail(c, MM_EPROTOCOL, "sftp %s: read %s: %zu bytes for a request "
				       "of %u", sb->desc, path, rep.data_len, req->len);
		}
		memcpy(dst + (req->off - off), rep.data, rep.data_len);
		if (rep.data_len < req->len) {
			/* A short read: ask for the rest in this slot. */
			req->id = new_id(k);
			req->off += rep.data_len;
			req->len -= (uint32_t)rep.data_len;
			req->used = 1;
			if ((r = sftp_put_begin(&k->tx, SFTP_READ, req->id)) != 0 ||
			    (r = sftp_put_string(&k->tx, h, hlen)) != 0 ||
			    (r = sftp_put_u64(&k->tx, req->off)) != 0 ||
			    (r = sftp_put_u32(&k->tx, req->len)) != 0)
				return mm_fail(c, r, "out of memory");
			if ((r = send_tx(sb, k, c)) != 0)
				return r;
			inflight++;
		}
	}
	return 0;
}

static int
sftp_read(struct backend *be, enum obj_type t, const char *name, uint64_t off, size_t len,
	  struct buf *out, struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct sftp_conn *k = NULL;
	struct sftp_reply rep;
	uint8_t h[SFTP_HANDLE_MAX];
	size_t hlen = 0;
	uint64_t want = len;
	char *path = NULL;
	int r, opened = 0;

	if ((r = obj_path(sb, t, name, &path, c)) != 0)
		return r;
	if ((r = conn_get(sb, &k, c)) != 0)
		goto out;
	if ((r = rq_open(sb, k, path, SFTP_FXF_READ, h, &hlen, c)) != 0) {
		if (r == MM_ENOENT)
			r = mm_fail(c, MM_ENOENT, "sftp %s: %s: no such object", sb->desc, path);
		goto out;
	}
	opened = 1;
	if (len == 0) {
		if ((r = rq_handle(sb, k, SFTP_FSTAT, NULL, h, hlen, &rep, c)) != 0)
			goto out;
		if (rep.type != SFTP_ATTRS || !(rep.attrs.flags & SFTP_ATTR_SIZE)) {
			r = status_err(sb, &rep, "stat", path, c);
			if (r == 0)
				r = mm_fail(c, MM_EPROTOCOL, "sftp %s: %s: no size", sb->desc, path);
			goto out;
		}
		if (rep.attrs.size < off) {
			r = mm_fail(c, MM_ECORRUPT, "sftp %s: %s: offset %llu is past the end "
				    "(size %llu)", sb->desc, path, (unsigned long long)off,
				    (unsigned long long)rep.attrs.size);
			goto out;
		}
		want = rep.attrs.size - off;
	}
	if (want > SIZE_MAX || (want > 0 && (r = buf_reserve(out, (size_t)want)) != 0)) {
		r = mm_fail(c, want > SIZE_MAX ? MM_ELIMIT : r, "sftp %s: %s: cannot hold %llu "
			    "bytes in memory", sb->desc, path, (unsigned long long)want);
		goto out;
	}
	if (want > 0 && (r = read_range(sb, k, h, hlen, off, out->data + out->len, (size_t)want,
					path, c)) != 0)
		goto out;
	opened = 0;
	if ((r = rq_close(sb, k, h, hlen, path, c)) != 0)
		goto out;
	out->len += (size_t)want;
	r = 0;
out:
	if (opened && k != NULL && !k->broken) {
		struct mm_ctx ignore = MM_CTX_INIT;
		(void)rq_close(sb, k, h, hlen, path, &ignore);
	}
	conn_put(sb, k);
	free(path);
	return r;
}

static int
sftp_stat(struct backend *be, enum obj_type t, const char *name, uint64_t *size,
	  struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct sftp_conn *k = NULL;
	struct sftp_attrs a;
	char *path = NULL;
	int r;

	if ((r = obj_path(sb, t, name, &path, c)) != 0)
		return r;
	if ((r = conn_get(sb, &k, c)) != 0)
		goto out;
	if ((r = rq_stat(sb, k, path, &a, c)) != 0) {
		if (r == MM_ENOENT)
			r = mm_fail(c, MM_ENOENT, "sftp %s: %s: no such object", sb->desc, path);
		goto out;
	}
	if ((a.flags & SFTP_ATTR_PERMISSIONS) && !S_ISREG(a.perm)) {
		r = mm_fail(c, MM_ECORRUPT, "sftp %s: %s: not a regular file", sb->desc, path);
		goto out;
	}
	*size = a.size;
	r = 0;
out:
	conn_put(sb, k);
	free(path);
	return r;
}

static int
sftp_remove(struct backend *be, enum obj_type t, const char *name, struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct sftp_conn *k = NULL;
	struct sftp_reply rep;
	char *path = NULL;
	int r;

	if ((r = obj_path(sb, t, name, &path, c)) != 0)
		return r;
	if ((r = conn_get(sb, &k, c)) == 0)
		r = rq_path(sb, k, SFTP_REMOVE, path, "remove", 0, &rep, c);
	conn_put(sb, k);
	free(path);
	return r;
}

static int
is_hex2(const char *s)
{
	for (int i = 0; i < 2; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[2] == '\0';
}

/* Names and sizes gathered from one folder, so that callbacks (which may
 * read objects) run with no connection held. */
struct dirlist {
	char (*name)[BACKEND_NAME_LEN + 1];
	uint64_t *size;
	size_t n, cap;
};

static void
dirlist_release(struct dirlist *d)
{
	free(d->name);
	free(d->size);
	memset(d, 0, sizeof(*d));
}

static int
dirlist_add(struct dirlist *d, const uint8_t *name, size_t len, uint64_t size)
{
	if (d->n == d->cap) {
		size_t ncap = d->cap ? 2 * d->cap : 256;
		void *nn = realloc(d->name, ncap * sizeof(*d->name));
		if (nn == NULL)
			return MM_ENOMEM;
		d->name = nn;
		nn = realloc(d->size, ncap * sizeof(*d->size));
		if (nn == NULL)
			return MM_ENOMEM;
		d->size = nn;
		d->cap = ncap;
	}
	memcpy(d->name[d->n], name, len);
	d->name[d->n][len] = '\0';
	d->size[d->n] = size;
	d->n++;
	return 0;
}

/*
 * Read one folder. want_dirs: gather the data/XX folders instead of objects.
 * prefix: only names starting with these two characters. A folder that does
 * not exist holds nothing.
 */
static int
read_dir(struct sftp_be *sb, struct sftp_conn *k, const char *dir, int want_dirs,
	 const char *prefix, struct dirlist *out, struct mm_ctx *c)
{
	struct sftp_reply rep;
	uint8_t h[SFTP_HANDLE_MAX];
	size_t hlen;
	int r, opened = 0;

	if ((r = rq_path(sb, k, SFTP_OPENDIR, dir, "open folder", 0, &rep, c)) != 0) {
		if (r == MM_ENOENT)
			r = 0;
		goto out;
	}
	if (rep.type != SFTP_HANDLE) {
		r = mm_fail(c, MM_EPROTOCOL, "sftp %s: open folder %s: no handle", sb->desc, dir);
		goto out;
	}
	memcpy(h, rep.data, rep.data_len);
	hlen = rep.data_len;
	opened = 1;
	for (;;) {
		struct sftp_names it;
		struct sftp_name e;

		if ((r = rq_handle(sb, k, SFTP_READDIR, NULL, h, hlen, &rep, c)) != 0)
			goto out;
		if (rep.type == SFTP_STATUS && rep.status == SFTP_FX_EOF)
			break;
		if (rep.type != SFTP_NAME) {
			if ((r = status_err(sb, &rep, "read folder", dir, c)) == 0)
				r = mm_fail(c, MM_EPROTOCOL, "sftp %s: read folder %s: OK without "
					    "names", sb->desc, dir);
			goto out;
		}
		sftp_names_init(&it, &rep);
		while ((r = sftp_names_next(&it, &e, c)) == 1) {
			int isdir = (e.attrs.flags & SFTP_ATTR_PERMISSIONS) && S_ISDIR(e.attrs.perm);
			int isreg = !(e.attrs.flags & SFTP_ATTR_PERMISSIONS) || S_ISREG(e.attrs.perm);
			char nm[BACKEND_NAME_LEN + 1];

			if (e.name_len > BACKEND_NAME_LEN || memchr(e.name, '\0', e.name_len))
				continue;
			memcpy(nm, e.name, e.name_len);
			nm[e.name_len] = '\0';
			if (want_dirs) {
				if (!isdir || e.name_len != 2 || !is_hex2(nm))
					continue;
			} else {
				if (!isreg || !backend_name_listable(nm))
					continue;
				if (prefix != NULL && strncmp(nm, prefix, 2) != 0)
					continue;
			}
			if ((r = dirlist_add(out, e.name, e.name_len, e.attrs.size)) != 0) {
				r = mm_fail(c, r, "out of memory");
				goto out;
			}
		}
		if (r < 0) {
			mm_prefix(c, r, "sftp %s: folder %s", sb->desc, dir);
			k->broken = 1;
			goto out;
		}
	}
	opened = 0;
	r = rq_close(sb, k, h, hlen, dir, c);
out:
	if (opened && !k->broken) {
		struct mm_ctx ignore = MM_CTX_INIT;
		(void)rq_close(sb, k, h, hlen, dir, &ignore);
	}
	return r;
}

static int
sftp_list(struct backend *be, enum obj_type t, backend_list_cb cb, void *arg, struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct sftp_conn *k = NULL;
	struct dirlist objs = { 0 }, subs = { 0 };
	char *dir = NULL, *sub = NULL;
	int r;

	if ((unsigned)t >= OBJ_TYPE_COUNT || t == OBJ_CONFIG)
		return mm_fail(c, MM_EINVAL, "cannot list objects of type %d", (int)t);
	if ((dir = join(sb->loc.path, backend_type_dir(t))) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = conn_get(sb, &k, c)) != 0)
		goto out;
	if (t != OBJ_PACK) {
		r = read_dir(sb, k, dir, 0, NULL, &objs, c);
	} else if ((r = read_dir(sb, k, dir, 1, NULL, &subs, c)) == 0) {
		for (size_t i = 0; i < subs.n && r == 0; i++) {
			free(sub);
			if ((sub = join(dir, subs.name[i])) == NULL)
				r = mm_fail(c, MM_ENOMEM, "out of memory");
			else
				r = read_dir(sb, k, sub, 0, subs.name[i], &objs, c);
		}
	}
	conn_put(sb, k);
	k = NULL;
	for (size_t i = 0; i < objs.n && r == 0; i++)
		r = cb(objs.name[i], objs.size[i], arg);
out:
	conn_put(sb, k);
	dirlist_release(&objs);
	dirlist_release(&subs);
	free(dir);
	free(sub);
	return r;
}

static int
sftp_create(struct backend *be, struct mm_ctx *c)
{
	static const enum obj_type types[] = {
		OBJ_KEY, OBJ_PACK, OBJ_INDEX, OBJ_SNAPSHOT, OBJ_LOCK, OBJ_CHECKPOINT,
	};
	struct sftp_be *sb = sftp_of(be);
	struct sftp_conn *k = NULL;
	struct sftp_attrs a;
	char *config = NULL, *p = NULL, *d = NULL;
	int r;

	if ((config = join(sb->loc.path, "config")) == NULL || (p = strdup(sb->loc.path)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = conn_get(sb, &k, c)) != 0)
		goto out;
	if ((r = rq_stat(sb, k, config, &a, c)) == 0) {
		r = mm_fail(c, MM_EEXIST, "sftp %s: a repository already exists", sb->desc);
		goto out;
	}
	if (r != MM_ENOENT)
		goto out;
	/* Each component of the path, like mkdir -p. */
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char save = *s;
			*s = '\0';
			r = ensure_dir(sb, k, p, c);
			*s = save;
			if (r != 0)
				goto out;
			if (save == '\0')
				break;
		}
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		free(d);
		if ((d = join(sb->loc.path, backend_type_dir(types[i]))) == NULL) {
			r = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
		if ((r = ensure_dir(sb, k, d, c)) != 0)
			goto out;
	}
	r = 0;
out:
	conn_put(sb, k);
	free(config);
	free(p);
	free(d);
	return r;
}

static void
sftp_free(struct backend *be)
{
	struct sftp_be *sb = sftp_of(be);

	while (sb->idle != NULL) {
		struct sftp_conn *k = sb->idle;
		sb->idle = k->next;
		conn_free(k);
	}
	pthread_mutex_destroy(&sb->mu);
	pthread_cond_destroy(&sb->cv);
	sftp_location_release(&sb->loc);
	free(sb->words);
	free(sb->desc);
	free(sb->be.location);
	free(sb);
}

static const struct backend_ops sftp_ops = {
	.write = sftp_write,
	.read = sftp_read,
	.stat = sftp_stat,
	.remove = sftp_remove,
	.list = sftp_list,
	.create = sftp_create,
	.free = sftp_free,
};

/* ---- opening ---------------------------------------------------------------------- */

/* Split words (spaces and tabs; no quoting, no shell) into argv from *argc. */
static int
split_words(struct sftp_be *sb, char *s, size_t *argc, const char *opt, struct mm_ctx *c)
{
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			return 0;
		if (*argc >= SFTP_ARGV_MAX - 16)
			return mm_fail(c, MM_ELIMIT, "%s: too many words", opt);
		sb->argv[(*argc)++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
}

static int
uint_opt(const char *key, long lo, long hi, long dflt, long *out, struct mm_ctx *c)
{
	const char *v = backend_option_get(key);
	char *end;
	long x;

	if (v == NULL) {
		*out = dflt;
		return 0;
	}
	errno = 0;
	x = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi)
		return mm_fail(c, MM_EINVAL, "-o %s=%s: give a whole number from %ld to %ld", key, v,
			       lo, hi);
	*out = x;
	return 0;
}

int
backend_sftp_open(const char *spec, struct backend **out, struct mm_ctx *c)
{
	static char s_ssh[] = "ssh", s_o[] = "-o", s_p[] = "-p", s_l[] = "-l", s_s[] = "-s",
		    s_sftp[] = "sftp", s_batch[] = "BatchMode=yes", s_count[] = "ServerAliveCountMax=3";
	struct sftp_be *sb;
	struct sftp_conn *k = NULL;
	const char *cmd = backend_option_get("sftp.command");
	const char *args = backend_option_get("sftp.args");
	char *extra;
	size_t argc = 0, wl;
	long timeout, conns;
	int r;

	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	pthread_mutex_init(&sb->mu, NULL);
	pthread_cond_init(&sb->cv, NULL);
	sb->be.ops = &sftp_ops;
	if ((r = sftp_location_parse(spec, &sb->loc, c)) != 0)
		goto out;
	if ((r = uint_opt("sftp.timeout", 1, 3600, SFTP_TIMEOUT_DEFAULT, &timeout, c)) != 0 ||
	    (r = uint_opt("sftp.connections", 1, SFTP_CONNS_MAX, SFTP_CONNS_DEFAULT, &conns, c)) != 0)
		goto out;
	sb->timeout = (int)timeout;
	sb->max_conns = (unsigned)conns;
	wl = (cmd ? strlen(cmd) : 0) + (args ? strlen(args) : 0) + 128;
	if ((sb->words = calloc(1, wl)) == NULL ||
	    (sb->be.location = strdup(spec)) == NULL ||
	    asprintf(&sb->desc, "%s%s%s:%s", sb->loc.user ? sb->loc.user : "",
		     sb->loc.user ? "@" : "", sb->loc.host, sb->loc.path) < 0) {
		sb->desc = NULL;
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	extra = sb->words;
	if (cmd != NULL) {
		/* The whole command, as restic's sftp.command: the user names
		 * the host and the subsystem themselves. */
		memcpy(extra, cmd, strlen(cmd) + 1);
		if ((r = split_words(sb, extra, &argc, "sftp.command", c)) != 0)
			goto out;
		if (argc == 0) {
			r = mm_fail(c, MM_EINVAL, "-o sftp.command= is empty");
			goto out;
		}
	} else {
		char *t = extra;

		sb->argv[argc++] = s_ssh;
		if (args != NULL) {
			/* The user's options first: ssh keeps the first value of
			 * each option, so they override the defaults below. */
			memcpy(t, args, strlen(args) + 1);
			if ((r = split_words(sb, t, &argc, "sftp.args", c)) != 0)
				goto out;
			t += strlen(args) + 1;
		}
		sb->argv[argc++] = s_o;
		sb->argv[argc++] = s_batch;
		sb->argv[argc++] = s_o;
		sb->argv[argc++] = t;
		t += sprintf(t, "ConnectTimeout=%d", sb->timeout) + 1;
		sb->argv[argc++] = s_o;
		sb->argv[argc++] = t;
		t += sprintf(t, "ServerAliveInterval=%d", sb->timeout / 4 > 0 ? sb->timeout / 4 : 1) + 1;
		sb->argv[argc++] = s_o;
		sb->argv[argc++] = s_count;
		if (sb->loc.port != 0) {
			sb->argv[argc++] = s_p;
			sb->argv[argc++] = t;
			t += sprintf(t, "%u", sb->loc.port) + 1;
		}
		if (sb->loc.user != NULL) {
			sb->argv[argc++] = s_l;
			sb->argv[argc++] = sb->loc.user;
		}
		sb->argv[argc++] = s_s;
		sb->argv[argc++] = sb->loc.host;
		sb->argv[argc++] = s_sftp;
	}
	sb->argv[argc] = NULL;
	/* One connection now, so a wrong host, key or user is said at once. */
	if ((r = conn_get(sb, &k, c)) != 0)
		goto out;
	conn_put(sb, k);
	*out = &sb->be;
	sb = NULL;
	r = 0;
out:
	if (sb != NULL)
		sftp_free(&sb->be);
	return r;
}
