"""Multilevel models: random-intercept fits (:mod:`.mixed`), the change model over waves
(:mod:`.change_model`) and the REML engines they share (``_lmm*``).

The public names are re-exported by :mod:`collective_efficacy`.
"""
