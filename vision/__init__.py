"""Damage assessment for shopper photos: data, training, calibration, evaluation, inference.

The public entry point is :mod:`vision.assess` (``get_assessor()``); the CLIs are
``python -m vision.train``, ``vision.evaluate``, ``vision.predict`` and ``vision.bench``.
"""
