#!/usr/bin/env bash
# Installs what the test suite needs beyond the .NET SDK, from Debian's packages, when it is missing:
#   mount                 the full-disk test mounts a small tmpfs (tests/Custodian.Tests/Crash; needs root)
#   rsyslog, -gnutls      the SIEM export tests start a real rsyslogd (imtcp, gtls); no system service is used
#   chromium, fonts-noto-cjk  the web pages are tested in headless Chromium (Playwright cannot download browsers here)
#   postgresql            the storage tests also run on a private PostgreSQL (scripts/postgres-test-server.sh)
#   nats-server           the event-log tests start a real nats-server with JetStream on 127.0.0.1 (tests/Custodian.Tests/Events)
# Called by scripts/test.sh and .ci/run. Installing needs root; without it, prints the apt-get line and fails.
set -euo pipefail
packages=(mount rsyslog rsyslog-gnutls chromium fonts-noto-cjk postgresql)
packages+=(nats-server) # the event-log tests (docs/events.md)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "The tests need: apt-get install -y --no-install-recommends ${missing[*]} (run it as root, then again)." >&2
  exit 1
fi
echo "Installing test prerequisites: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
  || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
