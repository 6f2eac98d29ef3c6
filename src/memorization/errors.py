"""Errors that carry a one-line, user-facing explanation of bad input or a failed run."""


class MemorizationError(Exception):
    """Base class: the message names the cause and what to do, on one line."""


class ConfigError(MemorizationError):
    """A configuration value is missing, of the wrong type or out of range."""


class DataError(MemorizationError):
    """A data set could not be loaded, or its content is not what it should be."""


class TrainingDivergedError(MemorizationError):
    """Training produced a non-finite loss."""


class ResultsError(MemorizationError):
    """A file an earlier job of the workflow wrote (a model, a metrics record) is unreadable."""


# errno -> the cause, in words, of an OSError that no code can fix (disk full, read-only, denied).
ENVIRONMENT_ERRNOS = {
    "ENOSPC": "no space left on device (disk full)",
    "EDQUOT": "disk quota exceeded",
    "EROFS": "read-only file system",
    "EACCES": "permission denied",
    "EPERM": "operation not permitted",
}


def environment_cause(error: BaseException) -> str | None:
    """The cause in words when ``error`` is an OSError of ENVIRONMENT_ERRNOS, else None."""
    import errno

    if not isinstance(error, OSError) or error.errno is None:
        return None
    name = errno.errorcode.get(error.errno)
    return ENVIRONMENT_ERRNOS.get(name)
