"""Use cases of the enterprise persons part: persons and roles, ratings, care, import."""
