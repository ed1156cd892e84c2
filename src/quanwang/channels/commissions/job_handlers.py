"""Background jobs of the commissions part."""
