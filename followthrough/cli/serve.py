"""``serve``: run the HTTP API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from followthrough.cli.state import state
from followthrough.config import ExtractorName


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_cmd(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
        extractor: Annotated[
            str | None,
            typer.Option(
                "--extractor",
                help=f"{' | '.join(ExtractorName)}, for POST /v1/documents (env: FOLLOWTHROUGH_EXTRACTOR).",
                show_default=False,
            ),
        ] = None,
        log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    ) -> None:
        """Serve the HTTP API (docs at /docs, schema at /openapi.json); needs a token per request."""
        import uvicorn

        from followthrough.api import create_app

        st = state(ctx)
        settings = st.settings(extractor=extractor)
        # Open (and migrate) the store once here so that a bad URL is one clear error, not a traceback.
        st.open_store().close()
        api = create_app(
            settings.database_url,
            as_of=settings.as_of if st.as_of else None,
            settings=settings,
        )
        st.err.print(
            f"Serving the followthrough API on http://{host}:{port} (Ctrl+C stops it)", highlight=False
        )
        uvicorn.run(api, host=host, port=port, log_level=log_level, server_header=False)
