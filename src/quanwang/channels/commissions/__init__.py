"""The commissions part of the channels app."""
