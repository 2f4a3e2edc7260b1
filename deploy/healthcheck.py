"""Container health check: GET /healthz on the local server, with the API token when one is set.

Exit 0 when the server answers 200 (database reachable), 1 otherwise; the standard library only, so the
slim image needs no curl.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

URL = os.environ.get("AUTOSIGHT_HEALTH_URL", "http://127.0.0.1:8000/healthz")
TIMEOUT_SECONDS = 4


def main() -> int:
    request = urllib.request.Request(URL)
    token = os.environ.get("AUTOSIGHT_API_TOKEN", "").strip()
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


if __name__ == "__main__":
    sys.exit(main())
