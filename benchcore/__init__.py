"""What models and pipelines share: the model contract and the table of dataset facts.

Neither :mod:`fsvae` (model code) nor :mod:`pipelines` owns these, so both import them
from here; this package imports only torch.
"""
