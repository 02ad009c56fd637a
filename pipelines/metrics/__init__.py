"""Evaluation metrics (docs/metrics.md): small classes returning flat dicts with their protocol.

See docs/metrics.md. Entry points: :func:`pipelines.metrics.evaluate.evaluate_checkpoint`
and :func:`pipelines.metrics.evaluate.score_images`. Every metric is declared once in
:mod:`pipelines.metrics.registry` (docs/adding-a-metric.md).
"""
