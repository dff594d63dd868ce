#!/usr/bin/env bash
# Builds the solution (warnings are errors) and runs every test; the last line is "N passed, N failed[, N skipped]".
# Exit status is non-zero when the build fails or any test fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
results="$root/artifacts/test-results"

# Integration tests use a real redis-server.
if ! command -v redis-server >/dev/null 2>&1; then
    echo "redis-server not found; installing it with apt-get" >&2
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); fi
    fi
    if ! { "${sudo_cmd[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq redis-server; } >&2; then
        echo "warning: could not install redis-server; tests that need it will fail" >&2
    fi
fi

if ! dotnet build -warnaserror -c Release; then
    echo "build failed"
    echo "0 passed, 0 failed"
    exit 1
fi

rm -rf "$results"
mkdir -p "$results"
test_status=0
dotnet test -c Release --no-build \
    --logger "trx;LogFileName=tests.trx" \
    --results-directory "$results" \
    --blame-hang-timeout 10m || test_status=$?

summary="$(python3 - "$results" <<'PY'
import glob, sys
import xml.etree.ElementTree as ET

ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
files = glob.glob(sys.argv[1] + "/**/*.trx", recursive=True)
for path in files:
    for result in ET.parse(path).getroot().iterfind(".//t:UnitTestResult", ns):
        outcome = result.get("outcome", "")
        if outcome == "Passed":
            passed += 1
        elif outcome in ("NotExecuted", "Inconclusive", "Skipped"):
            skipped += 1
        else:
            failed += 1
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
print("ok" if files else "missing")
PY
)"
line="$(printf '%s\n' "$summary" | sed -n 1p)"
found="$(printf '%s\n' "$summary" | sed -n 2p)"

if [ "$found" != "ok" ]; then
    echo "no test results were written"
    echo "$line"
    exit 1
fi

failed="$(printf '%s\n' "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')"
if [ "$failed" = "0" ] && [ "$test_status" -ne 0 ]; then
    # The run was aborted (a test host crash, a hang past --blame-hang-timeout): the test it was running has no result.
    echo "the test run was aborted (see above): its unfinished test counts as failed"
    line="$(printf '%s\n' "$line" | sed -E 's/^([0-9]+) passed, 0 failed/\1 passed, 1 failed/')"
    failed=1
fi
echo "$line"
if [ "$failed" != "0" ] || [ "$test_status" -ne 0 ]; then
    exit 1
fi
