"""Print the control plane's OpenAPI document as JSON, without running a server.

Creating the app connects to nothing (Postgres and Redis are opened at startup, which this never reaches), so
this works on a machine with neither running. The web app's API types are generated from it
(web/scripts/gen-api.mjs). Run it with CODEVOICE_ENV=dev so the development secrets apply:

    CODEVOICE_ENV=dev .venv/bin/python scripts/openapi.py > openapi.json
"""

from __future__ import annotations

import json
import sys

from control_plane.app import create_app


def main() -> None:
    document = create_app().openapi_schema.to_schema()
    json.dump(document, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
