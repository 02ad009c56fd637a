"""Reporting: Table 1, the leaderboard, figures and the README block, from ``results/``.

Nothing here measures; every module reads the records the evaluate, sample and cost
stages wrote (``results/metrics``, ``results/cost``) and the quoted numbers in
``quoted/``.
"""
