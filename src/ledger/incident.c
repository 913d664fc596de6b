/*
 * Incidents (docs/incidents.md): every event is a ledger record of command
 * "incident"; an incident's state is what replaying those records gives,
 * so there is no second store that could disagree with the ledger.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"

#define TITLE_MAX 512

const char *
incident_state_name(int state)
{
	switch (state) {
	case INCIDENT_RECOVERED: return "recovered";
	case INCIDENT_RESOLVED: return "resolved";
	default: return "open";
	}
}

int
alert_state_parse(const char *s)
{
	if (strcmp(s, "OK") == 0)
		return ALERT_OK;
	if (strcmp(s, "WARNING") == 0)
		return ALERT_WARNING;
	if (strcmp(s, "CRITICAL") == 0)
		return ALERT_CRITICAL;
	if (strcmp(s, "UNKNOWN") == 0)
		return ALERT_UNKNOWN;
	return -1;
}

static const char *
alert_state_name(int st)
{
	static const char *const n[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

	return st >= 0 && st <= 3 ? n[st] : "UNKNOWN";
}

/* ---- replay ------------------------------------------------------------------------ */

static void
event_release(struct incident_event *e)
{
	free(e->kind);
	free(e->text);
	free(e->owner);
	free(e->due);
	free(e->user);
}

static void
incident_release(struct incident *in)
{
	size_t i;

	free(in->title);
	free(in->scope);
	free(in->check);
	for (i = 0; i < in->ndatasets; i++)
		free(in->datasets[i]);
	free(in->datasets);
	free(in->cause);
	free(in->prevention);
	free(in->prevention_owner);
	for (i = 0; i < in->nev; i++)
		event_release(&in->ev[i]);
	free(in->ev);
}

void
incidents_free(struct incident *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		incident_release(&v[i]);
	free(v);
}

struct incident *
incident_find(struct incident *v, size_t n, const char *id)
{
	char norm[32];
	size_t i;

	if (id == NULL)
		return NULL;
	if (strncmp(id, "INC-", 4) == 0 || strncmp(id, "inc-", 4) == 0)
		id += 4;
	snprintf(norm, sizeof(norm), "INC-%s", id);
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].id, norm) == 0)
			return &v[i];
	}
	return NULL;
}

static int64_t
field_ns(const struct ledger_rec *r, const char *key)
{
	const char *s = ledger_rec_field(r, key);
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return 0;
	v = strtoll(s, &end, 10);
	return *end == '\0' ? (int64_t)v : 0;
}

static char *
dup_field(const struct ledger_rec *r, const char *key)
{
	const char *s = ledger_rec_field(r, key);

	return strdup(s ? s : "");
}

static int
add_event(struct incident *in, const struct ledger_rec *r, const char *kind, const char *text)
{
	struct incident_event *nv, *e;
	int64_t at = field_ns(r, "at");

	if ((nv = realloc(in->ev, (in->nev + 1) * sizeof(*nv))) == NULL)
		return MM_ENOMEM;
	in->ev = nv;
	e = &in->ev[in->nev];
	memset(e, 0, sizeof(*e));
	e->seq = r->seq;
	e->time_ns = r->time_ns;
	e->at_ns = at ? at : r->time_ns;
	e->kind = strdup(kind);
	e->text = strdup(text ? text : "");
	e->owner = dup_field(r, "owner");
	e->due = dup_field(r, "due");
	e->user = strdup(r->sudo_user[0] ? r->sudo_user : r->user);
	in->nev++;
	if (!e->kind || !e->text || !e->owner || !e->due || !e->user)
		return MM_ENOMEM;
	return 0;
}

