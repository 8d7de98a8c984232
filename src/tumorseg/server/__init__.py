"""The web application's server: a FastAPI API over
:class:`~tumorseg.interactive.session.InteractiveSession`, with SQLite persistence.

Modules: :mod:`~tumorseg.server.app` (the routes, :func:`create_app`),
:mod:`~tumorseg.server.config` (:class:`ServerConfig`), :mod:`~tumorseg.server.studies`
(discovery and uploads), :mod:`~tumorseg.server.sessions` (sessions, turns, persistence),
:mod:`~tumorseg.server.engine` (shared models and work queues), :mod:`~tumorseg.server.store`
(SQLite), :mod:`~tumorseg.server.security` (token, path confinement),
:mod:`~tumorseg.server.exports` and :mod:`~tumorseg.server.lesions`. The API contract is
``API.md`` beside this file.

Example:
    >>> from tumorseg.server import ServerConfig, create_app        # doctest: +SKIP
    >>> app = create_app(ServerConfig(data_dir="scans", state_dir="state"))  # doctest: +SKIP
"""

from tumorseg.server.app import create_app
from tumorseg.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
