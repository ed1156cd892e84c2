"""performance.incentives (see docs/performance/incentives.md)."""
