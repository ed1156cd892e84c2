"""Background jobs and nightly steps of the enterprise work part; importing it registers the
part's step in account merges (enterprise.accounts.merging)."""

from quanwang.enterprise.work import merging as _merging  # noqa: F401
