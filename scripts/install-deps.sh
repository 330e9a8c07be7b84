#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Installs everything Otter's build and tests need on a fresh Debian 12, idempotently:
#   - Debian packages (compilers, meson, the C libraries, sanitizer runtimes, curl, nghttp,
#     valgrind, python3-venv, ...); apt is skipped when every package is already installed;
#   - a Python virtualenv at .venv/ from the pinned tests/integration/requirements.txt (and
#     tests/proto/requirements.txt when present);
#   - the OpenTelemetry JS SDK clients: `npm ci` in tests/integration/js/ from its lock file,
#     and the Bedrock mock (@copilotkit/aimock) in tests/integration/aimock/ from its own;
#   - telemetrygen, pinned, through `go install` into tests/.tools/bin/.
# Each step is skipped when its inputs have not changed since the last run (stamp files).
#
# Usage: scripts/install-deps.sh        (as root, or with sudo available for apt)
# Env:   OTTER_SKIP_APT=1  do not touch Debian packages
#        OTTER_SKIP_JS=1   do not install the JS clients
#        OTTER_SKIP_GO=1   do not install telemetrygen
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TELEMETRYGEN_MODULE="github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen"
# v0.156.0 (the train ADOT v0.49.0 vendors) was never published for this module on the Go
# module proxy; v0.157.0 is the nearest release.
TELEMETRYGEN_VERSION="v0.157.0"
# The oldest Go able to fetch a newer toolchain by itself (GOTOOLCHAIN).
GO_MIN_MINOR=21
# Used only when no suitable Go is installed: fetched as the golang.org/toolchain module.
GO_FALLBACK_TOOLCHAIN="go1.25.0"

APT_PACKAGES=(
    build-essential gcc clang llvm libclang-rt-14-dev meson ninja-build pkg-config
    libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev
    libnghttp2-dev nghttp2-client libcurl4-openssl-dev libjansson-dev libssl-dev openssl
    libevent-dev libyaml-dev zlib1g-dev libzstd-dev liblz4-dev libsnappy-dev
    curl ca-certificates git valgrind python3 python3-venv python3-pip
    chromium shellcheck
)

log() { printf '[install-deps] %s\n' "$*" >&2; }
die() { printf '[install-deps] error: %s\n' "$*" >&2; exit 1; }

sha() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# ---- Debian packages ----------------------------------------------------------------------

apt_missing() {
    local p
    for p in "$@"; do
        if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
            printf '%s\n' "$p"
        fi
    done
}

install_apt() {
    if [ "${OTTER_SKIP_APT:-0}" = 1 ]; then
        log "apt: skipped (OTTER_SKIP_APT=1)"
        return
    fi
    command -v dpkg-query >/dev/null 2>&1 || die "not a Debian system (no dpkg-query)"
    local want=("${APT_PACKAGES[@]}")
    # Node.js and npm: Debian's own only when no node is installed at all (bookworm ships 18.19,
    # which the 0.223.x JS SDK accepts; Node 20 is what the tests are written against).
    if [ "${OTTER_SKIP_JS:-0}" != 1 ] && ! command -v node >/dev/null 2>&1; then
        want+=(nodejs npm)
    fi
    local missing
    mapfile -t missing < <(apt_missing "${want[@]}")
    if [ "${#missing[@]}" -eq 0 ]; then
        log "apt: all ${#want[@]} packages present"
        return
    fi
    log "apt: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ---- Python virtualenv --------------------------------------------------------------------

install_venv() {
    local reqs=(tests/integration/requirements.txt)
    [ -f tests/proto/requirements.txt ] && reqs+=(tests/proto/requirements.txt)
    [ -f tests/aws/requirements.txt ] && reqs+=(tests/aws/requirements.txt)
    local py="${PYTHON:-python3}"
    command -v "$py" >/dev/null 2>&1 || die "$py not found"
    local stamp=".venv/.otter-stamp"
    local want
    want="$(sha "${reqs[@]}") $("$py" -c 'import sys; print(sys.version.split()[0])')"
    if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
        .venv/bin/python -c 'import pytest, grpc, opentelemetry.sdk' 2>/dev/null; then
        log "venv: up to date"
        return
    fi
    if [ ! -x .venv/bin/python ]; then
        log "venv: creating .venv with $("$py" --version 2>&1)"
        "$py" -m venv .venv || die "python3 -m venv failed (is python3-venv installed?)"
    fi
    local args=()
    local r
    for r in "${reqs[@]}"; do args+=(-r "$r"); done
    log "venv: pip install ${args[*]}"
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-input "${args[@]}"
    printf '%s\n' "$want" >"$stamp"
}

# ---- JS clients ---------------------------------------------------------------------------

install_js() {
    if [ "${OTTER_SKIP_JS:-0}" = 1 ]; then
        log "npm: skipped (OTTER_SKIP_JS=1)"
        return
    fi
    command -v node >/dev/null 2>&1 || die "node not found"
    command -v npm >/dev/null 2>&1 || die "npm not found"
    local dir
    for dir in tests/integration/js tests/integration/aimock; do
        local stamp="$dir/node_modules/.otter-stamp"
        local want
        want="$(sha "$dir/package.json" "$dir/package-lock.json") $(node --version)"
        if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
            log "npm: $dir up to date (node $(node --version))"
            continue
        fi
        log "npm: npm ci in $dir (node $(node --version), npm $(npm --version))"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
        printf '%s\n' "$want" >"$stamp"
    done
}

# ---- Go and telemetrygen ------------------------------------------------------------------

go_minor() {
    # Prints the minor version of the go binary $1 (go1.26.8 -> 26), or 0.
    "$1" env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9][0-9]*\).*/\1/p' | grep . || echo 0
}

