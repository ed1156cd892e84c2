"""Records of the geo part of the channels app."""

__all__: list[str] = []
