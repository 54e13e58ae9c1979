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
log "kustomize: building $VERSION (once)"
# shellcheck disable=SC2016 # $PWD and $0 are the inner shell's
build_go_tool kustomize "$BIN" kustomize sh -c 'GOBIN=$PWD go install "$0"' "sigs.k8s.io/kustomize/kustomize/v5@$VERSION"
log "kustomize: built ($("$BIN" version))"
echo "$BIN"
