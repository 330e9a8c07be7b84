#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Tests of k8s/, the Dockerfiles and .github/workflows/, all offline. Installs what is missing,
# idempotently (stamp files make a second run fast):
#   - .venv-k8s/: a virtualenv of its own from tests/k8s/requirements.txt (checkov, zizmor,
#     kubernetes-validate, pytest), kept apart from .venv because checkov pins many packages;
#   - kustomize and actionlint, pinned, through `go install` into tests/.tools/bin/;
# then runs `pytest tests/k8s` (with --junitxml FILE when a file is given).
#
# Usage: scripts/test-k8s.sh [JUNIT_XML]
# Env:   OTTERD=path/to/otterd   the binary for the `otterd validate` tests (default:
#                                build/agent/otterd; those tests skip when it is missing)
#        CHATBOT=path/to/chatbot the binary whose libraries the chatbot image must install
#                                (default: build/chatbot/chatbot; skipped when missing)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

KUSTOMIZE_MODULE="sigs.k8s.io/kustomize/kustomize/v5"
# v5.8.2 and later need Go >= 1.27; v5.8.1 (kustomize/api v0.21.1) builds on Go 1.26.
KUSTOMIZE_VERSION="v5.8.1"
ACTIONLINT_MODULE="github.com/rhysd/actionlint/cmd/actionlint"
ACTIONLINT_VERSION="v1.7.12"
GO_MIN_MINOR=21

log() { printf '[test-k8s] %s\n' "$*" >&2; }
die() { printf '[test-k8s] error: %s\n' "$*" >&2; exit 1; }

sha() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

install_venv() {
    local reqs=tests/k8s/requirements.txt
    local py="${PYTHON:-python3}"
    command -v "$py" >/dev/null 2>&1 || die "$py not found"
    local stamp=".venv-k8s/.otter-stamp"
    local want
    want="$(sha "$reqs") $("$py" -c 'import sys; print(sys.version.split()[0])')"
    if [ -x .venv-k8s/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        log "venv-k8s: up to date"
        return
    fi
    if [ ! -x .venv-k8s/bin/python ]; then
        log "venv-k8s: creating .venv-k8s with $("$py" --version 2>&1)"
        "$py" -m venv .venv-k8s || die "python3 -m venv failed (is python3-venv installed?)"
    fi
    log "venv-k8s: pip install -r $reqs"
    .venv-k8s/bin/python -m pip install -q --disable-pip-version-check --no-input -r "$reqs"
    printf '%s\n' "$want" >"$stamp"
}

find_go() {
    local g
    for g in "$(command -v go 2>/dev/null || true)" "$ROOT/tests/.tools/go/bin/go"; do
        if [ -z "$g" ] || [ ! -x "$g" ]; then
            continue
        fi
        local minor
        minor="$("$g" env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9][0-9]*\).*/\1/p')"
        if [ "${minor:-0}" -ge "$GO_MIN_MINOR" ]; then
            printf '%s\n' "$g"
            return 0
        fi
    done
    return 1
}

go_tool() { # name module version
    local name="$1" module="$2" version="$3"
    local bin="tests/.tools/bin/$name"
    local stamp="tests/.tools/$name.version"
    if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
        log "$name: $version present"
        return
    fi
    local go
    go="$(find_go)" || die "no Go >= 1.$GO_MIN_MINOR (scripts/install-deps.sh installs one)"
    log "$name: go install $module@$version ($("$go" version))"
    mkdir -p tests/.tools/bin
    GOBIN="$ROOT/tests/.tools/bin" GOFLAGS=-buildvcs=false GOTOOLCHAIN=auto \
        "$go" install "$module@$version"
    printf '%s\n' "$version" >"$stamp"
}

install_venv
go_tool kustomize "$KUSTOMIZE_MODULE" "$KUSTOMIZE_VERSION"
go_tool actionlint "$ACTIONLINT_MODULE" "$ACTIONLINT_VERSION"

args=(-q -p no:cacheprovider)
if [ $# -ge 1 ] && [ -n "$1" ]; then
    args+=(--junitxml "$1")
fi
export PATH="$ROOT/tests/.tools/bin:$PATH"
exec .venv-k8s/bin/python -m pytest "${args[@]}" tests/k8s
