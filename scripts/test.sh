#!/usr/bin/env bash
# The test command (README): restore, build (warnings are errors) and run every test project,
# then the functional suite a second time on PostgreSQL, and print one summary line "N passed, N failed"
# for both. Long scenario runs are marked [Trait("Category", "Long")] and skipped here; run them with:
# scripts/test.sh --long
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

rm -f artifacts/test-postgres.log
dotnet test Custodian.sln -c Release --no-build --filter "$filter" 2>&1 | tee artifacts/test.log
rc=${PIPESTATUS[0]}

# Second pass (docs/storage.md, "Running the tests on PostgreSQL"): the functional suite (tests/Custodian.Tests) again
# with every CustodianTestHost on PostgreSQL, except tests/Custodian.Tests/Backends, which already ran on both. Skipped
# when the first pass already ran on PostgreSQL (CUSTODIAN_TEST_BACKEND=postgres).
if [ "${CUSTODIAN_TEST_BACKEND:-sqlite}" != postgres ]; then
  CUSTODIAN_TEST_BACKEND=postgres dotnet test tests/Custodian.Tests -c Release --no-build \
    --filter "($filter)&Backend!=Sqlite&Backend!=Both&FullyQualifiedName!~Custodian.Tests.Backends.&FullyQualifiedName!~Custodian.Tests.Cluster." 2>&1 | tee artifacts/test-postgres.log # Cluster runs on PostgreSQL already; [Trait("Backend", "Sqlite")] classes run on SQLite whatever the backend; [Trait("Backend", "Both")] theories name each row's backend and already ran on both in the first pass
  pg=${PIPESTATUS[0]}
  if [ "$rc" -eq 0 ]; then rc=$pg; fi
fi

passed=$(cat artifacts/test.log artifacts/test-postgres.log 2>/dev/null | grep -aoE 'Passed: +[0-9]+' | awk '{s+=$2} END {print s+0}')
failed=$(cat artifacts/test.log artifacts/test-postgres.log 2>/dev/null | grep -aoE 'Failed: +[0-9]+' | awk '{s+=$2} END {print s+0}')
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit "$rc"
