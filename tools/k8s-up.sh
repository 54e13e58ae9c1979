#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, for the k8s/ manifests and the kubernetes runtime:
# etcd (Debian's etcd-server), kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
# kube-proxy built from k8s.io/kubernetes at a released version through the Go module proxy
# (tools/k8s/go.mod), kubectl from the same sources, and CoreDNS (tools/k8s/coredns) as cluster DNS. The
# builds are cached by their go.sum (the first takes a while on two cores); state, certificates and logs
# live in $STACK_DIR/k8s. Running it again leaves a healthy
# cluster as it is, and restarts a component whose command line or configuration changed.
#   bash tools/k8s-up.sh          # start; the admin kubeconfig is $STACK_DIR/k8s/admin.kubeconfig
#   bash tools/k8s-up.sh down     # stop (the state stays; `rm -rf $STACK_DIR/k8s/{etcd,pki}` forgets it)
# The node (named after the host) runs its pods on a containerd of its own (Debian's, with its own
# config, root, state and socket $STACK_DIR/k8s/containerd/containerd.sock; never Docker's) with runc,
# and the CNI plugins of containernetworking-plugins: one bridge, pod IPs from $K8S_POD_CIDR
# (10.88.0.0/16), masqueraded outside it. No registry is used: the pause image is built here from the
# Kubernetes sources, other images are imported, e.g.
#   docker save IMAGE | ctr -a $STACK_DIR/k8s/containerd/containerd.sock -n k8s.io images import -
# Services: kube-proxy (iptables), reachable from pods and from this host. DNS: CoreDNS on the host IP,
# the kubelet's clusterDNS. Storage: the default StorageClass `local` of $K8S_VOLUMES (8) hostPath
# volumes under $STACK_DIR/k8s/volumes, statically provisioned; one released by its claim is wiped and
# offered again on the next run. Not here: a NetworkPolicy enforcer (the bridge plugin ignores policies).
# The kubelet sets the kernel tunables it requires (vm.overcommit_memory=1, kernel.panic=10,
# kernel.panic_on_oops=1) on this machine, as on any node.
source "$(dirname "$0")/lib.sh"
# without symlinks: the kubelet finds its volumes in the mount table by path, which names none
K8S_DIR=$(realpath -m "$STACK_DIR/k8s")
BIN="$K8S_DIR/bin"
PKI="$K8S_DIR/pki"
COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
CTRD="$K8S_DIR/containerd"
CTRD_SOCK="$CTRD/containerd.sock"
API_PORT=${K8S_API_PORT:-6443}
ETCD_PORT=${K8S_ETCD_PORT:-2379}
SERVICE_RANGE=10.0.0.0/24
SERVICE_IP=10.0.0.1
POD_CIDR=${K8S_POD_CIDR:-10.88.0.0/16}
NODE_NAME=${K8S_NODE_NAME:-$(hostname | tr '[:upper:]' '[:lower:]')}
# built here from pause.c (tag of its build/pause/Makefile), never pulled
PAUSE_TAG=3.10.2
PAUSE_IMAGE=sandbox.local/pause:$PAUSE_TAG
# the address the API server advertises (the `kubernetes` Service's endpoint): routable, never loopback
HOST_IP=${K8S_HOST_IP:-$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')}
VOLUMES=${K8S_VOLUMES:-8}

ctr_k8s() { ctr -a "$CTRD_SOCK" -n k8s.io "$@"; }
kubectl_admin() { "$BIN/kubectl" --kubeconfig "$K8S_DIR/admin.kubeconfig" "$@"; }
down() {
  stop_pidfile kubelet "$K8S_DIR/kubelet.pid"
  stop_pidfile kube-proxy "$K8S_DIR/kube-proxy.pid"
  stop_pidfile coredns "$K8S_DIR/coredns.pid"
  # the pods' processes too (their shims outlive containerd); the kubelet finds the sandboxes dead on
  # its next start and makes them again
  if pid_alive "$K8S_DIR/containerd.pid"; then
    ctr_k8s tasks ls -q 2>/dev/null | while read -r t; do ctr_k8s tasks kill -s KILL "$t" >/dev/null 2>&1 || true; done
  fi
  stop_pidfile containerd "$K8S_DIR/containerd.pid"
  # the pods' volumes, the kubelet's bind mount of its own directory (made shared for mount propagation)
  # and containerd's sandbox shm mounts
  awk -v d="$K8S_DIR" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount "$m" || log "could not unmount $m"; done
  stop_pidfile kube-scheduler "$K8S_DIR/kube-scheduler.pid"
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
  local stamp="$BIN/go.sum.sha256" sum c stale=0
  sum=$(cat "$ROOT_DIR/tools/k8s/go.mod" "$ROOT_DIR/tools/k8s/go.sum" 2>/dev/null | sha256sum | cut -d' ' -f1)
  for c in "${COMPONENTS[@]}"; do [ -x "$BIN/$c" ] || stale=1; done
  if [ "$stale" = 0 ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then return 0; fi
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
build_coredns() { # tools/k8s/coredns: CoreDNS with the plugins of the Corefile below
  local dir="$ROOT_DIR/tools/k8s/coredns" stamp="$BIN/coredns.go.sum.sha256" sum
  sum=$(cat "$dir/go.mod" "$dir/go.sum" "$dir/main.go" | sha256sum | cut -d' ' -f1)
  [ -x "$BIN/coredns" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ] && return 0
  log "building CoreDNS"
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -o "$BIN/coredns" .) || die "building CoreDNS failed"
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
  sign scheduler /CN=system:kube-scheduler
  # the node's identity for the Node authorizer, and the name the kubelet's serving certificate answers to
  sign kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
  sign kubelet-serving "/CN=$NODE_NAME" "DNS:$NODE_NAME,IP:$HOST_IP"
  # the default bindings know system:kube-proxy (system:node-proxier); CoreDNS's role is made below
  sign kube-proxy /CN=system:kube-proxy
  sign coredns /CN=coredns
  # the API server calling kubelets (logs, exec, attach, port-forward)
  sign apiserver-kubelet-client /CN=kube-apiserver-kubelet-client
  [ -s "$PKI/sa.key" ] || openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  kubeconfig admin
  kubeconfig controller-manager
  kubeconfig scheduler
  kubeconfig kubelet
  kubeconfig kube-proxy
  kubeconfig coredns
}

# ── the processes ──
start() { # NAME CMD...: in the background, logged, with a pid file; restarted when CMD or a config file it names changed
  local name=$1 a sig; shift
  sig=$(for a in "$@"; do
    echo "$a"
    if [[ $a = *.yaml || $a = *.toml ]]; then sha256sum <"$a"; fi
  done | sha256sum)
  if pid_alive "$K8S_DIR/$name.pid"; then
    [ "$(cat "$K8S_DIR/$name.sig" 2>/dev/null)" = "$sig" ] && return 0
    log "$name: its command line or configuration changed, restarting"
    stop_pidfile "$name" "$K8S_DIR/$name.pid"
  fi
  setsid "$@" >"$K8S_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$K8S_DIR/$name.pid"
  echo "$sig" >"$K8S_DIR/$name.sig"
}
healthy() { curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "https://127.0.0.1:$API_PORT/readyz" >/dev/null; }

# ── the node: containerd, CNI, the pause image, the kubelet ──
node_config() {
  mkdir -p "$CTRD" "$K8S_DIR/cni/net.d" "$K8S_DIR/kubelet" "$K8S_DIR/pod-logs"
  cat >"$CTRD/config.toml" <<EOF
version = 2
root = "$CTRD/root"
state = "$CTRD/state"
[grpc]
  address = "$CTRD_SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CTRD/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  # this machine withholds CAP_SYS_RESOURCE: runc could not lower a pod's OOM score below containerd's
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$K8S_DIR/cni/net.d"
EOF
  # containerd adds the loopback interface itself (the loopback plugin) before this list; firewall
  # lets the pods' traffic through the FORWARD chain, whose policy Docker sets to DROP
  cat >"$K8S_DIR/cni/net.d/10-pods.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "pods",
  "plugins": [
    { "type": "bridge", "bridge": "k8s-pods0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }], "dataDir": "$K8S_DIR/cni/ipam" } },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "firewall" }
  ]
}
EOF
  cat >"$K8S_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$CTRD_SOCK
podLogsDir: $K8S_DIR/pod-logs
# this machine: cgroup v1 hierarchies, no systemd, swap allowed
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
address: $HOST_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $PKI/ca.crt }
authorization: { mode: Webhook }
clusterDomain: cluster.local
clusterDNS: [$HOST_IP]
resolvConf: /etc/resolv.conf
# Kubernetes has no per-pod pids limit but this node-wide one: a fork bomb in a sandbox stops there,
# and the platform's own pods (MariaDB's threads among them) stay well below it
podPidsLimit: 1024
# images are imported, never pulled: none may be collected; the disk is shared with everything else on
# this machine, which the kubelet must not evict pods over
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2% }
EOF
  # the cluster's names on the host IP (pods reach it through their bridge's gateway), the rest from
  # this host's resolvers; health and readiness on loopback
  cat >"$K8S_DIR/Corefile" <<EOF
.:53 {
  bind $HOST_IP
  errors
  health 127.0.0.1:10054
  ready 127.0.0.1:10055
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig $K8S_DIR/coredns.kubeconfig local
    pods insecure
    fallthrough in-addr.arpa ip6.arpa
  }
  forward . /etc/resolv.conf
  cache 30
  loop
  loadbalance
}
EOF
}
pause_image() { # the sandbox (infra) container's image, as build/pause of the same sources makes it
  ctr_k8s images ls -q | grep -qxF "$PAUSE_IMAGE" && return 0
  log "building $PAUSE_IMAGE from build/pause/linux/pause.c"
  local src tmp diff config manifest
  src="$(cd "$ROOT_DIR/tools/k8s" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c"
  tmp=$(mktemp -d)
  mkdir -p "$tmp/rootfs" "$tmp/oci/blobs/sha256"
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_TAG" -s -o "$tmp/rootfs/pause" "$src" || die "compiling pause.c failed"
  # an OCI image layout of one uncompressed layer, byte for byte the same on every build
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tmp/rootfs" -cf "$tmp/layer.tar" pause
  diff=$(sha256sum <"$tmp/layer.tar" | cut -d' ' -f1)
  mv "$tmp/layer.tar" "$tmp/oci/blobs/sha256/$diff"
  printf '{"architecture":"%s","os":"linux","config":{"User":"65535:65535","Entrypoint":["/pause"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$(dpkg --print-architecture)" "$diff" >"$tmp/config.json"
  config=$(sha256sum <"$tmp/config.json" | cut -d' ' -f1)
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
    "$config" "$(stat -c %s "$tmp/config.json")" "$diff" "$(stat -c %s "$tmp/oci/blobs/sha256/$diff")" >"$tmp/manifest.json"
  manifest=$(sha256sum <"$tmp/manifest.json" | cut -d' ' -f1)
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s"}}]}' \
    "$manifest" "$(stat -c %s "$tmp/manifest.json")" "$PAUSE_IMAGE" >"$tmp/oci/index.json"
  mv "$tmp/config.json" "$tmp/oci/blobs/sha256/$config"
  mv "$tmp/manifest.json" "$tmp/oci/blobs/sha256/$manifest"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$tmp/oci/oci-layout"
  tar -C "$tmp/oci" -cf "$tmp/pause.tar" oci-layout index.json blobs
  ctr_k8s images import "$tmp/pause.tar" >/dev/null || die "importing $PAUSE_IMAGE into the node's containerd failed"
  rm -rf "$tmp"
}
# Ready, as reported by the kubelet running now: a restarted kubelet's node keeps its old Ready until
# the first heartbeat, and pods sent before it are never run
node_ready() {
  local status beat
  read -r status beat < <(kubectl_admin get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}')
  [ "$status" = True ] && [ "$(date -d "$beat" +%s)" -ge "$(stat -c %Y "$K8S_DIR/kubelet.pid")" ]
}

