"""Bearer-token access: uploads always need AUTOSIGHT_API_TOKEN; everything does when bound beyond loopback.

The token is compared in constant time (``hmac.compare_digest``) so that response timing does not
leak how much of a guess was right; it is registered as a secret, so the log masks it.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from autosight.web.problems import ApiProblem

bearer = HTTPBearer(auto_error=False, description="AUTOSIGHT_API_TOKEN, as `Authorization: Bearer <token>`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="autosight"'}


def _check(request: Request, credentials: HTTPAuthorizationCredentials | None, purpose: str) -> None:
    expected: str | None = request.app.state.web.api_token
    if expected is None:
        raise ApiProblem(401, "token-required", f"{purpose} needs AUTOSIGHT_API_TOKEN, and the server has none set "
                         "(set it and restart the server)", headers=CHALLENGE)
    if credentials is None:
        raise ApiProblem(401, "token-required", f"{purpose} needs the header Authorization: Bearer <token>",
                         headers=CHALLENGE)
    if not hmac.compare_digest(credentials.credentials.encode("utf-8"), expected.encode("utf-8")):
        raise ApiProblem(401, "token-wrong", "the bearer token is not the server's AUTOSIGHT_API_TOKEN",
                         headers={"WWW-Authenticate": 'Bearer realm="autosight", error="invalid_token"'})


async def require_token(request: Request, credentials: Credentials) -> None:
    """For changes (uploads): always."""
    _check(request, credentials, "uploading")


async def require_token_for_reads(request: Request, credentials: Credentials) -> None:
    """For reads, on a server that listens beyond loopback (app.py adds it only there)."""
    _check(request, credentials, "this server (it listens beyond this machine)")
