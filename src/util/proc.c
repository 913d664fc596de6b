/* Child processes: an argument vector through posix_spawnp, never a shell. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"

extern char **environ;

int
proc_spawn(char *const argv[], int *out_fd, int *pid, struct mm_ctx *c)
{
	posix_spawn_file_actions_t fa;
	int p[2] = { -1, -1 }, e;
	pid_t child;

	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
		return mm_fail(c, MM_EINVAL, "empty command");
	if (out_fd != NULL && pipe2(p, O_CLOEXEC) != 0)
		return mm_fail_errno(c, errno, "cannot make a pipe for %s", argv[0]);
	if ((e = posix_spawn_file_actions_init(&fa)) != 0) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	e = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (e == 0 && out_fd != NULL)
		e = posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	if (e == 0)
		e = posix_spawnp(&child, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		e = mm_fail(c, e == ENOENT ? MM_ENOENT : MM_ECHILD, "cannot run %s: %s", argv[0],
			    strerror(e));
		goto out;
	}
	*pid = (int)child;
	if (out_fd != NULL) {
		*out_fd = p[0];
		p[0] = -1;
	}
	e = 0;
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return e;
}

int
proc_wait(int pid, const char *name, struct mm_ctx *c)
{
	int st;
	pid_t w;

	do
		w = waitpid((pid_t)pid, &st, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return mm_fail_errno(c, errno, "cannot wait for %s", name);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return mm_fail(c, MM_ECHILD, "%s exited with status %d", name, WEXITSTATUS(st));
	if (WIFSIGNALED(st))
		return mm_fail(c, MM_ECHILD, "%s was killed by signal %d (SIG%s)", name,
			       WTERMSIG(st), sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
	return mm_fail(c, MM_ECHILD, "%s ended abnormally", name);
}

int
proc_run(char *const argv[], struct mm_ctx *c)
{
	int pid = -1, e;

	if ((e = proc_spawn(argv, NULL, &pid, c)) != 0)
		return e;
	return proc_wait(pid, argv[0], c);
}

int
proc_spawn_piped(char *const argv[], int *in_fd, int *out_fd, int *pid, struct mm_ctx *c)
{
	posix_spawn_file_actions_t fa;
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, e;
	pid_t child;

	if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0) {
		e = mm_fail_errno(c, errno, "cannot make a pipe for %s", argv[0]);
		goto out;
	}
	if ((e = posix_spawn_file_actions_init(&fa)) != 0) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	e = posix_spawn_file_actions_adddup2(&fa, pin[0], STDIN_FILENO);
	if (e == 0)
		e = posix_spawn_file_actions_adddup2(&fa, pout[1], STDOUT_FILENO);
	if (e == 0)
		e = posix_spawnp(&child, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		e = mm_fail(c, e == ENOENT ? MM_ENOENT : MM_ECHILD, "cannot run %s: %s", argv[0],
			    strerror(e));
		goto out;
	}
	*pid = (int)child;
	*in_fd = pin[1];
	*out_fd = pout[0];
	pin[1] = pout[0] = -1;
out:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
	}
	return e;
}

/* Feed `in`, collect the output until EOF or the deadline: 0, MM_ELIMIT,
 * MM_ETIMEDOUT, MM_ENOMEM or MM_EIO. */
static int
exchange(int in_fd, int out_fd, const uint8_t *in, size_t inlen, size_t max, double deadline,
	 struct buf *out)
{
	size_t sent = 0;
	int e = 0;

	if (inlen == 0) {
		close(in_fd);
		in_fd = -1;
	}
	while (e == 0) {
		struct pollfd pf[2] = { { out_fd, POLLIN, 0 }, { in_fd, POLLOUT, 0 } };
		double left = deadline - time_mono();
		uint8_t chunk[4096];
		ssize_t n;
		int r;

		if (left <= 0) {
			e = MM_ETIMEDOUT;
			break;
		}
		r = poll(pf, in_fd >= 0 ? 2 : 1, (int)(left * 1000) + 1);
		if (r < 0 && errno != EINTR) {
			e = MM_EIO;
			break;
		}
		if (r <= 0)
			continue;
		if (in_fd >= 0 && (pf[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			n = write(in_fd, in + sent, inlen - sent);
			if (n > 0)
				sent += (size_t)n;
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				sent = inlen; /* it does not read: no more to say */
			if (sent == inlen) {
				close(in_fd);
				in_fd = -1;
			}
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(out_fd, chunk, sizeof(chunk));
			if (n == 0)
				break;
			if (n < 0 && errno != EINTR) {
				e = MM_EIO;
				break;
			}
			if (n > 0 && out->len + (size_t)n > max)
				e = MM_ELIMIT;
			else if (n > 0 && buf_append(out, chunk, (size_t)n) != 0)
				e = MM_ENOMEM;
		}
	}
	if (in_fd >= 0)
		close(in_fd);
	return e;
}

int
proc_exchange(char *const argv[], const void *in, size_t inlen, size_t max, double timeout_s,
	      struct buf *out, struct mm_ctx *c)
{
	int in_fd = -1, out_fd = -1, e, w, pid;

	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
		return mm_fail(c, MM_EINVAL, "empty command");
	if ((e = proc_spawn_piped(argv, &in_fd, &out_fd, &pid, c)) != 0)
		return e;
	e = exchange(in_fd, out_fd, in, inlen, max, time_mono() + timeout_s, out);
	close(out_fd);
	if (e != 0)
		kill((pid_t)pid, SIGKILL);
	w = proc_wait(pid, argv[0], c);
	switch (e) {
	case 0: return w;
	case MM_ETIMEDOUT:
		return mm_fail(c, e, "%s did not finish within %.0f s: killed", argv[0], timeout_s);
	case MM_ELIMIT:
		return mm_fail(c, e, "%s printed more than %zu bytes: killed", argv[0], max);
	case MM_ENOMEM: return mm_fail(c, e, "out of memory");
	default: return mm_fail_errno(c, errno, "cannot read what %s printed", argv[0]);
	}
}
