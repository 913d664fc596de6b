/* The recovery runbook (mamori plan) and the systemd units (mamori systemd). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

/* Messages are cut at the end of their buffers on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

static int bprintf(struct buf *b, const char *fmt, ...) MM_PRINTF(2, 3);

static int
bprintf(struct buf *b, const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return MM_EINVAL;
	if ((size_t)n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	return buf_append(b, tmp, (size_t)n);
}

/* ---- key holders ----------------------------------------------------------- */
/* "'NAME' (user@host, key 3fa2c1d0)" for every key file, the one in use marked. */
static void
key_holders(struct repo *r, char *out, size_t n, size_t *count)
{
	struct repo_key *v = NULL;
	struct mm_ctx ignore = MM_CTX_INIT;
	size_t k = 0, len = 0;

	out[0] = '\0';
	*count = 0;
	if (repo_key_list(r, &v, &k, &ignore) != 0)
		return;
	*count = k;
	for (size_t i = 0; i < k && len < n; i++) {
		const struct keyfile_meta *m = &v[i].meta;
		int w;

		if (v[i].has_meta)
			w = snprintf(out + len, n - len, "%s'%s' (%s@%s, key %.8s%s)", i ? ", " : "",
				     m->name && m->name[0] ? m->name : "unnamed", m->user ? m->user : "",
				     m->host ? m->host : "", v[i].id, v[i].in_use ? ", this password" : "");
		else
			w = snprintf(out + len, n - len, "%skey %.8s (its holder is recorded only "
				     "inside it)", i ? ", " : "", v[i].id);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	repo_key_list_free(v, k);
}

struct plan_item {
	const struct policy_dataset *d;
	char error[1100];
	int have_snap;
	char snap[65];
	int64_t snap_ns;
	char keys[2000];
	size_t nkeys;
	int have_drill;
	struct drill_record drill;
	int have_offsite;
	char offsite[65];
	int64_t offsite_ns;
	char offsite_error[1100];
};

static void
gather(const struct policy_dataset *d, const char *fallback, struct plan_item *it)
{
	struct repo *r = NULL;
	struct snapshot s;
	struct mm_ctx c = MM_CTX_INIT;
	char *pw = NULL;
	int f;

	memset(&s, 0, sizeof(s));
	it->d = d;
	if (policy_password(d->repo, fallback, &pw, &c) != 0 ||
	    policy_open_repo(d->repo, pw, 0, "plan", &r, &c) != 0) {
		snprintf(it->error, sizeof(it->error), "%s", c.msg);
		goto out;
	}
	if ((f = policy_last_snapshot(r, d, &s, &c)) > 0) {
		it->have_snap = 1;
		hex_encode(s.id.b, MM_ID_LEN, it->snap);
		it->snap_ns = s.time_ns;
	}
	key_holders(r, it->keys, sizeof(it->keys), &it->nkeys);
	it->have_drill = policy_last_drill(r, d->name, &it->drill, &c) > 0;
	if (d->copy_to != NULL) {
		struct repo *dst = NULL;
		struct snapshot os;
		struct mm_ctx oc = MM_CTX_INIT;

		memset(&os, 0, sizeof(os));
		if (policy_open_repo(d->copy_to, fallback, 0, "plan", &dst, &oc) != 0 ||
		    (f = policy_last_snapshot(dst, d, &os, &oc)) < 0) {
			snprintf(it->offsite_error, sizeof(it->offsite_error), "%s", oc.msg);
		} else if (f > 0) {
			it->have_offsite = 1;
			hex_encode(os.id.b, MM_ID_LEN, it->offsite);
			it->offsite_ns = os.time_ns;
		}
		snapshot_release(&os);
		repo_free(dst);
	}
out:
	if (pw) {
		mm_wipe(pw, strlen(pw));
		free(pw);
	}
	snapshot_release(&s);
	repo_free(r);
}

static const char *
base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* The password option an operator types for this repository. */
static void
pw_option(const struct policy_repo *pr, char *out, size_t n)
{
	if (pr->password_file)
		snprintf(out, n, " --password-file %s", pr->password_file);
	else
		out[0] = '\0';
}

static int
commands(const struct plan_item *it, struct buf *b)
{
	const struct policy_dataset *d = it->d;
	char pw[600], dir[400], snap[80];
	int e;

	pw_option(d->repo, pw, sizeof(pw));
	snprintf(snap, sizeof(snap), "%s", it->have_snap ? it->snap : "latest");
	if (d->command == NULL) {
		return bprintf(b, "    mamori -r %s%s restore %s --target /\n", d->repo->url, pw, snap);
	}
	snprintf(dir, sizeof(dir), "/var/tmp/mamori-restore/%s", d->name);
	if ((e = bprintf(b, "    mamori -r %s%s restore %s --target %s\n", d->repo->url, pw, snap,
			 dir)) != 0)
		return e;
	if (strcmp(base(d->command[0]), "pg_dump") == 0)
		return bprintf(b, "    pg_restore --create --dbname=postgres %s/%s\n", dir,
			       d->filename ? d->filename : d->name);
	return bprintf(b, "    # load %s/%s with the tool that reads the output of %s\n", dir,
		       d->filename ? d->filename : d->name, d->command[0]);
}

static int
plan_markdown(const struct policy *p, const char *config_path, struct plan_item *it, size_t n,
	      struct buf *b)
{
	char now[40], t[40], a[32], c2[32], o[32];
	int e;

	time_format_utc(mm_clock_now(&p->clock), now, sizeof(now));
	if ((e = bprintf(b, "# Recovery plan\n\nFrom %s, made %s by mamori %s.\n\n"
			 "Restore the datasets in this order; each one's commands are exact. "
			 "Passwords are in the files named; the key holders can open the "
			 "repositories with their own keys.\n", config_path, now, MAMORI_VERSION)) != 0)
		return e;
	for (size_t i = 0; i < n; i++) {
		const struct policy_dataset *d = it[i].d;

		conf_format_duration(d->rpo, a, sizeof(a));
		conf_format_duration(d->rto, o, sizeof(o));
		if ((e = bprintf(b, "\n## %zu. %s (priority %lld)\n\n", i + 1, d->name,
				 (long long)d->priority)) != 0 ||
		    (e = bprintf(b, "- objectives: RPO %s, RTO %s\n", a, d->rto ? o : "none")) != 0 ||
		    (e = bprintf(b, "- content: %s\n", d->command ? "the output of a command" :
				 "files and folders")) != 0)
			return e;
		for (size_t k = 0; d->command && d->command[k]; k++)
			if ((e = bprintf(b, "%s%s", k ? " " : "  `", d->command[k])) != 0)
				return e;
		if (d->command && (e = bprintf(b, "`\n")) != 0)
			return e;
		for (size_t k = 0; k < d->npaths; k++)
			if ((e = bprintf(b, "  - `%s`\n", d->paths[k])) != 0)
				return e;
		if ((e = bprintf(b, "- repository: %s (`%s`)\n", d->repo->name, d->repo->url)) != 0)
			return e;
		if (it[i].error[0]) {
			if ((e = bprintf(b, "- **cannot read the repository**: %s\n", it[i].error)) != 0)
				return e;
		} else {
			if ((e = bprintf(b, "- key holders (%zu key file%s): %s\n", it[i].nkeys,
					 it[i].nkeys == 1 ? "" : "s", it[i].keys)) != 0)
				return e;
			if (it[i].have_snap) {
				time_format_utc(it[i].snap_ns, t, sizeof(t));
				e = bprintf(b, "- last good snapshot (local): %.8s of %s\n", it[i].snap, t);
			} else {
				e = bprintf(b, "- last good snapshot (local): **none, never backed up**\n");
			}
			if (e != 0)
				return e;
		}
		if (d->copy_to) {
			if (it[i].have_offsite) {
				char opw[600];

				pw_option(d->copy_to, opw, sizeof(opw));
				time_format_utc(it[i].offsite_ns, t, sizeof(t));
				e = bprintf(b, "- last good snapshot (offsite, %s `%s`): %.8s of %s; if the "
					    "local repository is lost, restore it from there: `mamori -r %s%s "
					    "restore %s ...`\n", d->copy_to->name, d->copy_to->url,
					    it[i].offsite, t, d->copy_to->url, opw, it[i].offsite);
			} else if (it[i].offsite_error[0]) {
				e = bprintf(b, "- last good snapshot (offsite, %s): **cannot read it**: %s\n",
					    d->copy_to->name, it[i].offsite_error);
			} else {
				e = bprintf(b, "- last good snapshot (offsite, %s): **none, never copied**\n",
					    d->copy_to->name);
			}
			if (e != 0)
				return e;
		}
		if (it[i].have_drill) {
			time_format_utc(it[i].drill.time_ns, t, sizeof(t));
			conf_format_duration((int64_t)(it[i].drill.projected + 0.5), a, sizeof(a));
			conf_format_duration((int64_t)(it[i].drill.cumulative + 0.5), c2, sizeof(c2));
			e = it[i].drill.ok
				? bprintf(b, "- expected time (drill of %s): %s for this dataset, %s "
					  "from the start of the plan%s\n", t, a, c2,
					  d->rto == 0 ? "" : it[i].drill.cumulative <= (double)d->rto ?
					  ", within the RTO" : ", **over the RTO**")
				: bprintf(b, "- expected time: **the last drill (%s) failed**: %s\n", t,
					  it[i].drill.error);
		} else {
			e = bprintf(b, "- expected time: unknown, no drill yet (run `mamori drill %s`)\n",
				    d->name);
		}
		if (e != 0 || (e = bprintf(b, "- commands:\n\n")) != 0 ||
		    (e = commands(&it[i], b)) != 0)
			return e;
	}
	return 0;
}

static int
plan_json(const struct policy *p, const char *config_path, struct plan_item *it, size_t n,
	  struct buf *b)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	struct json j;
	int e;

	if (f == NULL)
		return MM_ENOMEM;
	json_init(&j, f);
	json_obj_begin(&j);
	json_kv_str(&j, "config", config_path);
	json_kv_int(&j, "time_ns", mm_clock_now(&p->clock));
	json_key(&j, "datasets");
	json_arr_begin(&j);
	for (size_t i = 0; i < n; i++) {
		const struct policy_dataset *d = it[i].d;
		struct buf cb = BUF_INIT;

		json_obj_begin(&j);
		json_kv_int(&j, "order", (int64_t)i + 1);
		json_kv_str(&j, "name", d->name);
		json_kv_int(&j, "priority", d->priority);
		json_kv_int(&j, "rpo", d->rpo);
		json_kv_int(&j, "rto", d->rto);
		json_kv_str(&j, "repository", d->repo->name);
		json_kv_str(&j, "url", d->repo->url);
		if (it[i].error[0])
			json_kv_str(&j, "error", it[i].error);
		json_key(&j, "snapshot");
		if (it[i].have_snap) {
			json_obj_begin(&j);
			json_kv_str(&j, "id", it[i].snap);
			json_kv_int(&j, "time_ns", it[i].snap_ns);
			json_obj_end(&j);
		} else {
			json_null(&j);
		}
		json_key(&j, "offsite");
		if (d->copy_to && it[i].have_offsite) {
			json_obj_begin(&j);
			json_kv_str(&j, "repository", d->copy_to->name);
			json_kv_str(&j, "url", d->copy_to->url);
			json_kv_str(&j, "id", it[i].offsite);
			json_kv_int(&j, "time_ns", it[i].offsite_ns);
			json_obj_end(&j);
		} else if (d->copy_to) {
			json_obj_begin(&j);
			json_kv_str(&j, "repository", d->copy_to->name);
			json_kv_str(&j, "url", d->copy_to->url);
			json_key(&j, "id");
			json_null(&j);
			if (it[i].offsite_error[0])
				json_kv_str(&j, "error", it[i].offsite_error);
			json_obj_end(&j);
		} else {
			json_null(&j);
		}
		json_kv_uint(&j, "key_files", it[i].nkeys);
		json_kv_str(&j, "key_holders", it[i].keys);
		json_key(&j, "drill");
		if (it[i].have_drill) {
			json_obj_begin(&j);
			json_kv_int(&j, "time_ns", it[i].drill.time_ns);
			json_kv_bool(&j, "ok", it[i].drill.ok);
			json_key(&j, "projected");
			json_double(&j, it[i].drill.projected);
			json_key(&j, "cumulative");
			json_double(&j, it[i].drill.cumulative);
			json_obj_end(&j);
		} else {
			json_null(&j);
		}
		json_key(&j, "commands");
		json_arr_begin(&j);
		if (commands(&it[i], &cb) == 0) {
			/* one command a line, each "    cmd\n" */
			size_t s = 0;
			for (size_t k = 0; k < cb.len; k++)
				if (cb.data[k] == '\n') {
					json_strn(&j, (const char *)cb.data + s + 4, k - s - 4);
					s = k + 1;
				}
		}
		buf_release(&cb);
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	fputc('\n', f);
	fclose(f);
	e = buf_append(b, mem, len);
	free(mem);
	return e;
}

int
policy_plan(const struct policy *p, const char *password, const char *config_path, int json,
	    struct buf *out, struct mm_ctx *c)
{
	struct plan_item *it = calloc(p->nds ? p->nds : 1, sizeof(*it));
	int e;

	if (it == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	for (size_t i = 0; i < p->nds; i++)
		gather(&p->ds[i], password, &it[i]);
	e = json ? plan_json(p, config_path, it, p->nds, out) :
		   plan_markdown(p, config_path, it, p->nds, out);
	if (e != 0)
		mm_fail(c, e, "cannot write the plan");
	for (size_t i = 0; i < p->nds; i++)
		drill_record_release(&it[i].drill);
	free(it);
	return e;
}

/* ---- systemd units ----------------------------------------------------------- */
void
policy_units_free(struct unit_file *u, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_release(&u[i].text);
	free(u);
}

int
policy_units(const struct policy *p, const char *exe, const char *config_path,
	     struct unit_file **out, size_t *n, struct mm_ctx *c)
{
	struct unit_file *u = calloc(2 * p->nds + 1, sizeof(*u));
	size_t k = 0;
	int e = 0;

	if (u == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	for (size_t i = 0; i < p->nds && e == 0; i++) {
		const struct policy_dataset *d = &p->ds[i];

		if (!d->has_schedule)
			continue;
		snprintf(u[k].name, sizeof(u[k].name), "mamori-%s.service", d->name);
		e = bprintf(&u[k].text,
			    "# Made by 'mamori systemd' from %s; run it again after changing the file.\n"
			    "[Unit]\n"
			    "Description=mamori: what is due for dataset %s (backup, retention, copy, check)\n"
			    "Documentation=man:mamori(1)\n"
			    "Wants=network-online.target\n"
			    "After=network-online.target\n"
			    "\n"
			    "[Service]\n"
			    "Type=oneshot\n"
			    "StateDirectory=mamori\n"
			    "ExecStart=%s run --config %s %s\n"
			    "Nice=10\n"
			    "IOSchedulingClass=idle\n",
			    config_path, d->name, exe, config_path, d->name);
		k++;
		if (e != 0)
			break;
		snprintf(u[k].name, sizeof(u[k].name), "mamori-%s.timer", d->name);
		e = bprintf(&u[k].text,
			    "# Made by 'mamori systemd' from %s; run it again after changing the file.\n"
			    "[Unit]\n"
			    "Description=mamori: schedule of dataset %s\n"
			    "\n"
			    "[Timer]\n"
			    "OnCalendar=%s\n"
			    "Persistent=true\n"
			    "RandomizedDelaySec=60\n"
			    "\n"
			    "[Install]\n"
			    "WantedBy=timers.target\n",
			    config_path, d->name, d->schedule.text);
		k++;
	}
	/* The monitoring agent, when the same file has checks (docs/monitoring.md). */
	for (size_t i = 0; i < p->cf.nsecs && e == 0; i++) {
		if (strcmp(p->cf.secs[i].kind->name, "check") != 0)
			continue;
		snprintf(u[k].name, sizeof(u[k].name), "mamori-monitor.service");
		e = bprintf(&u[k].text,
			    "# Made by 'mamori systemd' from %s; run it again after changing the file.\n"
			    "[Unit]\n"
			    "Description=mamori monitor: the checks and alerts of %s\n"
			    "Documentation=man:mamori(1)\n"
			    "Wants=network-online.target\n"
			    "After=network-online.target\n"
			    "\n"
			    "[Service]\n"
			    "Type=simple\n"
			    "StateDirectory=mamori\n"
			    "ExecStart=%s monitor run --config %s\n"
			    "ExecReload=/bin/kill -HUP $MAINPID\n"
			    "Restart=on-failure\n"
			    "RestartSec=10\n"
			    "\n"
			    "[Install]\n"
			    "WantedBy=multi-user.target\n",
			    config_path, config_path, exe, config_path);
		k++;
		break;
	}
	if (e != 0) {
		policy_units_free(u, k);
		return mm_fail(c, e, "out of memory");
	}
	*out = u;
	*n = k;
	return 0;
}
