/* An NTP reply from the network: decoded, checked, measured, its refid
 * and kiss code turned into text. */
#include <string.h>

#include "fuzz.h"
#include "timesync/timesync.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct ntp_packet p;
	struct ntp_sample s;
	uint8_t again[NTP_PACKET_LEN];
	char refid[16], kiss[5];

	if (ntp_packet_decode(data, size, &p, &c) != 0) {
		FUZZ_ASSERT(size < NTP_PACKET_LEN);
		return 0;
	}
	FUZZ_ASSERT(size >= NTP_PACKET_LEN);
	ntp_packet_encode(&p, again);
	FUZZ_ASSERT(memcmp(again, data, NTP_PACKET_LEN) == 0);
	if (ntp_reply_check(&p, p.org, p.ref, &c) == 0)
		FUZZ_ASSERT(p.mode == 4 && p.tx != 0 && p.tx != p.ref);
	else
		FUZZ_ASSERT(c.msg[0] != '\0');
	ntp_refid_text(&p, refid, sizeof(refid));
	FUZZ_ASSERT(strlen(refid) < sizeof(refid));
	if (ntp_packet_is_kiss(&p, kiss)) {
		FUZZ_ASSERT(strlen(kiss) == 4);
		(void)ntp_kiss_meaning(kiss);
	}
	ntp_sample_compute(p.ref, p.rx, p.tx, p.org, p.precision, &s);
	FUZZ_ASSERT(s.delay > 0 && s.disp > 0);
	return 0;
}
