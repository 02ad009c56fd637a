"""Measuring tools that watch PyTorch itself (not used by any stage's computation).

- :mod:`pipelines.profiling.op_counter`: ops dispatched per call and the devices of outputs.
"""
