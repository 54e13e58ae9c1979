#!/usr/bin/env bash
# Builds the sandbox images without a registry (DESIGN.md §4):
#   sandbox-rootfs:bookworm   debootstrap'ed minimal Debian + python3, `docker import`ed (cached as a tarball)
#   sandbox-base:bookworm     + the non-root sandbox user and the workspace
#   sandbox-python:3.11-basic, sandbox-nodejs:20-basic, sandbox-python:3.11-datascience, sandbox-gcc:12
#                             per-template Dockerfiles FROM the base, each ending with the in-sandbox executor
# The legacy builder caches by layer, so a rerun with nothing changed takes a few seconds.
# On machines that can pull public images, docker/sandbox/public/*.Dockerfile build the same images
# (e.g. `docker build -f docker/sandbox/public/python-basic.Dockerfile -t sandbox-python:3.11-basic docker/sandbox`).
source "$(dirname "$0")/lib.sh"
require_root
CTX="$ROOT_DIR/docker/sandbox"
CACHE="$STACK_DIR/cache"
ROOTFS_TAR="$CACHE/rootfs-bookworm-python3.tar.zst"
export DOCKER_BUILDKIT=0
mkdir -p "$CACHE" "$CTX/build"

if ! docker image inspect sandbox-rootfs:bookworm >/dev/null 2>&1; then
  if [ ! -s "$ROOTFS_TAR" ]; then
    R=$(mktemp -d /tmp/sandbox-rootfs.XXXXXX)
    log "debootstrap: minimal bookworm + python3 into $R (about a minute)"
    # No mirror argument: debootstrap uses its default Debian mirror.
    debootstrap --variant=minbase --include=python3 bookworm "$R" >"$CACHE/debootstrap.log" 2>&1 \
      || { rm -rf "$R"; die "debootstrap failed, see $CACHE/debootstrap.log"; }
    rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* "$R"/usr/share/doc/* \
      "$R"/usr/share/man/* "$R"/usr/share/info/* "$R"/usr/share/locale/*
    tar -C "$R" --numeric-owner -c . | zstd -q -3 -o "$ROOTFS_TAR.tmp" && mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    rm -rf "$R"
  fi
  log "importing sandbox-rootfs:bookworm from $ROOTFS_TAR"
  zstd -q -dc "$ROOTFS_TAR" | docker import - sandbox-rootfs:bookworm >/dev/null
fi

# The node image gets this host's Node 20 binary (Debian's nodejs is v18); copy only when it changed
# so the layer cache holds.
NODE_BIN=$(readlink -f "$(command -v node)")
cmp -s "$NODE_BIN" "$CTX/build/node" || cp "$NODE_BIN" "$CTX/build/node"

build() {
  local tag=$1 file=$2 t0=$SECONDS
  docker build -q --network host -t "$tag" -f "$CTX/$file" "$CTX" >"$CACHE/build-${file%.Dockerfile}.log" 2>&1 \
    || { cat "$CACHE/build-${file%.Dockerfile}.log" >&2; die "building $tag failed"; }
  log "image $tag ready ($((SECONDS - t0))s)"
}
build sandbox-base:bookworm base.Dockerfile
build sandbox-python:3.11-basic python-basic.Dockerfile
build sandbox-nodejs:20-basic nodejs-basic.Dockerfile
build sandbox-python:3.11-datascience python-datascience.Dockerfile
build sandbox-gcc:12 gcc.Dockerfile
