#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Points the dev overlays at new image tags (the delivery workflow's GitOps step): otterd in the
# DaemonSet overlay and in the chatbot overlay (its sidecar component), chatbot in the chatbot
# overlay. Only the tag changes; the overlays name no registry (Argo CD adds it at
# k8s/<app>/argocd/<env>, from deploy/tools/render_gitops.py's overrides, keeping this tag).
#
# Usage: scripts/bump-dev-images.sh TAG [K8S_DIR]     (K8S_DIR defaults to the repository's k8s/)
# Env:   KUSTOMIZE  the kustomize binary (default: tests/.tools/bin/kustomize, else on PATH)
# Exit:  0 and prints "changed" or "unchanged"; non-zero on a bad tag or a failed render.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG="${1:?usage: bump-dev-images.sh TAG [K8S_DIR]}"
K8S_DIR="$(cd "${2:-$ROOT/k8s}" && pwd)"
KUSTOMIZE="${KUSTOMIZE:-$ROOT/tests/.tools/bin/kustomize}"
[ -x "$KUSTOMIZE" ] || KUSTOMIZE="$(command -v kustomize)" || {
    echo "bump-dev-images: kustomize not found" >&2
    exit 2
}
# A Docker tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; never "latest".
if ! [[ "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || [ "$TAG" = latest ]; then
    echo "bump-dev-images: invalid tag '$TAG'" >&2
    exit 2
fi

before="$(cat "$K8S_DIR/platform/otterd/overlays/dev/kustomization.yaml" \
    "$K8S_DIR/apps/chatbot/overlays/dev/kustomization.yaml" | sha256sum)"
(cd "$K8S_DIR/platform/otterd/overlays/dev" && "$KUSTOMIZE" edit set image "otterd=*:$TAG")
(cd "$K8S_DIR/apps/chatbot/overlays/dev" && "$KUSTOMIZE" edit set image "chatbot=*:$TAG" "otterd=*:$TAG")

# The renders must now carry the tag.
"$KUSTOMIZE" build "$K8S_DIR/platform/otterd/overlays/dev" | grep -Eq "image: (.*/)?otterd:$TAG\$"
"$KUSTOMIZE" build "$K8S_DIR/apps/chatbot/overlays/dev" | grep -Eq "image: (.*/)?chatbot:$TAG\$"

after="$(cat "$K8S_DIR/platform/otterd/overlays/dev/kustomization.yaml" \
    "$K8S_DIR/apps/chatbot/overlays/dev/kustomization.yaml" | sha256sum)"
if [ "$before" = "$after" ]; then echo unchanged; else echo changed; fi