static int
apply_open(struct incident *in, const struct ledger_rec *r)
{
	const char *sev = ledger_rec_field(r, "severity");
	char text[TITLE_MAX + 64];
	size_t i;

	memset(in, 0, sizeof(*in));
	snprintf(in->id, sizeof(in->id), "INC-%" PRIu64, r->seq);
	in->open_seq = r->seq;
	in->state = INCIDENT_OPEN;
	in->severity = sev && sev[0] >= '1' && sev[0] <= '4' && !sev[1] ? sev[0] - '0' : 3;
	in->detected_ns = field_ns(r, "detected");
	if (in->detected_ns == 0)
		in->detected_ns = r->time_ns;
	in->occurred_ns = field_ns(r, "occurred");
	if (in->occurred_ns == 0)
		in->occurred_ns = in->detected_ns;
	in->rto_ns = field_ns(r, "rto");
	if ((in->title = dup_field(r, "title")) == NULL || (in->scope = dup_field(r, "scope")) == NULL ||
	    (in->check = dup_field(r, "check")) == NULL || (in->cause = strdup("")) == NULL ||
	    (in->prevention = strdup("")) == NULL || (in->prevention_owner = strdup("")) == NULL)
		return MM_ENOMEM;
	for (i = 0; i < r->nfields; i++) {
		char **nd;

		if (strcmp(r->fields[i].key, "dataset") != 0)
			continue;
		if ((nd = realloc(in->datasets, (in->ndatasets + 1) * sizeof(*nd))) == NULL)
			return MM_ENOMEM;
		in->datasets = nd;
		if ((in->datasets[in->ndatasets] = strdup(r->fields[i].value)) == NULL)
			return MM_ENOMEM;
		in->ndatasets++;
	}
	if (ledger_rec_field(r, "alert_state") != NULL)
		snprintf(text, sizeof(text), "%s alert of check %s: %s",
			 ledger_rec_field(r, "alert_state"), in->check,
			 ledger_rec_field(r, "message") ? ledger_rec_field(r, "message") : "");
	else
		snprintf(text, sizeof(text), "%s", in->title);
	return add_event(in, r, "open", text);
}

static int
apply_event(struct incident *in, const struct ledger_rec *r, const char *ev)
{
	char text[LEDGER_TEXT_MAX];
	int e;

	if (strcmp(ev, "note") == 0 || strcmp(ev, "action") == 0)
		return add_event(in, r, ev, ledger_rec_field(r, "text"));
	if (strcmp(ev, "alert") == 0) {
		snprintf(text, sizeof(text), "%s alert of check %s: %s",
			 ledger_rec_field(r, "state") ? ledger_rec_field(r, "state") : "?",
			 ledger_rec_field(r, "check") ? ledger_rec_field(r, "check") : "?",
			 ledger_rec_field(r, "message") ? ledger_rec_field(r, "message") : "");
		return add_event(in, r, ev, text);
	}
	if (strcmp(ev, "recover") == 0) {
		if ((e = add_event(in, r, ev, ledger_rec_field(r, "text"))) != 0)
			return e;
		if (in->recovered_ns == 0)
			in->recovered_ns = in->ev[in->nev - 1].at_ns;
		if (in->state == INCIDENT_OPEN)
			in->state = INCIDENT_RECOVERED;
		return 0;
	}
	if (strcmp(ev, "resolve") == 0) {
		snprintf(text, sizeof(text), "cause: %s; prevention: %s",
			 ledger_rec_field(r, "cause") ? ledger_rec_field(r, "cause") : "",
			 ledger_rec_field(r, "prevention") ? ledger_rec_field(r, "prevention") : "");
		if ((e = add_event(in, r, ev, text)) != 0)
			return e;
		free(in->cause);
		free(in->prevention);
		free(in->prevention_owner);
		in->cause = dup_field(r, "cause");
		in->prevention = dup_field(r, "prevention");
		in->prevention_owner = dup_field(r, "owner");
		if (!in->cause || !in->prevention || !in->prevention_owner)
			return MM_ENOMEM;
		if (in->recovered_ns == 0)
			in->recovered_ns = field_ns(r, "recovered") ? field_ns(r, "recovered") :
					   r->time_ns;
		in->resolved_ns = r->time_ns;
		in->state = INCIDENT_RESOLVED;
		return 0;
	}
	return 0; /* an event of a later version: kept in the ledger, not shown */
}

int
incidents_from_records(const struct ledger_rec *recs, size_t nrec, struct incident **out,
		       size_t *n)
{
	struct incident *v = NULL, *in;
	size_t k = 0, cap = 0, i;
	const char *ev;
	int e;

	for (i = 0; i < nrec; i++) {
		const struct ledger_rec *r = &recs[i];

		if (strcmp(r->command, "incident") != 0 || (ev = ledger_rec_field(r, "event")) == NULL)
			continue;
		if (strcmp(ev, "open") == 0) {
			if (k == cap) {
				size_t nc = cap ? cap * 2 : 16;
				struct incident *nv = realloc(v, nc * sizeof(*nv));

				if (nv == NULL) {
					e = MM_ENOMEM;
					goto fail;
				}
				v = nv;
				cap = nc;
			}
			e = apply_open(&v[k], r);
			k++;
			if (e != 0)
				goto fail;
			continue;
		}
		if ((in = incident_find(v, k, r->target)) == NULL)
			continue;
		if ((e = apply_event(in, r, ev)) != 0)
			goto fail;
	}
	*out = v;
	*n = k;
	return 0;
fail:
	incidents_free(v, k);
	return e;
}

