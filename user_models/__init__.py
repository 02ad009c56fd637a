"""Your own models: put a module here and name it in params.yaml (docs/adding-a-model.md).

The pipeline's train, sample and evaluate stages depend on this folder, so ``dvc repro``
retrains a model when its code changes.
"""
