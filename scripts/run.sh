#!/usr/bin/env bash
# `make run`: start Portline on the embedded default (SQLite under ./data unless PORTLINE_* says
# otherwise) and print the base URL and a ready-to-use API key of the default organization.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/portline
export PORTLINE_DATA_DIR=${PORTLINE_DATA_DIR:-./data}
# Each `make run` mints a fresh key named "make run" and revokes the previous one.
key=$("$bin" key create --org "${PORTLINE_DEFAULT_ORG:-default}" --name "make run" --rotate)
listen=${PORTLINE_LISTEN:-127.0.0.1:8080}
# The SIP engine answers OPTIONS on loopback (override or empty PORTLINE_SIP_LISTEN to change).
export PORTLINE_SIP_LISTEN=${PORTLINE_SIP_LISTEN-udp:127.0.0.1:5060,tcp:127.0.0.1:5060}
cat <<BANNER

  Portline is starting on http://${listen}
  API key (organization "${PORTLINE_DEFAULT_ORG:-default}", every entitlement):

    ${key}

  Try:  curl -H "Authorization: Bearer ${key}" http://${listen}/v1/organization
        build/portline sip options sip:127.0.0.1:5060      (SIP: ${PORTLINE_SIP_LISTEN:-off})
  Stop: Ctrl-C (graceful)

BANNER
exec "$bin" serve
