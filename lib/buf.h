/*
 * buf.h - the one growable byte buffer.
 *
 * SYNOPSIS
 *	struct buf { char *data; size_t off, len, cap; };
 *	void buf_init(struct buf *b);
 *	void buf_free(struct buf *b);
 *	int buf_reserve(struct buf *b, size_t need);
 *	int buf_append(struct buf *b, const void *p, size_t n);
 *	int buf_puts(struct buf *b, const char *s);
 *	int buf_printf(struct buf *b, const char *fmt, ...);
 *	char *buf_head(const struct buf *b);
 *	size_t buf_used(const struct buf *b);
 *	void buf_consume(struct buf *b, size_t n);
 *	void buf_reset(struct buf *b);
 *	void buf_release(struct buf *b);
 *
 *	size_t str_addf(char *dst, size_t len, size_t w, const char *fmt, ...);
 *
 * DESCRIPTION
 *	The live bytes are data[off .. len).  buf_consume() drops bytes at
 *	the front in O(1); the space is reclaimed by buf_reserve() when it
 *	needs room.  buf_reserve() makes room for `need' more bytes at the
 *	end and returns the writable pointer's room via b->cap - b->len.
 *	buf_release() frees the storage of an empty buffer, so that idle
 *	sessions hold no buffer memory.
 *
 *	str_addf() is for a fixed array, not a struct buf: it formats at
 *	dst + w (w < len, dst NUL-ended there) and returns the new length,
 *	at most len - 1: what does not fit is cut, and dst stays NUL-ended.
 *	A full dst (w at len - 1 or beyond) is NUL-ended at len - 1 and
 *	len - 1 returned; a len of 0 or a format error return w unchanged.
 *
 * DIAGNOSTICS
 *	Functions that allocate return -1 when memory runs out (the buffer
 *	is unchanged) and 0 on success.
 */
#ifndef MXTLS_BUF_H
#define MXTLS_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t off;			/* first live byte */
	size_t len;			/* end of live bytes */
	size_t cap;			/* allocated size */
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
int buf_reserve(struct buf *b, size_t need);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
void buf_release(struct buf *b);

/* buf_head - first live byte */
static inline char *
buf_head(const struct buf *b)
{
	return b->data + b->off;
}

/* buf_used - number of live bytes */
static inline size_t
buf_used(const struct buf *b)
{
	return b->len - b->off;
}

size_t str_addf(char *dst, size_t len, size_t w, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
