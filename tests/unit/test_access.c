/* CIDR lists, and what each address and prefix holds (peers.h): the
 * rate limiter and the connection counts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "server/access.h"
#include "server/peers.h"

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

static const uint8_t test_key[SIPHASH_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

/* one rate-limit check, as the workers make it: find, then take a token */
static bool rate_allows(peers *t, const struct sockaddr_storage *a, double rate, double now)
{
	peer_ref r;
	peers_lock(t);
	bool ok = peers_find(t, a, now, &r) && peers_take_token(t, r.address, rate, now);
	peers_unlock(t);
	return ok;
}

TEST(access_rate_limiter_token_bucket)
{
	peers *t = peers_new(1024, test_key);
	CHECK(t != NULL);
	struct sockaddr_storage a = v4("192.0.2.1"), b = v4("192.0.2.2");
	int allowed = 0;
	for (int i = 0; i < 10; i++)
		allowed += rate_allows(t, &a, 5, 100.0);
	CHECK_EQ(allowed, 5); /* one second's burst */
	CHECK(rate_allows(t, &b, 5, 100.0)); /* other addresses are not affected */
	CHECK(!rate_allows(t, &a, 5, 100.1));
	CHECK(rate_allows(t, &a, 5, 100.3)); /* refilled at 5 per second */
	CHECK(rate_allows(t, &a, 0, 100.3)); /* 0 = no limit */
	peers_free(t);
}

TEST(siphash24_reference_vector)
{
	/* the SipHash paper's appendix: key 00..0f, message 00..0e */
	uint8_t key[16], msg[15];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	CHECK(siphash24(key, msg, sizeof msg) == 0xa129ca6149be45e5ull);
}

/* The old limiter hashed addresses with FNV-1a into 8192 slots and gave a
 * colliding address a fresh bucket: two such addresses taking turns were
 * never limited. Exact keys keep their own buckets whatever they hash to. */
static uint32_t old_slot(const uint8_t a[4])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 4; i++)
		h = (h ^ a[i]) * 16777619u;
	return h % 8192;
}

TEST(access_rate_limit_holds_for_colliding_addresses)
{
	uint8_t first[4] = { 10, 0, 0, 1 }, other[4] = { 10, 0, 0, 2 };
	uint32_t want = old_slot(first);
	for (uint32_t n = 2; old_slot(other) != want; n++) {
		other[2] = (uint8_t)(n >> 8);
		other[3] = (uint8_t)n;
	}
	char text[2][32];
	snprintf(text[0], sizeof text[0], "%u.%u.%u.%u", first[0], first[1], first[2], first[3]);
	snprintf(text[1], sizeof text[1], "%u.%u.%u.%u", other[0], other[1], other[2], other[3]);
	struct sockaddr_storage a = v4(text[0]), b = v4(text[1]);
	peers *t = peers_new(1024, test_key);
	int allowed = 0;
	for (int i = 0; i < 100; i++) {
		allowed += rate_allows(t, &a, 10, 50.0 + i * 0.001);
		allowed += rate_allows(t, &b, 10, 50.0 + i * 0.001);
	}
	CHECK(allowed <= 22); /* each its own burst of 10 (and what 0.1 s refills) */
	/* many addresses in one set: an entry with unspent limits is not taken
	 * while one without exists, and one with connections never is */
	peers *small = peers_new(1, test_key); /* 64 sets of 8 */
	peer_ref held;
	peers_lock(small);
	CHECK(peers_find(small, &a, 1.0, &held));
	peers_attach(small, held);
	for (int i = 0; i < 5000; i++) {
		struct sockaddr_storage x;
		char addr[32];
		snprintf(addr, sizeof addr, "10.9.%d.%d", i / 250, i % 250);
		x = v4(addr);
		peer_ref r;
		peers_find(small, &x, 2.0 + i, &r);
	}
	peer_ref again;
	CHECK(peers_find(small, &a, 9000.0, &again));
	CHECK_EQ(again.address, held.address);
	CHECK_EQ(peers_connections(small, again.address), 1);
	peers_unlock(small);
	peers_free(small);
	peers_free(t);
}

TEST(access_peers_count_addresses_and_prefixes)
{
	peers *t = peers_new(1024, test_key);
	struct sockaddr_storage a = v4("192.0.2.1"), b = v4("192.0.2.200"), c = v4("192.0.3.1");
	struct sockaddr_storage m = v6("::ffff:192.0.2.1"), x6 = v6("2001:db8:1:2::1"),
				y6 = v6("2001:db8:1:2:ffff::9"), z6 = v6("2001:db8:1:3::1");
	peer_ref ra, rb, rc, rm, rx, ry, rz;
	peers_lock(t);
	CHECK(peers_find(t, &a, 1, &ra) && peers_find(t, &b, 1, &rb) && peers_find(t, &c, 1, &rc));
	CHECK(peers_find(t, &m, 1, &rm));
	CHECK_EQ(rm.address, ra.address); /* IPv4-mapped is the same address */
	CHECK(ra.address != rb.address);
	CHECK_EQ(ra.prefix, rb.prefix); /* one /24 */
	CHECK(ra.prefix != rc.prefix);
	peers_attach(t, ra);
	peers_attach(t, rb);
	peers_attach(t, rb);
	CHECK_EQ(peers_connections(t, ra.address), 1);
	CHECK_EQ(peers_connections(t, rb.address), 2);
	CHECK_EQ(peers_connections(t, ra.prefix), 3);
	CHECK_EQ(peers_connections(t, rc.prefix), 0);
	peers_detach(t, rb);
	CHECK_EQ(peers_connections(t, ra.prefix), 2);
	CHECK(peers_find(t, &x6, 1, &rx) && peers_find(t, &y6, 1, &ry) && peers_find(t, &z6, 1, &rz));
	CHECK(rx.address != ry.address);
	CHECK_EQ(rx.prefix, ry.prefix); /* one /64 */
	CHECK(rx.prefix != rz.prefix);
	CHECK(rx.prefix != ra.prefix);
	struct sockaddr_storage unix_peer;
	memset(&unix_peer, 0, sizeof unix_peer);
	unix_peer.ss_family = AF_UNIX;
	peer_ref ru;
	CHECK(peers_find(t, &unix_peer, 1, &ru));
	CHECK_EQ(ru.address, PEER_NONE);
	CHECK_EQ(peers_connections(t, ru.address), 0);
	peers_unlock(t);
	peers_free(t);
}
