"""ANN baselines the paper compares FSVAE against, with the same conv stacks."""
