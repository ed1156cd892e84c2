"""Records of the commissions part of the channels app."""

__all__: list[str] = []
