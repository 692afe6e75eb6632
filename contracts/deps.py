"""What the contract use cases work with, handed to them by the edge (`contracts/api.py`).

Built from the app's services per request; nothing in the use cases reaches for the HTTP
layer. Settlement and revocation need only the database and the time, and take just those.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.certificates import Keys
from contracts.files import PdfStore
from core.clock import Clock
from core.config import Config
from core.db import Database


@dataclass(frozen=True, slots=True)
class Deps:
    db: Database
    clock: Clock
    #: Signed PDFs on disk.
    files: PdfStore
    #: The platform CA.
    keys: Keys

    @classmethod
    def of(cls, db: Database, clock: Clock, config: Config) -> Deps:
        return cls(db, clock, PdfStore(config.data_dir), Keys(config.data_dir, config.secret_key))
