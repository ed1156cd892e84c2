"""Quanwang (全网): marketing operations platform for telecom and cable-TV operators."""

__version__ = "0.1.0"
