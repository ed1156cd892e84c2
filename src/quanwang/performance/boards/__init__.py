"""performance.boards (see docs/performance/boards.md)."""
