"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served with no network.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (jsDelivr), their favicons from
fastapi.tiangolo.com and ReDoc's fonts from Google Fonts: on an air-gapped network ``/docs`` is
blank. Here the same pages load the copies shipped inside the package, under
``followthrough/web/static/vendor/`` (swagger-ui-dist 5 and redoc 2's standalone bundle, taken
unchanged from the npm registry with their licences; ``PROVENANCE.md`` there names the versions and
their digests), served at ``/static/vendor/...``. Swagger UI's online validator (a badge image
fetched from validator.swagger.io) is switched off, and ReDoc uses the system fonts.

ReDoc's bundle still names one outside URL: the Redocly logo in its "API docs by Redocly" link
(``cdn.redoc.ly/redoc/logo-mini.svg``, an ``<img>`` its React code always renders). The bundle
stays byte for byte the published one; instead ``/redoc`` runs a small script before it
(:data:`REDOC_LOGO_GUARD`) that points any image on another origin at the server's own icon
(:data:`FAVICON`), so the browser never requests the logo and the console stays clean (the CSP used
to block it with an error). Both pages are also served with a
Content-Security-Policy (:data:`DOCS_CSP`) that lets them load and connect to this server only, so
no later version of either bundle can reach out either.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

VENDOR_DIR = Path(__file__).resolve().parent.parent / "web" / "static" / "vendor"
"""The vendored Swagger UI and ReDoc assets (``swagger-ui/``, ``redoc/``)."""
VENDOR_URL = "/static/vendor"
"""Where :data:`VENDOR_DIR` is served."""

SWAGGER_JS = f"{VENDOR_URL}/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = f"{VENDOR_URL}/swagger-ui/swagger-ui.css"
FAVICON = f"{VENDOR_URL}/swagger-ui/favicon-32x32.png"
REDOC_JS = f"{VENDOR_URL}/redoc/redoc.standalone.js"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
DOCS_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",  # FastAPI's inline call that starts Swagger UI
        "style-src 'self' 'unsafe-inline'",  # both UIs set inline styles
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",  # /openapi.json and Swagger UI's "Try it out"
        "worker-src 'self' blob:",  # ReDoc's search index
        "frame-ancestors 'self'",
        "base-uri 'self'",
        "form-action 'self'",
    )
)
"""What the documentation pages may load: from this server only."""

REDOC_LOGO_GUARD = f"""<script>
(function () {{
  /* ReDoc always renders its "API docs by Redocly" link's logo from its makers' CDN: an image on
     another origin is pointed at this server's own icon before the browser requests it. */
  var local = "{FAVICON}";
  function here(value) {{
    try {{
      var url = new URL(String(value), document.baseURI);
      return url.protocol === "data:" || url.origin === window.location.origin ? value : local;
    }} catch (e) {{
      return value;
    }}
  }}
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {{
    var src = this instanceof HTMLImageElement && String(name).toLowerCase() === "src";
    return setAttribute.call(this, name, src ? here(value) : value);
  }};
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {{
    configurable: true,
    enumerable: src.enumerable,
    get: function () {{ return src.get.call(this); }},
    set: function (value) {{ src.set.call(this, here(value)); }},
  }});
}})();
</script>
"""
"""Run before ReDoc's bundle on ``/redoc`` (inline: :data:`DOCS_CSP` allows it): see the module
docstring."""


def install(app: FastAPI) -> None:
    """Serve ``/docs``, ``/docs/oauth2-redirect`` and ``/redoc`` on ``app`` from the package's assets.

    ``app`` must be made with ``docs_url=None, redoc_url=None`` (else FastAPI's CDN pages answer
    first). Mounts :data:`VENDOR_DIR` at :data:`VENDOR_URL` (a mount of the whole ``/static`` folder
    elsewhere serves the same files: either one answers). ``FileNotFoundError`` when the assets are
    missing from the installation (a broken install, caught when the app is built, not on first view).
    """
    for asset in (SWAGGER_JS, SWAGGER_CSS, FAVICON, REDOC_JS):
        path = VENDOR_DIR / asset.removeprefix(VENDOR_URL + "/")
        if not path.is_file():
            raise FileNotFoundError(
                f"the API documentation's asset {path} is missing: reinstall followthrough"
            )
    app.mount(VENDOR_URL, StaticFiles(directory=VENDOR_DIR), name="vendor")
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=SWAGGER_JS,
            swagger_css_url=SWAGGER_CSS,
            swagger_favicon_url=FAVICON,
            oauth2_redirect_url=OAUTH2_REDIRECT,
            swagger_ui_parameters={"validatorUrl": None},
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=REDOC_JS,
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        )
        bundle = f'<script src="{REDOC_JS}">'
        html = bytes(page.body).decode("utf-8")
        if bundle not in html:  # FastAPI changed its page: fail loudly rather than let the logo load
            raise RuntimeError(f"FastAPI's ReDoc page no longer loads {REDOC_JS} as expected")
        html = html.replace(bundle, REDOC_LOGO_GUARD + bundle, 1)
        return HTMLResponse(html, headers={"Content-Security-Policy": DOCS_CSP})
