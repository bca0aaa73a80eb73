/*
 * buf.c - the one growable byte buffer.  See buf.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define BUF_MIN 256

/* buf_init - empty buffer without storage */
void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

/* buf_free - release storage */
void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

/* buf_reserve - room for need more bytes at the end */
int
buf_reserve(struct buf *b, size_t need)
{
	size_t used = b->len - b->off;
	size_t ncap;
	char *p;

	if (b->cap - b->len >= need)
		return 0;
	/* Reclaim consumed space first when that is enough. */
	if (b->off > 0 && b->cap - used >= need) {
		memmove(b->data, b->data + b->off, used);
		b->off = 0;
		b->len = used;
		return 0;
	}
	if (need > ((size_t) -1) / 2 - used)
		return -1;
	ncap = b->cap < BUF_MIN ? BUF_MIN : b->cap;
	while (ncap - used < need)
		ncap *= 2;
	if ((p = malloc(ncap)) == NULL)
		return -1;
	if (used)
		memcpy(p, b->data + b->off, used);
	free(b->data);
	b->data = p;
	b->off = 0;
	b->len = used;
	b->cap = ncap;
	return 0;
}

/* buf_append - copy bytes to the end */
int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) < 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* buf_puts - append a C string */
int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* buf_printf - append formatted text */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t) n + 1) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
	return 0;
}

/* buf_consume - drop n bytes at the front */
void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len - b->off) {
		b->off = b->len = 0;
		return;
	}
	b->off += n;
}

/* buf_reset - drop all live bytes, keep storage */
void
buf_reset(struct buf *b)
{
	b->off = b->len = 0;
}

/* buf_release - free the storage of an empty buffer */
void
buf_release(struct buf *b)
{
	if (b->off == b->len)
		buf_free(b);
}

/* str_addf - append a formatted text to a fixed array, cut to fit */
size_t
str_addf(char *dst, size_t len, size_t w, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (len == 0)
		return w;
	if (w >= len - 1) {
		dst[len - 1] = 0;
		return len - 1;
	}
	va_start(ap, fmt);
	r = vsnprintf(dst + w, len - w, fmt, ap);
	va_end(ap);
	if (r < 0)
		return w;
	return (size_t) r < len - w ? w + (size_t) r : len - 1;
}