# the static volumes of the default StorageClass; a released one (its claim deleted) is wiped and offered again
volumes() {
  local i name phase
  {
    echo '{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"local","annotations":{"storageclass.kubernetes.io/is-default-class":"true"}},"provisioner":"kubernetes.io/no-provisioner","volumeBindingMode":"WaitForFirstConsumer","reclaimPolicy":"Retain"}'
    for i in $(seq "$VOLUMES"); do
      name=local-$i
      # any pod user may write: hostPath volumes take no fsGroup
      mkdir -p "$K8S_DIR/volumes/$name" && chmod 0777 "$K8S_DIR/volumes/$name"
      phase=$(kubectl_admin get pv "$name" -o jsonpath='{.status.phase}' 2>/dev/null || true)
      if [ "$phase" = Released ]; then
        find "$K8S_DIR/volumes/$name" -mindepth 1 -delete
        kubectl_admin patch pv "$name" --type json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null
      fi
      printf '{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"%s"},"spec":{"storageClassName":"local","capacity":{"storage":"50Gi"},"accessModes":["ReadWriteOnce"],"persistentVolumeReclaimPolicy":"Retain","hostPath":{"path":"%s","type":"Directory"},"nodeAffinity":{"required":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/hostname","operator":"In","values":["%s"]}]}]}}}}\n' \
        "$name" "$K8S_DIR/volumes/$name" "$NODE_NAME"
    done
  } | kubectl_admin apply --server-side -f - >/dev/null || die "making the volumes failed"
}

