#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The one test command (CI runs it through .ci/run):
#   1. scripts/install-deps.sh
#   2. gcc build in build/ with warnings fatal: meson suites unit, fuzz (corpus replay), lint;
#      pytest tests/integration against build/agent/otterd; pytest tests/proto if present
#   3. clang ASan+UBSan+libFuzzer build in build-san/ (with failmalloc, so the unit tests that
#      fail each allocation in turn run): meson suites unit, fuzz (replay), fuzz-run
#      (short fuzzing); pytest tests/integration again against build-san/agent/otterd with
#      halt_on_error=1
# Results are summed over every suite: meson's from each run's JSON test log (OK, EXPECTEDFAIL
# and SKIP against FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS), pytest's from --junitxml. A suite that
# runs no test at all counts as a failure (`meson test --suite typo` exits 0). The last line is
#   N passed, N failed, N skipped
# and the exit status is non-zero on any failure or when nothing ran.
#
# Env: OTTER_TEST_ONLY=gcc|san   run one of the two builds only
#      OTTER_PYTEST_ARGS="..."     extra pytest arguments (e.g. -k expr)
#      FUZZ_SECONDS=N              per-target fuzzing time in build-san (default 10 s for each of the 36 targets)
#      OTTER_PYTEST_WORKERS=N      pytest-xdist processes for the integration suites and tests/deploy
#                                  (default 2, the CI machine's cores; 1 runs them one by one)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

PASSED=0
FAILED=0
SKIPPED=0
SUMMARY=()
START=$(date +%s)
FUZZ_SECONDS="${FUZZ_SECONDS:-10}"
WORKERS="${OTTER_PYTEST_WORKERS:-2}"
PY="$ROOT/.venv/bin/python"

section() { printf '\n==== %s ====\n' "$*"; }

# record NAME PASSED FAILED SKIPPED [NOTE]
record() {
    local line
    line=$(printf '%-28s %5d passed, %3d failed, %3d skipped' "$1" "$2" "$3" "$4")
    [ -n "${5:-}" ] && line="$line  ($5)"
    SUMMARY+=("$line")
    PASSED=$((PASSED + $2))
    FAILED=$((FAILED + $3))
    SKIPPED=$((SKIPPED + $4))
}

# Counts a meson JSON test log: prints "passed failed skipped total".
count_meson_log() {
    python3 - "$1" <<'EOF'
import json, sys
ok = bad = skip = 0
try:
    with open(sys.argv[1]) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line).get("result", "")
            if r in ("OK", "EXPECTEDFAIL"):
                ok += 1
            elif r == "SKIP":
                skip += 1
            else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS
                bad += 1
except FileNotFoundError:
    pass
print(ok, bad, skip, ok + bad + skip)
EOF
}

# Counts a pytest JUnit XML file: prints "passed failed skipped total". A test that failed and
# also errored in teardown counts once; an xfail counts as passed.
count_junit() {
    python3 - "$1" <<'EOF'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (FileNotFoundError, ET.ParseError):
    print(0, 0, 0, 0)
    sys.exit()
state = {}
for tc in root.iter("testcase"):
    key = (tc.get("classname"), tc.get("name"))
    tags = {c.tag for c in tc}
    # An expected failure (xfail) counts as passed, as meson counts EXPECTEDFAIL.
    xfail = any(c.tag == "skipped" and c.get("type") == "pytest.xfail" for c in tc)
    s = ("failed" if tags & {"failure", "error"} else
         "passed" if xfail else "skipped" if "skipped" in tags else "passed")
    prev = state.get(key)
    if prev != "failed":
        state[key] = s if prev is None or s != "passed" else prev
vals = list(state.values())
p, f, s = vals.count("passed"), vals.count("failed"), vals.count("skipped")
print(p, f, s, p + f + s)
EOF
}

# meson_suite BUILDDIR LABEL SUITE [extra meson test args]
meson_suite() {
    local dir=$1 label=$2 suite=$3
    shift 3
    local base="otter-$suite"
    local log="$dir/meson-logs/$base.json"
    rm -f "$log"
    section "$label: meson test --suite $suite"
    local t0
    t0=$(date +%s)
    meson test -C "$dir" --suite "$suite" --logbase "$base" --print-errorlogs \
        --num-processes "$(nproc)" "$@"
    local rc=$?
    local p f s n
    read -r p f s n < <(count_meson_log "$log")
    local note="$(( $(date +%s) - t0 ))s"
    if [ "$n" -eq 0 ]; then
        f=$((f + 1))
        note="no tests ran; meson exit $rc"
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        note="meson exited $rc"
    fi
    record "$label $suite" "$p" "$f" "$s" "$note"
}

# junit_suite LABEL XML WHAT CMD...: runs CMD, which writes JUnit XML to XML, and records the
# counts found there (a run that wrote no test, or failed with none failing, counts as failed).
junit_suite() {
    local label=$1 xml=$2 what=$3
    shift 3
    section "$label: $what"
    mkdir -p "$(dirname "$xml")"
    rm -f "$xml"
    local t0
    t0=$(date +%s)
    "$@"
    local rc=$?
    local p f s n
    read -r p f s n < <(count_junit "$xml")
    local note="$(( $(date +%s) - t0 ))s"
    if [ "$n" -eq 0 ]; then
        f=$((f + 1))
        note="no tests ran; $what exit $rc"
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        note="$what exited $rc"
    fi
    record "$label" "$p" "$f" "$s" "$note"
}

