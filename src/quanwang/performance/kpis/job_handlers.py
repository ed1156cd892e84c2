"""Job handlers and nightly steps of performance.kpis (registered on import)."""
