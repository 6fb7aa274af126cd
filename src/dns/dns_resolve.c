/* Names to addresses for the publisher: the DNS server to update and this
 * machine's own name, through the system's resolver (getaddrinfo), so
 * /etc/hosts and nsswitch are honoured as for any other program. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/dns_update.h"

bool dns_endpoint_resolve(const char *server, dns_endpoint *ep, char *err, size_t err_len)
{
	char host[DNS_NAME_MAX + 8];
	if (!dns_split_server(server, host, sizeof host, &ep->port)) {
		snprintf(err, err_len, "\"%s\" is not a DNS server address", server);
		return false;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(err, err_len, "cannot resolve the DNS server %s: %s", host, gai_strerror(rc));
		return false;
	}
	const void *addr = res->ai_family == AF_INET6
				   ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
				   : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
	bool ok = inet_ntop(res->ai_family, addr, ep->address, sizeof ep->address) != NULL;
	if (ok)
		snprintf(ep->text, sizeof ep->text, res->ai_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
			 ep->address, ep->port);
	else
		snprintf(err, err_len, "cannot resolve the DNS server %s", host);
	freeaddrinfo(res);
	return ok;
}

bool dns_local_fqdn(char *out, size_t len, char *err, size_t err_len)
{
	char name[256];
	if (gethostname(name, sizeof name) != 0) {
		snprintf(err, err_len, "cannot read this machine's host name; set dns-host");
		return false;
	}
	name[sizeof name - 1] = 0;
	struct addrinfo hints = { .ai_flags = AI_CANONNAME }, *res = NULL;
	const char *fqdn = name;
	if (getaddrinfo(name, NULL, &hints, &res) == 0 && res && res->ai_canonname)
		fqdn = res->ai_canonname;
	/* a name without a dot is no use to clients in other domains; and
	 * what /etc/hosts says is checked like dns-host would be */
	char why[200];
	bool ok = strchr(fqdn, '.') && dns_name_check(fqdn, out, len, why, sizeof why);
	if (!ok)
		snprintf(err, err_len, "this machine's name \"%.100s\" is not a fully qualified "
			 "DNS name; set dns-host", fqdn);
	if (res)
		freeaddrinfo(res);
	return ok;
}
