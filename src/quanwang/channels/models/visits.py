"""Records of the visits part of the channels app."""

__all__: list[str] = []
