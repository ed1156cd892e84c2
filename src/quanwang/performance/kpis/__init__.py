"""performance.kpis (see docs/performance/kpis.md)."""
