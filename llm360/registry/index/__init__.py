"""The cross-release provenance registry: an index of verified releases (their checkpoints,
data chunks, lineage inside and across releases, evaluation results and verification events)
in SQLite by default or PostgreSQL for a team, with queries and a read-only web view.

Needs the ``[registry]`` extra (SQLAlchemy, psycopg); ``import llm360.registry`` does not load
this package.

    store = open_store("sqlite:///registry.db")
    add_release(store, "release/", policy=TrustPolicy(key=Path("pub.pem")))
    chunk(store, "<sha256>").trained
"""

from llm360.registry.index.add import add_release, check_release, reverify
from llm360.registry.index.queries import (
    ancestors,
    checkpoint_id,
    chunk,
    derived,
    history,
    list_releases,
    release_ids,
    resolve,
    show_checkpoint,
    show_release,
)
from llm360.registry.index.store import Store, open_store

__all__ = ["Store", "open_store", "add_release", "check_release", "reverify", "list_releases",
           "show_release", "show_checkpoint", "checkpoint_id", "chunk", "derived", "ancestors",
           "history", "release_ids", "resolve"]
