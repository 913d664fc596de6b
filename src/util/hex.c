/* Lowercase hex encoding and strict decoding. */
#include <stdint.h>
#include <string.h>

#include "util/util.h"

static int
hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* Returns 0, or MM_EINVAL unless in is exactly 2n hex digits (out untouched
 * on error). */
int
hex_decode(const char *in, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (in == NULL || n > SIZE_MAX / 2 || strnlen(in, 2 * n + 1) != 2 * n)
		return MM_EINVAL;
	for (i = 0; i < 2 * n; i++) {
		if (hex_val((unsigned char)in[i]) < 0)
			return MM_EINVAL;
	}
	for (i = 0; i < n; i++) {
		hi = hex_val((unsigned char)in[2 * i]);
		lo = hex_val((unsigned char)in[2 * i + 1]);
		out[i] = (uint8_t)((hi << 4) | lo);
	}
	return 0;
}

size_t
hex_prefix_len(const char *s)
{
	size_t i = 0;

	if (s == NULL)
		return 0;
	while (hex_val((unsigned char)s[i]) >= 0)
		i++;
	return i;
}