int
ledger_incidents(struct ledger *lg, struct incident **out, size_t *n, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	struct ledger_rec *recs = NULL;
	size_t nrec = 0;
	int e;

	if ((e = ledger_read(lg, &b, c)) == 0 &&
	    (e = ledger_records(b.data, b.len, &recs, &nrec, c)) == 0 &&
	    (e = incidents_from_records(recs, nrec, out, n)) != 0)
		e = mm_fail(c, e, "out of memory");
	ledger_records_free(recs, nrec);
	buf_release(&b);
	return e;
}

void
incident_figures(const struct incident *in, incident_rto_fn rto, void *arg,
		 struct incident_figures *out)
{
	size_t i;
	int64_t r;

	out->ttd_ns = in->detected_ns && in->occurred_ns ? in->detected_ns - in->occurred_ns : -1;
	out->ttr_ns = in->recovered_ns && in->occurred_ns ? in->recovered_ns - in->occurred_ns : -1;
	out->rto_ns = in->rto_ns > 0 ? in->rto_ns : -1;
	/* The strictest RTO among the affected datasets, when the policy knows them. */
	for (i = 0; rto != NULL && i < in->ndatasets; i++) {
		if (rto(in->datasets[i], &r, arg) == 0 && r > 0 && (out->rto_ns < 0 || r < out->rto_ns))
			out->rto_ns = r;
	}
	out->rto_met = out->ttr_ns >= 0 && out->rto_ns > 0 ? out->ttr_ns <= out->rto_ns : -1;
}

/* ---- events -------------------------------------------------------------------------- */

#define FIELDS_MAX 24
struct fields {
	struct ledger_field f[FIELDS_MAX];
	char num[6][32];
	size_t n, nn;
};

static void
put(struct fields *fs, const char *k, const char *v)
{
	if (v != NULL && fs->n < FIELDS_MAX)
		fs->f[fs->n++] = (struct ledger_field){ (char *)k, (char *)v };
}

static void
put_ns(struct fields *fs, const char *k, int64_t v)
{
	if (v != 0 && fs->nn < 6) {
		snprintf(fs->num[fs->nn], sizeof(fs->num[0]), "%" PRId64, v);
		put(fs, k, fs->num[fs->nn++]);
	}
}

static int
append_event(struct ledger *lg, const char *target, const char *result, struct fields *fs,
	     uint64_t *seq, struct mm_ctx *c)
{
	struct ledger_entry en;

	memset(&en, 0, sizeof(en));
	en.command = "incident";
	en.target = target;
	en.result = result;
	en.fields = fs->f;
	en.nfields = fs->n;
	return ledger_append(lg, &en, seq, c);
}

static int
check_text(const char *what, const char *s, size_t max, struct mm_ctx *c)
{
	if (s != NULL && strlen(s) > max)
		return mm_fail(c, MM_ELIMIT, "%s is longer than %zu bytes", what, max);
	return 0;
}

int
ledger_incident_open(struct ledger *lg, const struct incident_open *o, char id[32],
		     struct mm_ctx *c)
{
	struct fields fs;
	char sev[4];
	uint64_t seq;
	size_t i;
	int e;