find_go() {
    local g
    g="$(command -v go 2>/dev/null)" || return 1
    [ "$(go_minor "$g")" -ge "$GO_MIN_MINOR" ] || return 1
    printf '%s\n' "$g"
}

bootstrap_go() {
    # No Go >= 1.21: take Debian's golang-go (1.19) and use it to fetch a real toolchain, which
    # the Go module proxy serves as the module golang.org/toolchain.
    local old
    old="$(command -v go 2>/dev/null || true)"
    if [ -z "$old" ]; then
        [ "${OTTER_SKIP_APT:-0}" = 1 ] && die "no Go toolchain and OTTER_SKIP_APT=1"
        log "go: installing Debian's golang-go to bootstrap a newer toolchain"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null
        old="$(command -v go)"
    fi
    local arch v
    arch="$("$old" env GOARCH)"
    v="v0.0.1-${GO_FALLBACK_TOOLCHAIN}.linux-$arch"
    local dir
    dir="$(GOFLAGS=-mod=mod "$old" mod download -json "golang.org/toolchain@$v" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
    if [ -z "$dir" ] || [ ! -d "$dir" ]; then
        die "could not download golang.org/toolchain@$v"
    fi
    local dest="$ROOT/tests/.tools/go"
    rm -rf "$dest"
    mkdir -p "$dest"
    cp -R "$dir/." "$dest/"
    chmod -R u+w "$dest"
    chmod +x "$dest"/bin/* "$dest"/pkg/tool/*/* 2>/dev/null || true
    printf '%s\n' "$dest/bin/go"
}

install_telemetrygen() {
    if [ "${OTTER_SKIP_GO:-0}" = 1 ]; then
        log "telemetrygen: skipped (OTTER_SKIP_GO=1)"
        return
    fi
    local bin="tests/.tools/bin/telemetrygen"
    local stamp="tests/.tools/telemetrygen.version"
    if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$TELEMETRYGEN_VERSION" ]; then
        log "telemetrygen: $TELEMETRYGEN_VERSION present"
        return
    fi
    local go
    if ! go="$(find_go)"; then
        if [ -x tests/.tools/go/bin/go ]; then
            go="$ROOT/tests/.tools/go/bin/go"
        else
            go="$(bootstrap_go)"
        fi
    fi
    log "telemetrygen: go install $TELEMETRYGEN_MODULE@$TELEMETRYGEN_VERSION ($("$go" version))"
    mkdir -p tests/.tools/bin
    GOBIN="$ROOT/tests/.tools/bin" GOFLAGS=-buildvcs=false GOTOOLCHAIN=auto \
        "$go" install "$TELEMETRYGEN_MODULE@$TELEMETRYGEN_VERSION"
    printf '%s\n' "$TELEMETRYGEN_VERSION" >"$stamp"
}

install_apt
install_venv
install_js
install_telemetrygen
log "done"
