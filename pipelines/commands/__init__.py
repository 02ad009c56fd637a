"""Subcommands of ``fsvae-bench``; each module is one command (see :mod:`pipelines.cli`)."""
