"""The long-lived objects one process shares, built by the lifespan and handed to routes."""

from dataclasses import dataclass

from service.config import Settings
from service.db import Database


@dataclass
class Runtime:
    """Everything a request may need that outlives the request."""

    settings: Settings
    database: Database
