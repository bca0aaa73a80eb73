/*
 * test_affinity.c - proxy/affinity.c: the owner worker of a destination
 * is in range, the same every time, depends on the address, the port and
 * the family (not on the rest of the sockaddr), and spreads destinations
 * about evenly.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "../../proxy/affinity.h"
#include "t.h"

/* v4 - 192.0.2.x style address a.b.c.d:port */
static struct sockaddr_storage
v4(uint32_t a, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s = (struct sockaddr_in *) &ss;

	memset(&ss, 0, sizeof(ss));
	s->sin_family = AF_INET;
	s->sin_addr.s_addr = htonl(a);
	s->sin_port = htons(port);
	return ss;
}

int
main(void)
{
	struct sockaddr_storage a = v4(0xc0000219, 25), b, six;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &six;
	unsigned count[3] = {0, 0, 0}, diff_port = 0, diff_addr = 0, oor = 0;

	T_INIT("affinity");
	T_CASE("one worker: 0", aff_owner(&a, 1) == 0 && aff_owner(&a, 0) == 0, "%u",
	    aff_owner(&a, 1));
	T_CASE("the same every time", aff_owner(&a, 2) == aff_owner(&a, 2)
	    && aff_owner(&a, 7) == aff_owner(&a, 7), "differs");
	b = a;
	((struct sockaddr_in *) &b)->sin_zero[3] = 9;	/* padding is no input */
	T_CASE("padding does not count", aff_owner(&a, 16) == aff_owner(&b, 16), "differs");
	memset(&six, 0, sizeof(six));
	six.ss_family = AF_UNIX;
	T_CASE("another family: 0", aff_owner(&six, 4) == 0, "%u", aff_owner(&six, 4));
	s6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::25", &s6->sin6_addr);
	s6->sin6_port = htons(25);
	T_CASE("IPv6 in range", aff_owner(&six, 3) < 3, "%u", aff_owner(&six, 3));
	for (uint32_t i = 0; i < 3000; i++) {
		struct sockaddr_storage x = v4(0x0a000000 + i * 7919, 25), y = v4(0x0a000000 + i * 7919, 587);
		struct sockaddr_storage z = v4(0x0a000001 + i * 7919, 25);
		unsigned o = aff_owner(&x, 3);

		oor += o >= 3;
		if (o < 3)
			count[o]++;
		diff_port += aff_owner(&x, 1000) != aff_owner(&y, 1000);
		diff_addr += aff_owner(&x, 1000) != aff_owner(&z, 1000);
	}
	T_CASE("always in range", oor == 0, "%u out of range", oor);
	T_CASE("3 workers: each gets 28..39% of 3000 destinations", count[0] > 840
	    && count[0] < 1170 && count[1] > 840 && count[1] < 1170 && count[2] > 840
	    && count[2] < 1170, "%u %u %u", count[0], count[1], count[2]);
	T_CASE("the port counts", diff_port > 2900, "%u of 3000 differ", diff_port);
	T_CASE("the address counts", diff_addr > 2900, "%u of 3000 differ", diff_addr);
	{
		unsigned two[2] = {0, 0};

		for (uint32_t i = 0; i < 1000; i++) {
			struct sockaddr_storage x = v4(0xc6336400 + i, 25);

			two[aff_owner(&x, 2)]++;
		}
		T_CASE("2 workers: 45..55% each over consecutive addresses", two[0] > 450
		    && two[0] < 550, "%u %u", two[0], two[1]);
	}
	return t_done();
}
