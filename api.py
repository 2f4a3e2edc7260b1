"""AutoSight's HTTP server: REST API, live dashboard, uploads and scheduled ingestion.

    python api.py [--host 127.0.0.1] [--port 8000]

Same settings (.env and the environment) and database selection as main.py: the embedded PostgreSQL
by default, started with the server and stopped with it. Bound to anything but loopback, every
endpoint needs ``Authorization: Bearer $AUTOSIGHT_API_TOKEN`` and the server refuses to start without
one. Exit codes as main.py's: 78 bad configuration, 75 database unreachable, 2 usage.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import errors
from logger_config import mask_secrets, setup_logging
from settings import load_settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="api.py", description="Serve AutoSight's REST API (/api/v1, OpenAPI at /openapi.json) and dashboard (/).",
        epilog="Settings as main.py (.env / environment), plus AUTOSIGHT_API_TOKEN, UPLOAD_MAX_MB, UPLOAD_DIR, "
               "CORS_ORIGINS, INBOX_DIR and INBOX_INTERVAL_MINUTES (README: HTTP API and dashboard).")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}; anything else needs AUTOSIGHT_API_TOKEN)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.captureWarnings(True)
    os.umask(0o077)  # uploads, logs and the database files are private to their owner
    args = build_parser().parse_args(argv)
    try:
        return serve(args.host, args.port)
    except errors.AutoSightError as error:
        print(f"autosight-api: error: {' '.join(mask_secrets(str(error), _known_secrets()).split())}", file=sys.stderr)
        return error.exit_code


def serve(host: str, port: int) -> int:
    # Imported here so that --help and configuration errors answer at once.
    import uvicorn

    from autosight.web.app import create_app
    from autosight.web.config import check_binding, is_loopback, load_web_config

    if not 0 < port < 65536:
        raise errors.UsageError(f"--port {port} is not a TCP port (1 to 65535)")
    settings = load_settings()
    web = load_web_config()
    check_binding(host, web)
    secrets = (*settings.secrets, *([web.api_token] if web.api_token else []))
    try:
        run_id = setup_logging(settings.log_file, settings.log_level, secrets=secrets).run_id
    except OSError as error:
        raise errors.OutputNotWritable(f"cannot write the log file {settings.log_file}: {error.strerror}") from error
    logging.getLogger("autosight.api").info("API server starting on %s:%d", host, port)
    app = create_app(settings, web, run_id, token_for_reads=not is_loopback(host))
    print(f"AutoSight API on http://{host}:{port}/ (dashboard), /api/v1/, /openapi.json", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, server_header=False)
    return errors.OK


def _known_secrets() -> tuple[str, ...]:
    """The secrets of the settings, if they can be read (an error message may quote one of them)."""
    try:
        from autosight.web.config import load_web_config

        token = load_web_config().api_token
        return (*load_settings().secrets, *([token] if token else []))
    except errors.AutoSightError:
        return ()


if __name__ == "__main__":
    sys.exit(main())
