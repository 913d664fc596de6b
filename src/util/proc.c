/* Child processes: an argument vector through posix_spawnp, never a shell. */
#include <errno.h>
#include <fcntl.h>
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