# pytest_suite LABEL DIR XML WORKERS [env assignments...]: WORKERS > 1 spreads the tests over
# that many pytest-xdist processes (each test still runs alone in its own process).
pytest_suite() {
    local label=$1 dir=$2 xml=$3 workers=$4
    shift 4
    local par=()
    if [ "$workers" -gt 1 ]; then
        par=(-n "$workers")
    fi
    # shellcheck disable=SC2086
    junit_suite "$label" "$xml" "pytest $dir" env "$@" "$PY" -m pytest -q -c "$dir/pytest.ini" \
        --rootdir "$dir" --junitxml "$xml" "${par[@]}" ${OTTER_PYTEST_ARGS:-} "$dir"
}

# script_suite LABEL SCRIPT XML [VAR=value...]: a test script that installs its own tools and
# runs pytest with --junitxml XML (scripts/test-k8s.sh, scripts/test-deploy.sh).
script_suite() {
    local label=$1 script=$2 xml=$3
    shift 3
    junit_suite "$label" "$xml" "$script" env "$@" bash "$script" "$xml"
}

# compiler_of BUILDDIR: the C compiler id a configured build dir uses ("gcc", "clang", or "").
compiler_of() {
    sed -n 's/^C compiler for the host machine: .*(\(gcc\|clang\) .*/\1/p' \
        "$1/meson-logs/meson-log.txt" 2>/dev/null | tail -n 1
}

# setup BUILDDIR CC [meson options...]: configures (or reconfigures) a build dir.
setup() {
    local dir=$1 cc=$2
    shift 2
    if [ -f "$dir/build.ninja" ] && [ "$(compiler_of "$dir")" = "$cc" ]; then
        meson configure "$dir" "$@" >/dev/null
    else
        [ -d "$dir" ] && echo "reconfiguring $dir from scratch for $cc"
        CC=$cc meson setup --wipe "$dir" "$@" >/dev/null 2>&1 ||
            { rm -rf "$dir" && CC=$cc meson setup "$dir" "$@"; }
    fi
}

# build LABEL BUILDDIR CC [meson options...]: returns non-zero (and records it) on failure.
build() {
    local label=$1 dir=$2 cc=$3
    shift 3
    section "$label: configure and build $dir"
    local t0
    t0=$(date +%s)
    if setup "$dir" "$cc" "$@" && ninja -C "$dir"; then
        echo "$label build: ok in $(( $(date +%s) - t0 ))s"
        return 0
    fi
    record "$label build" 0 1 0 "configure or build failed"
    return 1
}

section "install dependencies"
if ! scripts/install-deps.sh; then
    record "install-deps" 0 1 0 "scripts/install-deps.sh failed"
fi

SAN_ENV=(
    "ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1"
    "UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1"
)

if [ "${OTTER_TEST_ONLY:-gcc}" = gcc ]; then
    if build gcc build gcc -Dwerror=true -Db_sanitize=none -Dfuzzing_engine=none -Dfuzz_seconds=0; then
        meson_suite build gcc unit
        meson_suite build gcc fuzz
        meson_suite build gcc lint
        pytest_suite "gcc integration" tests/integration build/test-results/integration.xml "$WORKERS" \
            OTTERD=build/agent/otterd CHATBOT=build/chatbot/chatbot SLO=build/slo/cli/slo \
            OTTER_SLO_SINK_DRIVER=build/tests/unit/slo/slo_sink_driver \
            SLO_RENDER_DEMO=build/tests/unit/slo/slo_render_demo SLO_TZ_DUMP=build/tests/unit/slo/slo_tz_dump \
            CB_OTEL_DRIVER=build/tests/unit/chatbot/cb_otel_driver
        if [ -d tests/proto ]; then
            pytest_suite "proto" tests/proto build/test-results/proto.xml 1
        fi
        pytest_suite "aws" tests/aws build/test-results/aws.xml 1 \
            OTTER_SIGV4_CLI=build/tests/unit/aws/sigv4_cli
        script_suite "k8s" scripts/test-k8s.sh build/test-results/k8s.xml \
            OTTERD=build/agent/otterd CHATBOT=build/chatbot/chatbot
        script_suite "deploy" scripts/test-deploy.sh build/test-results/deploy.xml \
            SLO=build/slo/cli/slo
    fi
fi

if [ "${OTTER_TEST_ONLY:-san}" = san ]; then
    if build san build-san clang -Db_sanitize=address,undefined -Db_lundef=false \
        -Dfuzzing_engine=libfuzzer -Dfuzz_seconds="$FUZZ_SECONDS" -Dfailmalloc=true -Dwerror=true; then
        meson_suite build-san san unit
        meson_suite build-san san fuzz
        meson_suite build-san san fuzz-run
        pytest_suite "san integration" tests/integration build-san/test-results/integration.xml "$WORKERS" \
            OTTERD=build-san/agent/otterd CHATBOT=build-san/chatbot/chatbot SLO=build-san/slo/cli/slo \
            OTTER_SLO_SINK_DRIVER=build-san/tests/unit/slo/slo_sink_driver \
            SLO_RENDER_DEMO=build-san/tests/unit/slo/slo_render_demo \
            SLO_TZ_DUMP=build-san/tests/unit/slo/slo_tz_dump \
            CB_OTEL_DRIVER=build-san/tests/unit/chatbot/cb_otel_driver OTTER_TEST_TIME_SCALE=3 "${SAN_ENV[@]}"
    fi
fi

section "summary ($(( $(date +%s) - START ))s)"
for line in "${SUMMARY[@]}"; do
    echo "$line"
done
TOTAL=$((PASSED + FAILED + SKIPPED))
STATUS=0
if [ "$FAILED" -ne 0 ] || [ "$((PASSED))" -eq 0 ]; then
    STATUS=1
fi
[ "$TOTAL" -eq 0 ] && FAILED=$((FAILED + 1)) && STATUS=1
[ "$SKIPPED" -ne 0 ] && echo "($SKIPPED skipped)"
echo "$PASSED passed, $FAILED failed"
exit "$STATUS"
