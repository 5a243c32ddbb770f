// Package crd holds no code: it makes the Prometheus Operator's API types a dependency of this
// module, so controller-gen can generate their CustomResourceDefinitions from the module cache.
package crd

import _ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