ensure_packages etcd-server openssl curl iproute2 containerd runc containernetworking-plugins iptables conntrack gcc libc6-dev
build
build_coredns
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
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction --allow-privileged=false --cert-dir "$PKI/apiserver-generated" \
  --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP
wait_for kube-apiserver 120 healthy
kubectl_admin create clusterrolebinding kube-apiserver-kubelet-client \
  --clusterrole system:kubelet-api-admin --user kube-apiserver-kubelet-client --dry-run=client -o yaml |
  kubectl_admin apply --server-side -f - >/dev/null
start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig "$K8S_DIR/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$K8S_DIR/controller-manager.kubeconfig" --authorization-kubeconfig "$K8S_DIR/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 10257 --leader-elect=false --use-service-account-credentials \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" --service-cluster-ip-range "$SERVICE_RANGE"
start kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$K8S_DIR/scheduler.kubeconfig" \
  --authentication-kubeconfig "$K8S_DIR/scheduler.kubeconfig" --authorization-kubeconfig "$K8S_DIR/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 10259 --leader-elect=false
node_config
start containerd containerd --config "$CTRD/config.toml"
wait_for containerd 30 ctr -a "$CTRD_SOCK" version
pause_image
start kubelet "$BIN/kubelet" --config "$K8S_DIR/kubelet.yaml" --kubeconfig "$K8S_DIR/kubelet.kubeconfig" \
  --root-dir "$K8S_DIR/kubelet" --hostname-override "$NODE_NAME" --node-ip "$HOST_IP"
