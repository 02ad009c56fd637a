"""Errors the data layer raises; the CLI prints their message as one line."""

from __future__ import annotations


class DataNotFoundError(FileNotFoundError):
    """A dataset file is missing and could not be obtained; the message says what to do."""


class ChecksumError(ValueError):
    """A dataset file does not match its published checksum (corrupted or truncated)."""


class DataFormatError(ValueError):
    """A file has the right name but unreadable or unexpected content."""


class NotPreparedError(FileNotFoundError):
    """The preprocessed arrays a caller asked for have not been written yet."""
