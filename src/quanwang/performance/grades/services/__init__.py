"""Use cases of performance.grades: the rules' versions, proposing and deciding moves, placing
a staff member, and reading grades within the reader's scope."""
