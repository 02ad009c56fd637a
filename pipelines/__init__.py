"""Data, training, sampling, evaluation and tables: everything around the models."""
