"""Exceptions raised by the :mod:`marc` package.

Everything this package raises on purpose derives from :class:`MarcError`, so a caller can
catch one class. A broken *record* is not an exception: readers report it as a rejected
:class:`marc.reader.ReadResult` and go on with the next record. Exceptions are kept for
problems that stop the whole operation (an unreadable file, a record a writer refuses).
"""

from __future__ import annotations


class MarcError(Exception):
    """Base class of every exception the :mod:`marc` package raises."""


class UnusableInput(MarcError):
    """Raised when a whole input cannot be read as MARC.

    Examples: the file does not exist, is empty, is a corrupt gzip stream, or its content is
    not one of the supported formats. Command-line front ends map it to exit status 2.
    """


class UnknownEncoding(MarcError, ValueError):
    """Raised when an encoding name given by the user is not one the reader knows."""


class UnknownFormat(MarcError, ValueError):
    """Raised when a format name given by the user is not one the reader or writer knows."""


class RecordTooLarge(MarcError):
    """Raised when a record cannot be written as ISO 2709 without corrupting it.

    ISO 2709 stores the record length in 5 digits and each field length in 4, so a record of
    more than 99,999 bytes or a field of more than 9,999 bytes cannot be represented. The
    message names the record and the field so a cataloguer can fix it.
    """


class InvalidRecord(MarcError):
    """Raised when a record object handed to a writer is structurally unusable
    (no leader, a tag that is not three characters, a subfield code that is not one
    character...)."""
