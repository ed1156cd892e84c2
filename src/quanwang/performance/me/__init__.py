"""performance.me: a staff member's own page — their targets and attainment, their place on
the boards, their grade and their incentive statements (docs/performance.md)."""
