/* CIDR lists and the per-address rate limiter. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "server/access.h"

static struct sockaddr_storage v4(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;
	s->sin_family = AF_INET;
	inet_pton(AF_INET, a, &s->sin_addr);
	return ss;
}

static struct sockaddr_storage v6(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
	s->sin6_family = AF_INET6;
	inet_pton(AF_INET6, a, &s->sin6_addr);
	return ss;
}

TEST(access_cidr_parse_and_match)
{
	cidr c;
	char text[64];
	CHECK(cidr_parse("192.0.2.0/24", &c));
	struct sockaddr_storage in = v4("192.0.2.77"), out = v4("192.0.3.1");
	CHECK(cidr_match(&c, &in));
	CHECK(!cidr_match(&c, &out));
	struct sockaddr_storage mapped = v6("::ffff:192.0.2.9");
	CHECK(cidr_match(&c, &mapped)); /* IPv4-mapped IPv6 peers match IPv4 lists */
	cidr_format(&c, text, sizeof text);
	CHECK_STR(text, "192.0.2.0/24");
	CHECK(cidr_parse("10.1.2.3", &c));
	CHECK_EQ(c.bits, 32);
	CHECK(cidr_parse("2001:db8::/33", &c));
	struct sockaddr_storage a6 = v6("2001:db8:7fff::1"), b6 = v6("2001:db8:8000::1");
	CHECK(cidr_match(&c, &a6));
	CHECK(!cidr_match(&c, &b6));
	CHECK(!cidr_match(&c, &in));
	CHECK(cidr_parse("0.0.0.0/0", &c));
	CHECK(cidr_match(&c, &out));
	CHECK(!cidr_parse("10.0.0.0/33", &c));
	CHECK(!cidr_parse("10.0.0.0/", &c));
	CHECK(!cidr_parse("example.com", &c));
	CHECK(!cidr_parse("", &c));
}

TEST(access_deny_wins_and_allow_limits)
{
	cidr allow[2], deny[1];
	cidr_parse("10.0.0.0/8", &allow[0]);
	cidr_parse("192.0.2.0/24", &allow[1]);
	cidr_parse("10.66.0.0/16", &deny[0]);
	struct sockaddr_storage a = v4("10.1.1.1"), b = v4("10.66.1.1"), c = v4("198.51.100.1");
	CHECK(access_permitted(allow, 2, deny, 1, &a));
	CHECK(!access_permitted(allow, 2, deny, 1, &b));
	CHECK(!access_permitted(allow, 2, deny, 1, &c));
	CHECK(access_permitted(NULL, 0, deny, 1, &c)); /* no allow list: all but denied */
	CHECK(!access_permitted(NULL, 0, deny, 1, &b));
}

TEST(access_rate_limiter_token_bucket)
{
	rate_limiter *r = rate_limiter_new();
	CHECK(r != NULL);
	struct sockaddr_storage a = v4("192.0.2.1"), b = v4("192.0.2.2");
	int allowed = 0;
	for (int i = 0; i < 10; i++)
		allowed += rate_limiter_allow(r, &a, 5, 100.0);
	CHECK_EQ(allowed, 5); /* one second's burst */
	CHECK(rate_limiter_allow(r, &b, 5, 100.0)); /* other addresses are not affected */
	CHECK(!rate_limiter_allow(r, &a, 5, 100.1));
	CHECK(rate_limiter_allow(r, &a, 5, 100.3)); /* refilled at 5 per second */
	CHECK(rate_limiter_allow(r, &a, 0, 100.3)); /* 0 = no limit */
	rate_limiter_free(r);
}
