/* Helpers shared by the files of the repo module; not part of its API. */
#ifndef MAMORI_REPO_INTERNAL_H
#define MAMORI_REPO_INTERNAL_H

/* New allocations; NULL only when out of memory. */
char *repo_hostname(void);
char *repo_username(void);

/* Write a new key file for password wrapping k->master (and describing
 * itself under k->enc); its ID into id_out (may be NULL). */
int repo_keyfile_write(struct backend *be, const char *password, const char *name,
		       int fast_kdf, const struct mm_keys *k, char id_out[65],
		       struct mm_ctx *c);

/* The zstd context caches of an open repository (blob.c). */
void repo_zcache_init(struct repo *r);
void repo_zcache_release(struct repo *r);

#endif
