/* Shared printing: warnings, progress on a terminal, names, JSON objects. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

void
cli_warn(void *arg, const char *msg)
{
	const struct cli *cl = arg;

	if (cl->progress)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "%s: warning: %s\n", cl->prog, msg);
}

void
cli_progress(void *arg, const struct ops_progress *p)
{
	const struct cli *cl = arg;
	char done[32], total[32], rate[32];
	double r = p->elapsed > 0 ? (double)p->bytes_done / p->elapsed : 0;

	if (!cl->progress)
		return;
	fmt_bytes(p->bytes_done, done, sizeof(done));
	fmt_bytes((uint64_t)r, rate, sizeof(rate));
	fputs("\r\033[K", stderr);
	if (p->bytes_total > 0) {
		double left = r > 0 ? (double)(p->bytes_total - p->bytes_done) / r : 0;
		fmt_bytes(p->bytes_total, total, sizeof(total));
		fprintf(stderr, "[%5.1fs] %llu files, %s / %s, %s/s, ETA %.0fs", p->elapsed,
			(unsigned long long)p->files_done, done, total, rate, left);
	} else {
		fprintf(stderr, "[%5.1fs] %llu files, %s, %s/s", p->elapsed,
			(unsigned long long)p->files_done, done, rate);
	}
	if (p->errors)
		fprintf(stderr, ", %llu errors", (unsigned long long)p->errors);
	fflush(stderr);
}

void
cli_progress_done(const struct cli *cl)
{
	if (cl->progress)
		fputs("\r\033[K", stderr);
}

/* Length of the well-formed UTF-8 sequence at p (n bytes left) that is
 * safe to show (not a C1 control), or 0. */
static size_t
utf8_len(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1fu;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0fu;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}

/* Print p escaped; returns the number of characters shown. */
static int
print_escaped(FILE *f, const uint8_t *p, size_t n)
{
	int w = 0;

	for (size_t i = 0; i < n;) {
		size_t len = utf8_len(p + i, n - i);

		if (len == 0 || p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\') {
			if (f)
				fprintf(f, "\\x%02x", p[i]);
			w += 4;
			i++;
			continue;
		}
		if (f)
			fwrite(p + i, 1, len, f);
		w++;
		i += len;
	}
	return w;
}

void
cli_print_name(FILE *f, const uint8_t *p, size_t n)
{
	(void)print_escaped(f, p, n);
}

void
cli_print_padded(FILE *f, const char *s, int width)
{
	int w = print_escaped(f, (const uint8_t *)s, strlen(s));

	for (; w < width; w++)
		fputc(' ', f);
}

void
cli_short_id(const struct mm_id *id, char out[9])
{
	char hex[65];

	hex_encode(id->b, MM_ID_LEN, hex);
	memcpy(out, hex, 8);
	out[8] = '\0';
}

static void
json_id(struct json *j, const char *k, const struct mm_id *id)
{
	char hex[65];

	hex_encode(id->b, MM_ID_LEN, hex);
	json_kv_str(j, k, hex);
}

static void
json_time(struct json *j, const char *k, int64_t ns)
{
	char t[40];

	time_format_utc(ns, t, sizeof(t));
	json_kv_str(j, k, t);
}

static void
json_strings(struct json *j, const char *k, char **v, size_t n)
{
	json_key(j, k);
	json_arr_begin(j);
	for (size_t i = 0; i < n; i++)
		json_str(j, v[i]);
	json_arr_end(j);
}

