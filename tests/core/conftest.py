from tests.core.processes import shared_db

__all__ = ["shared_db"]
