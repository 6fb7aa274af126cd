#!/bin/sh
# kmsd's container entrypoint. The configuration file (/etc/kmsd.conf, or
# one mounted over it) is the source of truth: nothing is passed that
# overrides it, except the few settings people set per container, and only
# those given as environment variables:
#
#   KMSD_COUNT           count            always | real
#   KMSD_SERVE           serve            which products are served
#   KMSD_WEB             web              yes: the status page and API
#   KMSD_WEB_LISTEN      web-listen       their address, e.g. 0.0.0.0:8688
#   KMSD_WEB_TOKEN_FILE  web-token-file   a secret file (a mounted secret)
#   KMSD_LOG_LEVEL       log-level        debug | info | warning | error
#
# Arguments after the image name are passed on to kmsd (-o KEY=VALUE...).
set -eu
set -- -f -c /etc/kmsd.conf "$@"
for pair in COUNT=count SERVE=serve WEB=web WEB_LISTEN=web-listen WEB_TOKEN_FILE=web-token-file LOG_LEVEL=log-level; do
	var="KMSD_${pair%%=*}"
	eval "value=\${$var-}"
	if [ -n "$value" ]; then
		set -- "$@" -o "${pair#*=}=$value"
	fi
done
exec kmsd "$@"
