#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs the offline tests of deploy/ (tests/deploy) in their own virtualenv, .venv-deploy/, built
# from the pinned deploy/requirements.txt. The virtualenv is (re)built only when the requirements
# or the Python version changed since the last run (a stamp file holds their hash), so a run with
# everything up to date starts the tests at once.
#
# Usage: scripts/test-deploy.sh [JUNIT_XML]
# Env:   PYTHON   the interpreter to build the virtualenv with (default: python3)
#        OTTER_PYTEST_WORKERS  pytest-xdist processes (default 2; 1 runs the tests one by one)
#        SLO      the slo binary tests/deploy/test_slo_cloudwatch_files.py regenerates the SLO
#                 dashboard and alarms with (default build/slo/cli/slo; skipped without one)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv-deploy"
REQ="$ROOT/deploy/requirements.txt"
STAMP="$VENV/.requirements.sha256"

log() { printf '[test-deploy] %s\n' "$*" >&2; }

want="$( { "$PYTHON" -c 'import sys; print(sys.version)'; cat "$REQ"; } | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    log "building $VENV from deploy/requirements.txt"
    rm -f "$STAMP"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r "$REQ"
    printf '%s\n' "$want" >"$STAMP"
else
    log "$VENV is up to date"
fi

# ansible-playbook, ansible-lint and the fake CLIs' callers are found through PATH.
export PATH="$VENV/bin:$PATH"
args=(tests/deploy -q -p no:cacheprovider)
# Most of the time is ansible-playbook's own start-up: two workers (pytest-xdist) halve it.
workers="${OTTER_PYTEST_WORKERS:-2}"
if [ "$workers" -gt 1 ]; then
    args+=(-n "$workers")
fi
if [ $# -ge 1 ] && [ -n "$1" ]; then
    args+=(--junitxml "$1")
fi
exec "$VENV/bin/python" -m pytest "${args[@]}"
