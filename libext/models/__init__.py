"""libext's SQLAlchemy models. Each feature keeps its models in a module of its own."""

from libext.models.accounts import ApiToken, LoginFailure, User
from libext.models.base import Base, utcnow
from libext.models.harvest import HarvestRun, HarvestSeen, HarvestSource
from libext.models.imports import ImportBatch, ImportOutcome, MatchKey
from libext.models.library import Library
from libext.models.record import Holding, Record, live_record_counts
from libext.models.search import SearchCluster, SearchFacet, SearchIsbn, SearchMember

__all__ = [
    "ApiToken",
    "Base",
    "HarvestRun",
    "HarvestSeen",
    "HarvestSource",
    "Holding",
    "ImportBatch",
    "ImportOutcome",
    "Library",
    "LoginFailure",
    "MatchKey",
    "Record",
    "SearchCluster",
    "SearchFacet",
    "SearchIsbn",
    "SearchMember",
    "User",
    "live_record_counts",
    "utcnow",
]
