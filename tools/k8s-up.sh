#!/usr/bin/env bash
# A real Kubernetes control plane on this machine, for the k8s/ manifests and the kubernetes runtime:
# etcd (Debian's etcd-server), kube-apiserver and kube-controller-manager built from k8s.io/kubernetes
# at a released version through the Go module proxy (tools/k8s/go.mod), and kubectl from the same
# sources. The builds are cached by tools/k8s/go.sum (the first takes a while on two cores); state,
# certificates and logs live in $STACK_DIR/k8s. Running it again leaves a healthy cluster as it is.
#   bash tools/k8s-up.sh          # start; the admin kubeconfig is $STACK_DIR/k8s/admin.kubeconfig
#   bash tools/k8s-up.sh down     # stop (the state stays; `rm -rf $STACK_DIR/k8s/{etcd,pki}` forgets it)
# What it does not start here (no kubelet, container runtime or scheduler yet): pods stay Pending.
source "$(dirname "$0")/lib.sh"
K8S_DIR="$STACK_DIR/k8s"
BIN="$K8S_DIR/bin"
PKI="$K8S_DIR/pki"
COMPONENTS=(kube-apiserver kube-controller-manager kubectl)
API_PORT=${K8S_API_PORT:-6443}
ETCD_PORT=${K8S_ETCD_PORT:-2379}
SERVICE_RANGE=10.0.0.0/24
SERVICE_IP=10.0.0.1
# the address the API server advertises (the `kubernetes` Service's endpoint): routable, never loopback
HOST_IP=${K8S_HOST_IP:-$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')}

down() {
  stop_pidfile kube-controller-manager "$K8S_DIR/kube-controller-manager.pid"
  stop_pidfile kube-apiserver "$K8S_DIR/kube-apiserver.pid"
  stop_pidfile etcd "$K8S_DIR/etcd.pid"
}
if [ "${1:-}" = down ]; then down; exit 0; fi
require_root
[ -n "$HOST_IP" ] || die "no routable IPv4 address for the API server to advertise (set K8S_HOST_IP)"
mkdir -p "$BIN" "$PKI"

# ── the binaries, from sources ──
build() {
  local stamp="$BIN/go.sum.sha256" sum c missing=0
  sum=$(cat "$ROOT_DIR/tools/k8s/go.mod" "$ROOT_DIR/tools/k8s/go.sum" 2>/dev/null | sha256sum | cut -d' ' -f1)
  for c in "${COMPONENTS[@]}"; do [ -x "$BIN/$c" ] || missing=1; done
  if [ "$missing" = 0 ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then return 0; fi
  command -v go >/dev/null || die "Go is needed to build the Kubernetes components"
  log "building ${COMPONENTS[*]} from k8s.io/kubernetes (the first build takes a long while)"
  local pkgs=() version ldflags="" p
  for c in "${COMPONENTS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  # the version a release build stamps in (hack/lib/version.sh), which `kubectl version` and skew checks read
  version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' "$ROOT_DIR/tools/k8s/go.mod")
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$version -X $p.gitMajor=$(cut -d. -f1 <<<"${version#v}") -X $p.gitMinor=$(cut -d. -f2 <<<"$version") -X $p.gitTreeState=clean"
  done
  (cd "$ROOT_DIR/tools/k8s" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$BIN/" "${pkgs[@]}") || die "building the Kubernetes components failed"
  # -mod=mod may have completed go.sum: the stamp is of the files as they are now
  sum=$(cat "$ROOT_DIR/tools/k8s/go.mod" "$ROOT_DIR/tools/k8s/go.sum" | sha256sum | cut -d' ' -f1)
  echo "$sum" >"$stamp"
}

# ── certificates: one CA for serving and clients, a key pair for service-account tokens ──
sign() { # NAME SUBJECT [SAN]
  local name=$1 subject=$2 san=${3:-}
  [ -s "$PKI/$name.crt" ] && return 0
  openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/$name.key" -subj "$subject" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 3650 -out "$PKI/$name.crt" \
    ${san:+-extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san")} 2>/dev/null
  rm -f "$PKI/$name.csr"
}
kubeconfig() { # NAME (a client certificate of the same name)
  local file="$K8S_DIR/$1.kubeconfig"
  [ -s "$file" ] && return 0
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: local
    cluster: { server: 'https://127.0.0.1:$API_PORT', certificate-authority-data: $(base64 -w0 "$PKI/ca.crt") }
users:
  - name: $1
    user: { client-certificate-data: $(base64 -w0 "$PKI/$1.crt"), client-key-data: $(base64 -w0 "$PKI/$1.key") }
contexts:
  - name: local
    context: { cluster: local, user: $1 }
current-context: local
EOF
  chmod 600 "$file"
}
pki() {
  if [ ! -s "$PKI/ca.crt" ]; then
    openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -subj /CN=sandbox-k8s-ca -days 3650 -out "$PKI/ca.crt" 2>/dev/null
  fi
  sign apiserver /CN=kube-apiserver "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:$HOST_IP,IP:$SERVICE_IP"
  sign admin "/O=system:masters/CN=admin"
  sign controller-manager /CN=system:kube-controller-manager
  [ -s "$PKI/sa.key" ] || openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  kubeconfig admin
  kubeconfig controller-manager
}

# ── the processes ──
start() { # NAME CMD...: in the background, logged, with a pid file
  local name=$1; shift
  pid_alive "$K8S_DIR/$name.pid" && return 0
  setsid "$@" >"$K8S_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$K8S_DIR/$name.pid"
}
healthy() { curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "https://127.0.0.1:$API_PORT/readyz" >/dev/null; }

ensure_packages etcd-server openssl curl iproute2
build
pki
start etcd etcd --name local --data-dir "$K8S_DIR/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls http://127.0.0.1:$((ETCD_PORT + 1)) --initial-advertise-peer-urls http://127.0.0.1:$((ETCD_PORT + 1)) \
  --initial-cluster "local=http://127.0.0.1:$((ETCD_PORT + 1))"
wait_for etcd 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"
start kube-apiserver "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 0.0.0.0 --advertise-address "$HOST_IP" --secure-port "$API_PORT" \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" --client-ca-file "$PKI/ca.crt" \
  --service-account-key-file "$PKI/sa.key" --service-account-signing-key-file "$PKI/sa.key" \
  --service-account-issuer https://kubernetes.default.svc --service-cluster-ip-range "$SERVICE_RANGE" \
  --authorization-mode Node,RBAC --allow-privileged=false --cert-dir "$PKI/apiserver-generated"
wait_for kube-apiserver 120 healthy
start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig "$K8S_DIR/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$K8S_DIR/controller-manager.kubeconfig" --authorization-kubeconfig "$K8S_DIR/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 10257 --leader-elect=false --use-service-account-credentials \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" --service-cluster-ip-range "$SERVICE_RANGE"
log "ready: kube-apiserver https://127.0.0.1:$API_PORT ($("$BIN/kubectl" --kubeconfig "$K8S_DIR/admin.kubeconfig" version -o json | sed -n 's/.*"gitVersion": "\([^"]*\)".*/\1/p' | tail -1)); KUBECONFIG=$K8S_DIR/admin.kubeconfig, kubectl in $BIN"
