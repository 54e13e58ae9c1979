#!/usr/bin/env bash
# kustomize (v5, built from the Go module proxy) into $STACK_DIR/bin, for rendering and checking k8s/
# offline (tools/k8s-manifests.integration-spec.ts; tools/test.sh's "deployment files" step). Cached: built
# once per version (under a minute), then it only prints its path. Prints the binary's path on stdout.
source "$(dirname "$0")/lib.sh"
# the newest release this machine's Go builds (v5.8.1: kustomize/api v0.21.1)
VERSION=v5.8.1
BIN="$STACK_DIR/bin/kustomize"
if [ -x "$BIN" ] && [ "$("$BIN" version 2>/dev/null)" = "$VERSION" ]; then
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null || die "Go is needed to build kustomize"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "kustomize: building $VERSION (once)"
mkdir -p "$STACK_DIR/bin"
# GOBIN a folder of its own: the binary lands whole, then replaces the cached one at once
GOBIN="$work" CGO_ENABLED=0 go install "sigs.k8s.io/kustomize/kustomize/v5@$VERSION" >"$work/build.log" 2>&1 \
  || { tail -30 "$work/build.log" >&2; die "kustomize: go install failed"; }
install -m 0755 "$work/kustomize" "$BIN.new" && mv "$BIN.new" "$BIN"
log "kustomize: built ($("$BIN" version))"
echo "$BIN"
