"""create_app(settings) wires the API and the public pages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import AsyncIterator

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

import asyncio

from registry import areas
from registry import db as dbmod
from registry.api.problems import EXCEPTION_HANDLERS
from registry.api.routes import ROUTES, provide_actor, provide_db
from registry.challenges import utcnow
from registry.settings import Settings
from registry.store.tokens import Actor
from registry.web import i18n, pages, security
from registry.web.auth import LoginRequired, handle_login_required

log = logging.getLogger("registry")


def create_app(
    settings: Settings | None = None,
    db: dbmod.Db | None = None,
    clock: Callable[[], datetime] = utcnow,
    run_background: bool = True,
) -> Litestar:
    """The whole registry as an ASGI app. Give ``db`` to share a pool (tests);
    otherwise the app opens its own on start-up and closes it on shutdown."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own_pool = app.state.get("db") is None
        if own_pool:
            url = dbmod.resolve_url(settings)
            if settings.migrate_on_start:
                await dbmod.migrate_url(url)
            pool = await dbmod.create_pool(url, settings)
            app.state.db = dbmod.Db(pool, settings.db_timeout)
        tasks = [asyncio.create_task(task(app)) for task in areas.background_tasks()] if run_background else []
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if own_pool:
                await app.state.db.close()

    api = Router(
        path="/api/v1",
        route_handlers=[*ROUTES, *areas.api_routes()],
        dependencies={"actor": Provide(provide_actor)},
        signature_namespace={"Actor": Actor},
    )
    app = Litestar(
        route_handlers=[api, *pages.ROUTES, *areas.page_routes()],
        dependencies={"db": Provide(provide_db, sync_to_thread=False)},
        exception_handlers={**EXCEPTION_HANDLERS, LoginRequired: handle_login_required},
        # Every form posts a CSRF token; the API is exempt because it takes
        # bearer tokens, never cookies.
        csrf_config=CSRFConfig(
            secret=settings.resolved_secret_key(),
            cookie_name="rtc_csrf",
            cookie_httponly=True,
            cookie_samesite="lax",
            cookie_secure=settings.secure_cookies,
            exclude=["/api/"],
        ),
        lifespan=[lifespan],
        cors_config=CORSConfig(
            allow_origins=["*"],
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match"],
            expose_headers=["ETag", "Link", "Location", "Retry-After"],
        ),
        openapi_config=OpenAPIConfig(
            title="Right-to-Challenge Registry",
            version="1.0.0",
            path="/api/v1/schema",
            description="Every challenge, step, deadline, decision and reason, as open data. "
            "Writes need a bearer token. Errors are RFC 9457 problem+json.",
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
            ),
            render_plugins=[],
        ),
        template_config=pages.template_config(),
        # On every response, error pages and static files included.
        before_send=[security.add_security_headers, i18n.remember_locale],
        request_max_body_size=1_048_576,
        debug=False,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.db = db
    return app
