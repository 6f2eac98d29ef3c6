"""Errors that carry a one-line, user-facing explanation of bad input or a failed run."""


class MemorizationError(Exception):
    """Base class: the message names the cause and what to do, on one line."""


class ConfigError(MemorizationError):
    """A configuration value is missing, of the wrong type or out of range."""


class DataError(MemorizationError):
    """A data set could not be loaded, or its content is not what it should be."""


class TrainingDivergedError(MemorizationError):
    """Training produced a non-finite loss."""
