//go:build tools

// The module's one dependency, built by tools/k8s-images.sh: go build github.com/prometheus/prometheus/cmd/prometheus
package tools

import _ "github.com/prometheus/prometheus/cmd/prometheus"
