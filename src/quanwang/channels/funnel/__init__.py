"""The funnel part of the channels app."""
