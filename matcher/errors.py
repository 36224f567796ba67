"""Exceptions of the matcher package. The CLI turns each into 'Error: <message>' and exit code 1."""


class PerkmatchError(Exception):
    """Base of every error the matcher package raises."""


class UnknownUserError(PerkmatchError):
    """No user with that id is stored."""


class UnknownTopicError(PerkmatchError):
    """The topic id is not in the loaded taxonomy."""


class NotReadyError(PerkmatchError):
    """A stage was asked for before the stage it depends on has run."""


class ModelError(PerkmatchError):
    """The embedding model cannot be loaded."""


class WrongArgumentError(PerkmatchError, TypeError):
    """A library function was given another kind of object than it takes (a session for an engine, an encoder for
    a cache); the message names the one to give."""


class EncoderError(PerkmatchError):
    """An encoder failed, or returned what the Encoder interface does not: (n, dim) finite unit-norm vectors."""


class ImportFormatError(PerkmatchError):
    """A platform export is malformed or truncated; the message names the file, the place and the fix."""


class ClusterError(PerkmatchError):
    """Ray is not installed, or the Ray cluster cannot be reached or used."""
