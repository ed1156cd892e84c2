"""The geo part of the channels app."""