wait_for "node $NODE_NAME Ready" 120 node_ready
# Services (iptables); conntrack left as the machine has it
start kube-proxy "$BIN/kube-proxy" --kubeconfig "$K8S_DIR/kube-proxy.kubeconfig" --hostname-override "$NODE_NAME" \
  --proxy-mode iptables --cluster-cidr "$POD_CIDR" --conntrack-max-per-core 0 \
  --metrics-bind-address 127.0.0.1:10249 --healthz-bind-address 127.0.0.1:10256
wait_for kube-proxy 60 curl -fsS http://127.0.0.1:10256/healthz
kubectl_admin create clusterrole system:coredns --verb list,watch --resource endpoints,services,pods,namespaces,endpointslices.discovery.k8s.io \
  --dry-run=client -o yaml | kubectl_admin apply --server-side -f - >/dev/null
kubectl_admin create clusterrolebinding system:coredns --clusterrole system:coredns --user coredns --dry-run=client -o yaml |
  kubectl_admin apply --server-side -f - >/dev/null
start coredns "$BIN/coredns" -conf "$K8S_DIR/Corefile"
wait_for coredns 60 curl -fsS http://127.0.0.1:10055/ready
volumes
log "ready: kube-apiserver https://127.0.0.1:$API_PORT ($(kubectl_admin version -o json | sed -n 's/.*"gitVersion": "\([^"]*\)".*/\1/p' | tail -1)), node $NODE_NAME; KUBECONFIG=$K8S_DIR/admin.kubeconfig, kubectl in $BIN"
