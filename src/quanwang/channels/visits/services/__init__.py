"""Visits to stores: plans by grade, logs on the four-point checklist, commitments, issues."""
