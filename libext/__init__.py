"""libext: MARC import/export, an OAI-PMH provider and harvester, and a union-catalogue search
for Flask-based integrated library systems.

>>> from flask import Flask
>>> from libext import LibExt
>>> app = Flask(__name__)
>>> app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///libext.sqlite3"
>>> LibExt(app)  # doctest: +SKIP
"""

from libext.auth import Principal
from libext.extension import LibExt, LibExtState
from oai.source import RecordSource, SourceRecord

__version__ = "0.1.0"

__all__ = ["LibExt", "LibExtState", "Principal", "RecordSource", "SourceRecord", "__version__"]
