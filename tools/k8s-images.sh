#!/usr/bin/env bash
# The images k8s/overlays/local runs, built here without a registry and imported into the node's
# containerd of tools/k8s-up.sh: the apps (this checkout's dist/ from tools/build.sh and its
# node_modules), MariaDB and Redis from Debian (docker/local/Dockerfile) and Prometheus from its sources
# (tools/k8s/prometheus), all on the debootstrapped base, and the sandbox images of tools/images-build.sh. Docker's layer cache makes a
# second run quick; the import skips what containerd already has.
#   bash tools/k8s-images.sh
source "$(dirname "$0")/lib.sh"
CTRD_SOCK=$(realpath -m "$STACK_DIR/k8s/containerd/containerd.sock")
APP_TAG=local
SANDBOX_IMAGES=(sandbox-python:3.11-basic sandbox-nodejs:20-basic)

[ -S "$CTRD_SOCK" ] || die "the local cluster is not running: bash tools/k8s-up.sh"
[ -f "$ROOT_DIR/dist/apps/control-plane/src/main.js" ] || die "no build: bash tools/build.sh"
for image in sandbox-base:bookworm "${SANDBOX_IMAGES[@]}"; do
  docker image inspect "$image" >/dev/null 2>&1 || die "$image is missing: bash tools/images-build.sh"
done

images=("${SANDBOX_IMAGES[@]}")
for target in node mariadb redis; do
  docker build -q --network host -f "$ROOT_DIR/docker/local/Dockerfile" --target "$target" -t "sandbox-local/$target:bookworm" "$ROOT_DIR/docker/local" >/dev/null ||
    die "building sandbox-local/$target failed"
  [ "$target" = node ] || images+=("sandbox-local/$target:bookworm")
done

# Prometheus from the Go module proxy (tools/k8s/prometheus), with its Kubernetes discovery only; the
# build is cached by its version
prom_dir="$ROOT_DIR/tools/k8s/prometheus"
prom_version=$(sed -n 's/^require github.com\/prometheus\/prometheus v0\.\([0-9]*\)\.\([0-9]*\)$/\1 \2/p' "$prom_dir/go.mod" | awk '{ printf "%d.%d.%s", int($1 / 100), $1 % 100, $2 }')
prom_bin="$STACK_DIR/k8s/bin/prometheus-$prom_version"
if [ ! -x "$prom_bin" ]; then
  log "building Prometheus $prom_version"
  (cd "$prom_dir" && CGO_ENABLED=0 go build -trimpath -tags "remove_all_sd enable_kubernetes_sd" -ldflags "-X github.com/prometheus/common/version.Version=$prom_version" \
    -o "$prom_bin" github.com/prometheus/prometheus/cmd/prometheus) || die "building Prometheus failed"
fi
prom_ctx=$(mktemp -d)
trap 'rm -rf "$prom_ctx" "${ctx:-}"' EXIT
cp --preserve=timestamps "$prom_bin" "$prom_ctx/prometheus"
# as the official image: nobody, the data in /prometheus
printf 'FROM sandbox-base:bookworm\nUSER root\nRUN mkdir -p /prometheus && chown nobody:nogroup /prometheus\nCOPY prometheus /bin/prometheus\nWORKDIR /prometheus\nUSER nobody\nENTRYPOINT ["/bin/prometheus"]\nCMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]\n' >"$prom_ctx/Dockerfile"
docker build -q -t "sandbox-local/prometheus:v$prom_version" "$prom_ctx" >/dev/null || die "building sandbox-local/prometheus failed"
images+=("sandbox-local/prometheus:v$prom_version")

# the apps: one layer of the files docker/app.Dockerfile copies (one upload of the context), then an
# image per role on it
ctx=$(mktemp -d)
# the timestamps kept: an unchanged build hits Docker's cache
cp -rL --preserve=mode,timestamps "$ROOT_DIR/dist" "$ROOT_DIR/node_modules" "$ROOT_DIR/package.json" "$ROOT_DIR/init.sql" "$ctx/"
printf 'FROM sandbox-local/node:bookworm\nCOPY --chown=0:0 . /app/\n' >"$ctx/Dockerfile"
echo Dockerfile >"$ctx/.dockerignore"
docker build -q -t "sandbox-local/app:$APP_TAG" "$ctx" >/dev/null || die "building sandbox-local/app failed"
role() { # IMAGE CMD (JSON)
  printf 'FROM sandbox-local/app:%s\nCMD %s\n' "$APP_TAG" "$2" | docker build -q -t "$1" - >/dev/null || die "building $1 failed"
  images+=("$1")
}
role "sandbox/control-plane:$APP_TAG" '["node", "dist/apps/control-plane/src/main.js"]'
role "sandbox/runtime-agent:$APP_TAG" '["node", "dist/apps/runtime-agent/src/main.js"]'
role "sandbox/reaper:$APP_TAG" '["node", "dist/apps/reaper/src/main.js"]'
role "sandbox/migrate:$APP_TAG" '["node", "dist/tools/migrate.js"]'
# the local stack's S3 server in place of MinIO (path-style only; OpenSSL 3 keeps the DES of its
# continuation tokens in the legacy provider)
role "sandbox-local/s3rver:$APP_TAG" '["node", "--openssl-legacy-provider", "node_modules/s3rver/bin/s3rver.js", "--directory", "/data", "--address", "0.0.0.0", "--port", "9000", "--configure-bucket", "sandbox", "--no-vhost-buckets", "--silent"]'

# only what the node lacks (by image ID: a rebuilt tag is imported again)
missing=()
for image in "${images[@]}"; do
  id=$(docker image inspect -f '{{.Id}}' "$image")
  ref=docker.io/$image
  [[ $image = */* ]] || ref=docker.io/library/$image
  have=$(ctr -a "$CTRD_SOCK" -n k8s.io images ls "name==$ref" | awk 'NR == 2 { print $3 }')
  # containerd lists the manifest's digest; Docker's ID is the config's, which the manifest names
  if [ -z "$have" ] || ! ctr -a "$CTRD_SOCK" -n k8s.io content get "$have" 2>/dev/null | grep -qF "$id"; then missing+=("$image"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  log "importing ${missing[*]}"
  docker save "${missing[@]}" | ctr -a "$CTRD_SOCK" -n k8s.io images import - >/dev/null || die "importing the images failed"
fi
log "ready: ${images[*]}"
