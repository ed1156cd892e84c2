"""Records of the scorecards part of the channels app."""

__all__: list[str] = []