	memset(&fs, 0, sizeof(fs));
	if (o->title == NULL || o->title[0] == '\0')
		return mm_fail(c, MM_EINVAL, "an incident needs a title");
	if ((e = check_text("the title", o->title, TITLE_MAX, c)) != 0 ||
	    (e = check_text("the scope", o->scope, LEDGER_TEXT_MAX - 1, c)) != 0)
		return e;
	if (o->severity < 0 || o->severity > 4)
		return mm_fail(c, MM_EINVAL, "severity is 1 (highest) to 4");
	if (o->ndatasets > 16)
		return mm_fail(c, MM_ELIMIT, "at most 16 datasets per incident");
	if (o->occurred_ns && o->detected_ns && o->occurred_ns > o->detected_ns)
		return mm_fail(c, MM_EINVAL, "the incident occurred after it was detected");
	snprintf(sev, sizeof(sev), "%d", o->severity ? o->severity : 3);
	put(&fs, "event", "open");
	put(&fs, "title", o->title);
	put(&fs, "severity", sev);
	put(&fs, "scope", o->scope);
	put_ns(&fs, "occurred", o->occurred_ns);
	put_ns(&fs, "detected", o->detected_ns);
	put_ns(&fs, "rto", o->rto_ns);
	put(&fs, "check", o->check);
	for (i = 0; i < o->ndatasets; i++)
		put(&fs, "dataset", o->datasets[i]);
	if ((e = append_event(lg, "", o->title, &fs, &seq, c)) != 0)
		return e;
	snprintf(id, 32, "INC-%" PRIu64, seq);
	return 0;
}

/* The incident named id as the ledger has it now. */
static int
lookup(struct ledger *lg, const char *id, char canon[32], int *state, struct mm_ctx *c)
{
	struct incident *v = NULL, *in;
	size_t n = 0;
	int e;

	if ((e = ledger_incidents(lg, &v, &n, c)) != 0)
		return e;
	if ((in = incident_find(v, n, id)) == NULL) {
		e = mm_fail(c, MM_ENOENT, "no incident %s in the ledger (see 'mamori incident list')", id);
	} else {
		snprintf(canon, 32, "%s", in->id);
		*state = in->state;
		e = 0;
	}
	incidents_free(v, n);
	return e;
}

int
ledger_incident_note(struct ledger *lg, const char *id, const char *text, struct mm_ctx *c)
{
	struct fields fs;
	char canon[32];
	int e, st;

	memset(&fs, 0, sizeof(fs));
	if (text == NULL || text[0] == '\0')
		return mm_fail(c, MM_EINVAL, "an empty note");
	if ((e = check_text("the note", text, LEDGER_TEXT_MAX - 1, c)) != 0 ||
	    (e = lookup(lg, id, canon, &st, c)) != 0)
		return e;
	put(&fs, "event", "note");
	put(&fs, "text", text);
	return append_event(lg, canon, "", &fs, NULL, c);
}

int
ledger_incident_action(struct ledger *lg, const char *id, const char *text, const char *owner,
		       const char *due, struct mm_ctx *c)
{
	struct fields fs;
	char canon[32];
	int e, st;

	memset(&fs, 0, sizeof(fs));
	if (text == NULL || text[0] == '\0')
		return mm_fail(c, MM_EINVAL, "what action was taken?");
	if ((e = check_text("the action", text, LEDGER_TEXT_MAX - 1, c)) != 0 ||
	    (e = check_text("the owner", owner, 256, c)) != 0 ||
	    (e = check_text("the due date", due, 64, c)) != 0 ||
	    (e = lookup(lg, id, canon, &st, c)) != 0)
		return e;
	put(&fs, "event", "action");
	put(&fs, "text", text);
	put(&fs, "owner", owner);
	put(&fs, "due", due);
	return append_event(lg, canon, "", &fs, NULL, c);
}

int
ledger_incident_recover(struct ledger *lg, const char *id, int64_t at_ns, const char *text,
			struct mm_ctx *c)
{
	struct fields fs;
	char canon[32];
	int e, st;

	memset(&fs, 0, sizeof(fs));
	if ((e = check_text("the text", text, LEDGER_TEXT_MAX - 1, c)) != 0 ||
	    (e = lookup(lg, id, canon, &st, c)) != 0)
		return e;
	if (st == INCIDENT_RESOLVED)
		return mm_fail(c, MM_EEXIST, "%s is resolved already", canon);
	put(&fs, "event", "recover");
	put_ns(&fs, "at", at_ns ? at_ns : ledger_now(lg));
	put(&fs, "text", text ? text : "service restored");
	return append_event(lg, canon, "", &fs, NULL, c);
}

int
ledger_incident_resolve(struct ledger *lg, const char *id, const char *cause,
			const char *prevention, const char *owner, int64_t recovered_ns,
			struct mm_ctx *c)
{
	struct fields fs;
	char canon[32];
	int e, st;

