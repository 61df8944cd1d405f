// Package observability checks the Grafana dashboard (config/grafana) and the
// PrometheusRule (config/prometheus) against the code: both files are well formed,
// and every metric their PromQL expressions select is exported by a running manager
// (internal/operator.NewManager on envtest) or a running Studio user store
// (internal/storeserver, what `studio-store serve` runs), scraped over HTTP. A metric
// renamed or dropped in the code, or misspelt in a panel or an alert, fails the tests
// with its name instead of leaving a panel empty or an alert silent.
package observability
