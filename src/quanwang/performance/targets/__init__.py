"""performance.targets (see docs/performance/targets.md)."""
