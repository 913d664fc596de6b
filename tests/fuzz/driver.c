/*
 * Regression driver: runs a fuzz target's LLVMFuzzerTestOneInput on every
 * file named on the command line (folders: every file in them), so the
 * checked-in corpus is replayed by `make test` under ASan and UBSan
 * without libFuzzer. A crash, a leak or a failed assertion fails the test.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	long n;
	int r = 1;

	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	/* Exactly n bytes (ASan catches a read past them); 1 for an empty
	 * file so the pointer is valid. */
	if ((data = malloc(n > 0 ? (size_t)n : 1)) == NULL)
		goto out;
	if (n > 0 && fread(data, 1, (size_t)n, f) != (size_t)n)
		goto out;
	(void)LLVMFuzzerTestOneInput(data, (size_t)n);
	r = 0;
out:
	if (r != 0)
		fprintf(stderr, "%s: cannot read\n", path);
	fclose(f);
	free(data);
	return r;
}

static int
run_path(const char *path, size_t *count)
{
	struct stat st;
	struct dirent **ents = NULL;
	int n, r = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	/* Sorted, so a failure is reproducible by name and order. */
	if ((n = scandir(path, &ents, NULL, alphasort)) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char sub[4096];

		if (ents[i]->d_name[0] != '.' && r == 0) {
			snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
			r = run_path(sub, count);
		}
		free(ents[i]);
	}
	free(ents);
	return r;
}

int
main(int argc, char **argv)
{
	size_t count = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|FOLDER...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &count) != 0)
			return 1;
	if (count == 0) {
		fprintf(stderr, "%s: no inputs found\n", argv[0]);
		return 1;
	}
	printf("%zu inputs replayed\n", count);
	return 0;
}
