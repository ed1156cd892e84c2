"""Use cases of the enterprise accounts part: sync (warehouse → account file), tree
(hierarchy), team and ownership, merge, and the readers of the list and the 360 page."""
