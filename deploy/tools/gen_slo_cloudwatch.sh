#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Regenerates the SLO dashboard body and alarm definitions the observability component reads
# (deploy/pulumi/slo/dashboard.json and alarms.json) from the chatbot's SLO definitions
# (chatbot/slo.yaml) with `slo dashboard` and `slo alarms`. Alarm names carry no prefix and no
# actions: the component prefixes them with otter-<env>- and attaches the environment's SNS topic.
#
# Usage: deploy/tools/gen_slo_cloudwatch.sh [--check]
#   --check   write nothing; exit 1 and show the difference when a checked-in file is stale
# Env:   SLO   the slo binary (default: build/slo/cli/slo; build it with `ninja -C build`)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

SLO="${SLO:-build/slo/cli/slo}"
DEFS=chatbot/slo.yaml
OUT=deploy/pulumi/slo
check=0
case "${1:-}" in
    --check) check=1 ;;
    "") ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
if [ ! -x "$SLO" ]; then
    echo "$0: no slo binary at $SLO (build it with 'ninja -C build', or set SLO)" >&2
    exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$SLO" dashboard --definitions "$DEFS" >"$tmp/dashboard.json"
"$SLO" alarms --definitions "$DEFS" >"$tmp/alarms.json"

status=0
for f in dashboard.json alarms.json; do
    if [ "$check" = 1 ]; then
        if ! diff -u "$OUT/$f" "$tmp/$f" >&2; then
            echo "$OUT/$f is stale: regenerate it with deploy/tools/gen_slo_cloudwatch.sh" >&2
            status=1
        fi
    else
        cp "$tmp/$f" "$OUT/$f"
    fi
done
exit "$status"
