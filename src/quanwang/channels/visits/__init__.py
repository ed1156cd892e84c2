"""The visits part of the channels app."""