void
cli_json_snapshot(struct json *j, const struct snapshot *s)
{
	char sid[9];
	const struct snap_summary *m = &s->sum;

	cli_short_id(&s->id, sid);
	json_obj_begin(j);
	json_id(j, "id", &s->id);
	json_kv_str(j, "short_id", sid);
	json_time(j, "time", s->time_ns);
	json_kv_int(j, "time_ns", s->time_ns);
	json_kv_str(j, "host", s->host);
	json_kv_str(j, "user", s->user);
	json_kv_uint(j, "uid", s->uid);
	json_kv_uint(j, "gid", s->gid);
	json_strings(j, "paths", s->paths, s->npaths);
	json_strings(j, "tags", s->tags, s->ntags);
	json_strings(j, "excludes", s->excludes, s->nexcludes);
	if (s->has_parent)
		json_id(j, "parent", &s->parent);
	json_id(j, "tree", &s->tree);
	if (s->has_original)
		json_id(j, "original", &s->original);
	if (s->has_origin) {
		struct mm_id repo;

		memcpy(repo.b, s->origin_repo, sizeof(repo.b));
		json_key(j, "copied_from");
		json_obj_begin(j);
		json_id(j, "repository", &repo);
		json_id(j, "snapshot", &s->origin);
		json_obj_end(j);
	}
	json_kv_str(j, "program", s->program);
	json_key(j, "summary");
	json_obj_begin(j);
	json_kv_uint(j, "files_new", m->files_new);
	json_kv_uint(j, "files_changed", m->files_changed);
	json_kv_uint(j, "files_unchanged", m->files_unchanged);
	json_kv_uint(j, "dirs", m->dirs);
	json_kv_uint(j, "others", m->others);
	json_kv_uint(j, "bytes_total", m->bytes_total);
	json_kv_uint(j, "bytes_read", m->bytes_read);
	json_kv_uint(j, "bytes_added", m->bytes_added);
	json_kv_uint(j, "blobs_added", m->blobs_added);
	json_kv_uint(j, "errors", m->errors);
	json_key(j, "duration");
	json_double(j, (double)m->duration_ns / 1e9);
	json_obj_end(j);
	json_obj_end(j);
}

const char *
cli_type_name(uint8_t t)
{
	static const char *names[] = { "?", "file", "dir", "symlink", "fifo", "chardev",
				       "blockdev", "socket" };
	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

void
cli_json_node(struct json *j, const char *path, const struct node *n)
{
	char hex[65];

	json_obj_begin(j);
	if (path)
		json_kv_str(j, "path", path);
	json_key(j, "name");
	json_strn(j, (const char *)n->name, n->name_len);
	json_kv_str(j, "type", cli_type_name(n->type));
	json_kv_uint(j, "mode", n->mode & 07777);
	json_kv_uint(j, "uid", n->uid);
	json_kv_uint(j, "gid", n->gid);
	json_kv_str(j, "user", n->user ? n->user : "");
	json_kv_str(j, "group", n->group ? n->group : "");
	json_kv_uint(j, "size", n->size);
	json_time(j, "mtime", n->mtime_ns);
	json_kv_int(j, "mtime_ns", n->mtime_ns);
	json_kv_int(j, "ctime_ns", n->ctime_ns);
	json_kv_int(j, "atime_ns", n->atime_ns);
	json_kv_uint(j, "inode", n->inode);
	json_kv_uint(j, "links", n->nlink);
	if (n->type == NODE_SYMLINK) {
		json_key(j, "target");
		json_strn(j, (const char *)n->target, n->target_len);
	}
	if (n->type == NODE_CHR || n->type == NODE_BLK)
		json_kv_uint(j, "rdev", n->rdev);
	if (n->flags & NODE_F_ERROR)
		json_kv_bool(j, "read_error", 1);
	if (n->flags & NODE_F_CHANGED)
		json_kv_bool(j, "changed_during_backup", 1);
	if (n->nxattrs) {
		json_key(j, "xattrs");
		json_obj_begin(j);
		for (size_t i = 0; i < n->nxattrs; i++) {
			json_key(j, n->xattrs[i].name);
			json_strn(j, (const char *)n->xattrs[i].value, n->xattrs[i].len);
		}
		json_obj_end(j);
	}
	if (n->type == NODE_FILE) {
		json_key(j, "content");
		json_arr_begin(j);
		for (size_t i = 0; i < n->ncontent; i++) {
			hex_encode(n->content[i].b, MM_ID_LEN, hex);
			json_str(j, hex);
		}
		json_arr_end(j);
	}
	if (n->type == NODE_DIR)
		json_id(j, "subtree", &n->subtree);
	json_obj_end(j);
}

int
cli_strv_add(struct cli_strv *s, const char *x)
{
	const char **nv = realloc(s->v, (s->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return MM_ENOMEM;
	s->v = nv;
	s->v[s->n++] = x;
	return 0;
}
