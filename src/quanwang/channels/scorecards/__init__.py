"""The scorecards part of the channels app."""
