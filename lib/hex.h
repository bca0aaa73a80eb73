/*
 * hex.h - hex_val(): the value of one hex digit (either case), or -1.
 */
#ifndef MXTLS_HEX_H
#define MXTLS_HEX_H

/* hex_val - one hex digit's value, or -1 */
static inline int
hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
