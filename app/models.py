"""Every table of the exchange, imported once so alembic and tests see the whole schema."""

from auction import models as auction_models
from contracts import models as contracts_models
from core import settings as settings_models
from core.accounts import models as accounts_models
from core.db import Base
from core.ledger import models as ledger_models
from core.ledger import tables as ledger_tables
from core.notices import models as notices_models
from listings import models as listings_models
from oversight import models as oversight_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "auction_models",
    "contracts_models",
    "ledger_models",
    "ledger_tables",
    "listings_models",
    "metadata",
    "notices_models",
    "oversight_models",
    "settings_models",
]
