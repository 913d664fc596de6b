/* NTP timestamps, the 48-byte header, the on-wire checks and one sample. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "timesync/timesync.h"

const char *
ts_strerror(int code)
{
	switch (code) {
	case MM_EKOD: return "the time server sent a kiss-o'-death";
	case MM_EBOGUS: return "a time server's reply failed the protocol checks";
	case MM_EUNSYNC: return "not synchronised";
	case MM_ENOSOURCE: return "no usable time source";
	default: return mm_strerror(code);
	}
}

ntp_ts
ntp_ts_from_unix_ns(int64_t ns)
{
	int64_t s = ns / 1000000000, f = ns % 1000000000;
	uint64_t sec, frac;

	if (f < 0) {
		f += 1000000000;
		s--;
	}
	sec = (uint64_t)s + NTP_UNIX_OFFSET; /* modulo 2^32 below: the era drops */
	frac = ((uint64_t)f << 32) / 1000000000u;
	return (sec << 32) | (frac & 0xffffffffu);
}

double
ntp_ts_diff(ntp_ts a, ntp_ts b)
{
	/* Two's complement difference: right across an era boundary. */
	int64_t d = (int64_t)(a - b);

	return (double)d / 4294967296.0;
}

double
ntp_short_to_sec(uint32_t v)
{
	return (double)v / 65536.0;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

void
ntp_packet_encode(const struct ntp_packet *p, uint8_t out[NTP_PACKET_LEN])
{
	out[0] = (uint8_t)((p->leap & 3) << 6 | (p->version & 7) << 3 | (p->mode & 7));
	out[1] = p->stratum;
	out[2] = (uint8_t)p->poll;
	out[3] = (uint8_t)p->precision;
	put32(out + 4, p->root_delay);
	put32(out + 8, p->root_disp);
	put32(out + 12, p->refid);
	put64(out + 16, p->ref);
	put64(out + 24, p->org);
	put64(out + 32, p->rx);
	put64(out + 40, p->tx);
}

int
ntp_packet_decode(const uint8_t *b, size_t n, struct ntp_packet *out, struct mm_ctx *c)
{
	if (n < NTP_PACKET_LEN)
		return mm_fail(c, MM_EBOGUS, "truncated reply: %zu bytes, an NTP header has 48", n);
	out->leap = b[0] >> 6;
	out->version = (b[0] >> 3) & 7;
	out->mode = b[0] & 7;
	out->stratum = b[1];
	out->poll = (int8_t)b[2];
	out->precision = (int8_t)b[3];
	out->root_delay = get32(b + 4);
	out->root_disp = get32(b + 8);
	out->refid = get32(b + 12);
	out->ref = get64(b + 16);
	out->org = get64(b + 24);
	out->rx = get64(b + 32);
	out->tx = get64(b + 40);
	return 0;
}

void
ntp_refid_text(const struct ntp_packet *p, char *out, size_t n)
{
	uint32_t v = p->refid;

	if (p->stratum <= 1) {
		char s[5];
		for (int i = 0; i < 4; i++) {
			uint8_t ch = (uint8_t)(v >> (24 - 8 * i));
			s[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : (ch == 0 ? '\0' : '.');
			if (ch == 0) {
				for (; i < 4; i++)
					s[i] = '\0';
				break;
			}
		}
		s[4] = '\0';
		snprintf(out, n, "%s", s);
		return;
	}
	snprintf(out, n, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
}

const char *
ntp_kiss_meaning(const char code[5])
{
	static const struct { const char *code, *text; } k[] = {
		{ "RATE", "the server limits how often it may be asked: this host polls too "
			  "often; do not ask again before the poll interval grows" },
		{ "DENY", "the server denies this host access (its access control refuses "
			  "the address); use another server or ask its operator" },
		{ "RSTR", "the server restricts this host (access denied by its restrict "
			  "rules); use another server or ask its operator" },
		{ "AUTH", "the server requires authentication (a key) this request did not carry" },
		{ "AUTO", "autokey sequence failed" },
		{ "CRYP", "cryptographic authentication or identification failed" },
		{ "NKEY", "the key this request named is not known to the server" },
		{ "NTSN", "the server asks for a new NTS cookie" },
		{ "INIT", "the server has not yet synchronised to anything" },
		{ "STEP", "the server just stepped its clock" },
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		if (strcmp(code, k[i].code) == 0)
			return k[i].text;
	}
	return NULL;
}

int
ntp_packet_is_kiss(const struct ntp_packet *p, char out[5])
{
	if (p->stratum != 0)
		return 0;
	for (int i = 0; i < 4; i++) {
		uint8_t ch = (uint8_t)(p->refid >> (24 - 8 * i));
		out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '.';
	}
	out[4] = '\0';
	return 1;
}

int
ntp_reply_check(const struct ntp_packet *p, ntp_ts sent_tx, ntp_ts last_tx, struct mm_ctx *c)
{
	if (p->mode != 4)
		return mm_fail(c, MM_EBOGUS, "reply in mode %u, not 4 (server)", p->mode);
	if (p->version < 1 || p->version > 4)
		return mm_fail(c, MM_EBOGUS, "reply of NTP version %u", p->version);
	if (p->org != sent_tx)
		return mm_fail(c, MM_EBOGUS, "origin timestamp does not match our request "
			       "(a stale, replayed or spoofed packet)");
	if (p->tx == 0)
		return mm_fail(c, MM_EBOGUS, "reply with a zero transmit timestamp");
	if (last_tx != 0 && p->tx == last_tx)
		return mm_fail(c, MM_EBOGUS, "duplicate reply (same transmit timestamp twice)");
	if (p->rx == 0 && p->stratum != 0)
		return mm_fail(c, MM_EBOGUS, "reply with a zero receive timestamp");
	return 0;
}

void
ntp_sample_compute(ntp_ts t1, ntp_ts t2, ntp_ts t3, ntp_ts t4, int8_t server_precision,
		   struct ntp_sample *out)
{
	/* Differences first, each within 68 years, then sums in doubles. */
	double a = ntp_ts_diff(t2, t1), b = ntp_ts_diff(t3, t4);
	double rtt = ntp_ts_diff(t4, t1), hold = ntp_ts_diff(t3, t2);
	double prec = ldexp(1.0, server_precision) + ldexp(1.0, -20);

	out->offset = (a + b) / 2;
	out->delay = rtt - hold;
	if (out->delay < prec)
		out->delay = prec;
	/* PHI = 15 ppm over the round trip, plus both precisions */
	out->disp = prec + 15e-6 * (rtt > 0 ? rtt : 0);
}
