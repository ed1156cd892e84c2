"""The stores part of the channels app."""
