/*
 * SFTP replies (src/backend/sftp_proto.c): the bytes an SFTP server, or
 * whatever answers in its place, sends back. The input is read as a stream
 * of packets, each through the same steps as the backend: length checked
 * against the bound, body decoded, NAME entries walked, a statvfs reply
 * decoded. The same bytes also go through ssh's error reading and the
 * location parser, which take text from outside too.
 */
#include <string.h>

#include "backend/sftp_internal.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct sftp_location loc;
	char why[128], *text;
	size_t off = 0;

	while (size - off >= 4) {
		struct sftp_reply rep;
		uint32_t len;

		if (sftp_frame_len(data + off, SFTP_PACKET_MAX, &len) != 0)
			break;
		FUZZ_ASSERT(len >= 1 && len <= SFTP_PACKET_MAX);
		if (len > size - off - 4)
			break;
		if (sftp_reply_decode(data + off + 4, len, &rep, &c) == 0) {
			const uint8_t *lo = data + off + 4, *hi = lo + len;

			/* Every pointer stays inside the packet. */
			FUZZ_ASSERT(rep.data == NULL || (rep.data >= lo && rep.data + rep.data_len <= hi));
			FUZZ_ASSERT(rep.msg == NULL || (rep.msg >= lo && rep.msg + rep.msg_len <= hi));
			if (rep.type == SFTP_HANDLE)
				FUZZ_ASSERT(rep.data_len >= 1 && rep.data_len <= SFTP_HANDLE_MAX);
			if (rep.type == SFTP_NAME) {
				struct sftp_names it;
				struct sftp_name e;
				int r;
				uint32_t n = 0;

				sftp_names_init(&it, &rep);
				while ((r = sftp_names_next(&it, &e, &c)) == 1) {
					FUZZ_ASSERT(e.name_len == 0 || (e.name >= lo && e.name + e.name_len <= hi));
					n++;
				}
				FUZZ_ASSERT(n <= rep.count);
			}
			if (rep.type == SFTP_EXTENDED_REPLY) {
				struct sftp_statvfs v;

				if (sftp_statvfs_decode(&rep, &v, &c) == 0)
					FUZZ_ASSERT(rep.data_len >= 40);
			}
			if (rep.type == SFTP_STATUS)
				(void)sftp_status_name(rep.status, why, sizeof(why));
		}
		off += 4 + (size_t)len;
	}
	(void)sftp_ssh_diagnose((const char *)data, size, why, sizeof(why));
	FUZZ_ASSERT(strlen(why) < sizeof(why));
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (sftp_location_parse(text, &loc, &c) == 0) {
		FUZZ_ASSERT(loc.host != NULL && loc.host[0] != '\0' && loc.host[0] != '-');
		FUZZ_ASSERT(loc.path != NULL && loc.path[0] != '\0');
		FUZZ_ASSERT(loc.user == NULL || loc.user[0] != '-');
		sftp_location_release(&loc);
	}
	free(text);
	return 0;
}
