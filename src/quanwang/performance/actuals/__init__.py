"""performance.actuals (see docs/performance/actuals.md)."""
