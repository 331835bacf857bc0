"""libext's SQLAlchemy models. Each feature keeps its models in a module of its own."""

from libext.models.base import Base, utcnow
from libext.models.harvest import HarvestRun, HarvestSource
from libext.models.library import Library
from libext.models.record import Holding, Record
from libext.models.search import SearchCluster, SearchFacet, SearchIsbn, SearchMember

__all__ = [
    "Base",
    "HarvestRun",
    "HarvestSource",
    "Holding",
    "Library",
    "Record",
    "SearchCluster",
    "SearchFacet",
    "SearchIsbn",
    "SearchMember",
    "utcnow",
]
