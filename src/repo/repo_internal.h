/* Helpers shared by the files of the repo module; not part of its API. */
#ifndef MAMORI_REPO_INTERNAL_H
#define MAMORI_REPO_INTERNAL_H

/* New allocations; NULL only when out of memory. */
char *repo_hostname(void);
char *repo_username(void);

/* The zstd context caches of an open repository (blob.c). */
void repo_zcache_init(struct repo *r);
void repo_zcache_release(struct repo *r);

#endif
