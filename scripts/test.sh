#!/usr/bin/env bash
# The test command (README): restore, build (warnings are errors) and run every test project,
# then print one summary line "N passed, N failed". Long scenario runs are marked
# [Trait("Category", "Long")] and skipped here; run them with: scripts/test.sh --long
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

filter="Category!=Long"
if [ "${1:-}" = "--long" ]; then filter="Category=Long"; fi

mkdir -p artifacts

# Debian packages the tests use beyond the .NET SDK (rsyslog, chromium, fonts-noto-cjk, postgresql, mount): installed
# when missing (as root; otherwise the script prints the apt-get line and stops).
scripts/test-prerequisites.sh || { echo "0 passed, 1 failed"; exit 1; }

# The storage tests also run on PostgreSQL (docs/storage.md): unless CUSTODIAN_TEST_POSTGRES names a server, start the
# private test server for this run and stop it at the end.
if [ -z "${CUSTODIAN_TEST_POSTGRES:-}" ]; then
  CUSTODIAN_TEST_POSTGRES="$(scripts/postgres-test-server.sh)" || { echo "0 passed, 1 failed"; exit 1; }
  export CUSTODIAN_TEST_POSTGRES
  trap 'scripts/postgres-test-server.sh stop' EXIT
fi

dotnet build Custodian.sln -c Release 2>&1 | tail -n 3
build=${PIPESTATUS[0]}
if [ "$build" -ne 0 ]; then
  dotnet build Custodian.sln -c Release 2>&1 | grep -E "error" | sort -u | head -50
  echo "0 passed, 1 failed"
  exit "$build"
fi

dotnet test Custodian.sln -c Release --no-build --filter "$filter" 2>&1 | tee artifacts/test.log
rc=${PIPESTATUS[0]}
passed=$(grep -aoE 'Passed: +[0-9]+' artifacts/test.log | awk '{s+=$2} END {print s+0}')
failed=$(grep -aoE 'Failed: +[0-9]+' artifacts/test.log | awk '{s+=$2} END {print s+0}')
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit "$rc"
