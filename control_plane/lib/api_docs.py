"""The API reference page at /docs: Scalar, loaded from a pinned release with its integrity hash (SRI), so
that a changed file on the CDN is refused by the browser instead of running on our origin."""

from __future__ import annotations

from typing import Any, Final

from litestar import Request
from litestar.openapi.plugins import ScalarRenderPlugin

# To upgrade: `npm pack @scalar/api-reference@<version>`, then
# `openssl dgst -sha384 -binary package/dist/browser/standalone.js | openssl base64 -A`.
SCALAR_VERSION: Final = "1.76.0"
SCALAR_JS_URL: Final = (
    f"https://cdn.jsdelivr.net/npm/@scalar/api-reference@{SCALAR_VERSION}/dist/browser/standalone.js"
)
SCALAR_JS_INTEGRITY: Final = "sha384-oH1C0RwqcwbVXkC+r8A+4qRoyEUQdtxAzOwumkxZtQBBcsy61FOoPt7B50OVJYYQ"


class PinnedScalarRenderPlugin(ScalarRenderPlugin):
    """Litestar's Scalar page, with an integrity attribute on the script and without Litestar's
    stylesheet (fetched from a moving branch, and not needed: the bundle carries Scalar's styles)."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        page = super().render(request, openapi_schema).decode()
        stylesheet = f'<link rel="stylesheet" type="text/css" href="{self.css_url}">'
        script = f'<script src="{self.js_url}" crossorigin></script>'
        pinned = (
            f'<script src="{self.js_url}" integrity="{SCALAR_JS_INTEGRITY}" crossorigin="anonymous"></script>'
        )
        if stylesheet not in page or script not in page:
            raise RuntimeError("Litestar's Scalar page changed; update PinnedScalarRenderPlugin")
        return page.replace(stylesheet, "").replace(script, pinned).encode()


def scalar_plugin() -> ScalarRenderPlugin:
    return PinnedScalarRenderPlugin(js_url=SCALAR_JS_URL)
