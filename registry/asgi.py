"""The ASGI entry point for servers: ``granian --interface asgi registry.asgi:app``."""

import os

from registry.app import create_app

# REGISTRY_BACKGROUND=0 runs the app without its background workers (mail,
# digests, checkpoints), e.g. for a second server on the same database.
app = create_app(run_background=os.environ.get("REGISTRY_BACKGROUND", "1") == "1")
