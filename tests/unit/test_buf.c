/*
 * test_buf.c - the growable buffer: append, consume, reclaim, release.
 */
#include <string.h>

#include "../../lib/buf.h"
#include "t.h"

int
main(void)
{
	struct buf b;
	int ok = 1;

	T_INIT("buf");
	{
		char a[8];
		size_t w;

		w = str_addf(a, sizeof(a), 0, "%s", "abc");
		T_CASE("str_addf: fits", w == 3 && strcmp(a, "abc") == 0, "%zu %s", w, a);
		w = str_addf(a, sizeof(a), w, "%d", 1234);
		T_CASE("str_addf: exactly full (len - 1)", w == 7 && strcmp(a, "abc1234") == 0,
		    "%zu %s", w, a);
		w = str_addf(a, sizeof(a), w, "more");
		T_CASE("str_addf: full stays full", w == 7 && strcmp(a, "abc1234") == 0, "%zu %s", w,
		    a);
		w = str_addf(a, sizeof(a), 2, "%s", "xyzxyzxyz");
		T_CASE("str_addf: cut to fit, NUL-ended", w == 7 && strcmp(a, "abxyzxy") == 0,
		    "%zu %s", w, a);
		a[0] = 'q';
		w = str_addf(a, 1, 0, "%s", "x");
		T_CASE("str_addf: len 1 holds the NUL alone", w == 0 && a[0] == 0, "%zu", w);
		w = str_addf(a, 0, 5, "%s", "x");
		T_CASE("str_addf: len 0 writes nothing", w == 5 && a[0] == 0, "%zu", w);
		w = str_addf(a, sizeof(a), 20, "%s", "x");
		T_CASE("str_addf: w beyond len is clamped", w == 7 && a[7] == 0, "%zu", w);
	}
	buf_init(&b);
	T_CASE("empty has no storage", b.data == NULL && buf_used(&b) == 0, "data=%p", (void *) b.data);
	buf_puts(&b, "hello ");
	buf_printf(&b, "%s %d", "world", 42);
	T_CASE("append and printf", buf_used(&b) == 14 && memcmp(buf_head(&b), "hello world 42", 14) == 0,
	    "%.*s", (int) buf_used(&b), buf_head(&b));
	buf_consume(&b, 6);
	T_CASE("consume from front", buf_used(&b) == 8 && memcmp(buf_head(&b), "world 42", 8) == 0,
	    "%.*s", (int) buf_used(&b), buf_head(&b));
	/* Many appends and consumes: content stays right, memory bounded. */
	for (int i = 0; i < 100000; i++) {
		char c = (char) ('a' + i % 26);

		buf_append(&b, &c, 1);
		if (buf_used(&b) > 100) {
			ok &= buf_head(&b)[0] != 0;
			buf_consume(&b, 50);
		}
	}
	T_CASE("streaming keeps capacity bounded", ok && b.cap <= 1024, "cap=%zu", b.cap);
	buf_consume(&b, buf_used(&b) + 10);
	T_CASE("over-consume empties", buf_used(&b) == 0, "used=%zu", buf_used(&b));
	buf_release(&b);
	T_CASE("release frees empty buffer", b.data == NULL && b.cap == 0, "cap=%zu", b.cap);
	buf_puts(&b, "x");
	buf_release(&b);
	T_CASE("release keeps a non-empty buffer", b.data != NULL && buf_used(&b) == 1, "freed");
	T_CASE("absurd reservation refused", buf_reserve(&b, (size_t) -1 / 2) == -1, "accepted");
	buf_free(&b);
	return t_done();
}
