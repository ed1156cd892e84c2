"""Services of performance.incentives: rules (versions and their validity), the computation
of a statement's lines, and the monthly run with approval."""
