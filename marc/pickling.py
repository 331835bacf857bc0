"""Cheap pickling for the plain records that cross between processes by the thousand.

Bulk imports and harvests read records in worker processes (:mod:`libext.workers`) and send
the results back pickled. A slotted dataclass pickles through Python-level ``__getstate__``
and ``__setstate__`` calls; :func:`flat_pickle` pickles it as its constructor's arguments
instead, a plain tuple, which loads several times faster in the writing process, the one that
limits a bulk load.
"""

from __future__ import annotations

import dataclasses
import operator
from typing import Any, TypeVar

C = TypeVar("C", bound=type)


def flat_pickle(cls: C) -> C:
    """Class decorator for a dataclass whose fields are all ``__init__`` arguments, in order:
    instances pickle as ``cls(*values)``."""
    names = [f.name for f in dataclasses.fields(cls)]
    if len(names) < 2 or any(not f.init for f in dataclasses.fields(cls)):
        raise TypeError(f"{cls.__name__}: flat_pickle needs two or more __init__ fields")
    values = operator.attrgetter(*names)

    def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment]
    return cls
