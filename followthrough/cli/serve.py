"""``serve``: run the HTTP API under uvicorn, in one process or several (``--workers N``)."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from followthrough.cli.state import state
from followthrough.config import ExtractorName
from followthrough.errors import ConfigError


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_cmd(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
        workers: Annotated[
            int,
            typer.Option(
                min=1,
                max=64,
                help="Worker processes sharing the port (uvicorn's); one per core serves the most "
                "requests per second.",
            ),
        ] = 1,
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
        """Serve the dashboard at / and the HTTP API (docs at /docs, schema at /openapi.json)."""
        import uvicorn

        from followthrough.api import create_app
        from followthrough.api.app import WORKER_APP, ServeConfig
        from followthrough.web.session import session_secret

        st = state(ctx)
        settings = st.settings(extractor=extractor)
        # Open (and migrate) the store once here so that a bad URL is one clear error, not a traceback.
        st.open_store().close()
        config = ServeConfig.of(settings, fixed_as_of=bool(st.as_of))
        session_secret()  # the dashboard's session key: a bad one is one line and exit 1, before "Serving"
        try:  # bound before "Serving" is said: a port in use is one line and exit 1
            sock = tcp_socket(host, port)
        except OSError as e:
            raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
        st.err.print(
            f"Serving the dashboard and API on http://{host}:{port} with {workers} worker(s), "
            f"database {_shown(settings.database_url)} (Ctrl+C stops it)",
            highlight=False,
        )
        if workers == 1:
            api = create_app(settings.database_url, as_of=config.as_of, settings=settings)
            server = uvicorn.Server(
                uvicorn.Config(api, host=host, port=port, log_level=log_level, server_header=False)
            )
            server.run(sockets=[sock])
            return
        # Worker processes are started afresh (spawned): each builds the app from the settings resolved
        # here, handed over in the environment, and serves connections accepted on one shared socket.
        from uvicorn.supervisors import Multiprocess

        config.export()
        workers_config = uvicorn.Config(
            WORKER_APP,
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level=log_level,
            server_header=False,
        )
        Multiprocess(workers_config, sockets=[sock]).run()


def _shown(url: str) -> str:
    """``url`` as a person may see it: its password hidden."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415 - loaded with the store anyway

    return make_url(url).render_as_string(hide_password=True)


def tcp_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for worker processes to share, made with the TCP protocol number.

    asyncio turns Nagle's algorithm off (``TCP_NODELAY``) only on connections of a socket whose
    ``proto`` is TCP; the socket uvicorn binds for ``--workers`` has proto 0, and every response then
    waited about 40 ms for the client's delayed acknowledgement.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.set_inheritable(True)
    return sock
