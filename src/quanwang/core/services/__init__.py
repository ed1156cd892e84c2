"""Core use cases. Each public function is typed, keyword-only and owns its transaction."""