	memset(&fs, 0, sizeof(fs));
	if (cause == NULL || cause[0] == '\0' || prevention == NULL || prevention[0] == '\0')
		return mm_fail(c, MM_EINVAL, "resolving needs the cause and the prevention measure");
	if ((e = check_text("the cause", cause, LEDGER_TEXT_MAX - 1, c)) != 0 ||
	    (e = check_text("the prevention", prevention, LEDGER_TEXT_MAX - 1, c)) != 0 ||
	    (e = check_text("the owner", owner, 256, c)) != 0 ||
	    (e = lookup(lg, id, canon, &st, c)) != 0)
		return e;
	if (st == INCIDENT_RESOLVED)
		return mm_fail(c, MM_EEXIST, "%s is resolved already", canon);
	put(&fs, "event", "resolve");
	put(&fs, "cause", cause);
	put(&fs, "prevention", prevention);
	put(&fs, "owner", owner);
	put_ns(&fs, "recovered", recovered_ns);
	return append_event(lg, canon, "", &fs, NULL, c);
}

int
ledger_incident_alert(struct ledger *lg, const char *check, int state, const char *message,
		      char id[32], const char **what, struct mm_ctx *c)
{
	struct incident *v = NULL, *in = NULL;
	struct fields fs;
	char title[TITLE_MAX + 1];
	size_t n = 0, i;
	int e;

	memset(&fs, 0, sizeof(fs));
	id[0] = '\0';
	*what = "recorded";
	if (check == NULL || check[0] == '\0' || state < ALERT_OK || state > ALERT_UNKNOWN)
		return mm_fail(c, MM_EINVAL, "an alert needs a check name and a state");
	if ((e = check_text("the check name", check, 256, c)) != 0 ||
	    (e = check_text("the message", message, LEDGER_TEXT_MAX - 1, c)) != 0)
		return e;
	if ((e = ledger_incidents(lg, &v, &n, c)) != 0)
		return e;
	/* The newest unresolved incident of this check. */
	for (i = n; i > 0; i--) {
		if (v[i - 1].state != INCIDENT_RESOLVED && strcmp(v[i - 1].check, check) == 0) {
			in = &v[i - 1];
			break;
		}
	}
	if (state == ALERT_CRITICAL && in == NULL) {
		uint64_t seq;

		snprintf(title, sizeof(title), "%s: %s", check, message ? message : "CRITICAL");
		/* The open record carries the alert itself. */
		put(&fs, "event", "open");
		put(&fs, "title", title);
		put(&fs, "severity", "2");
		put(&fs, "check", check);
		put(&fs, "alert_state", "CRITICAL");
		put(&fs, "message", message ? message : "");
		if ((e = append_event(lg, "", title, &fs, &seq, c)) == 0) {
			snprintf(id, 32, "INC-%" PRIu64, seq);
			*what = "opened";
		}
		goto out;
	}
	if (in != NULL && state == ALERT_OK) {
		if (in->state == INCIDENT_OPEN) {
			char text[LEDGER_TEXT_MAX];

			snprintf(text, sizeof(text), "check %s is OK again%s%s", check,
				 message && message[0] ? ": " : "", message ? message : "");
			put(&fs, "event", "recover");
			put_ns(&fs, "at", ledger_now(lg));
			put(&fs, "text", text);
			put(&fs, "check", check);
			if ((e = append_event(lg, in->id, "", &fs, NULL, c)) == 0) {
				snprintf(id, 32, "%s", in->id);
				*what = "recovered";
			}
			goto out;
		}
		in = NULL; /* recovered already: just an alert record */
	}
	put(&fs, "event", "alert");
	put(&fs, "check", check);
	put(&fs, "state", alert_state_name(state));
	put(&fs, "message", message ? message : "");
	if (in != NULL) {
		if ((e = append_event(lg, in->id, "", &fs, NULL, c)) == 0) {
			snprintf(id, 32, "%s", in->id);
			*what = "attached";
		}
	} else {
		struct ledger_entry en;

		memset(&en, 0, sizeof(en));
		en.command = "alert";
		en.target = check;
		en.result = alert_state_name(state);
		en.fields = fs.f;
		en.nfields = fs.n;
		e = ledger_append(lg, &en, NULL, c);
	}
out:
	incidents_free(v, n);
	return e;
}
