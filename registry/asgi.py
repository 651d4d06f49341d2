"""The ASGI entry point for servers: ``granian --interface asgi registry.asgi:app``."""

from registry.app import create_app

app = create_app()
