"""Grids, channels and partner stores (网格化 / 全渠道): the grid map and assignment, grid
scorecards and P&L, the store file and grading, visits, the omni-channel funnel, commissions.

One Django app (label `channels`) in parts, one subpackage a part, each with the app skeleton:
geo/, scorecards/, stores/, visits/, funnel/, commissions/. The models of every part live in
models/<part>.py so the app keeps one migration history.
"""
