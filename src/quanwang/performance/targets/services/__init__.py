"""The use cases of performance.targets: set at the top, decompose, change with reconciliation,
lock."""

from quanwang.performance.targets.services.decomposing import candidates, decompose
from quanwang.performance.targets.services.reconciling import change_target, set_locked
from quanwang.performance.targets.services.setting import set_target

__all__ = ["candidates", "change_target", "decompose", "set_locked", "set_target"]
