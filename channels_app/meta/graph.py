"""The Graph API client: the one place that speaks HTTP to Meta.

Only URLs come from settings (META_GRAPH_URL, META_GRAPH_VERSION), so the
sandbox and the tests can stand in for Meta without a branch in this code.
Access tokens are sent as parameters and never logged; error messages are
Meta's own `error.message`, which never contains the token. urllib3 logs request
lines with the query string at DEBUG, so config/log_redaction.py redacts tokens
from every log record as well.
"""

import logging
from dataclasses import dataclass

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

# Meta's error codes we act on (see ../shared/meta/README.md, "Sending").
TOKEN_INVALID_CODES = {190}
RATE_LIMIT_CODES = {4, 17, 32, 613}
OUTSIDE_WINDOW_CODES = {10}
OUTSIDE_WINDOW_SUBCODES = {2018278}
USER_UNAVAILABLE_CODES = {551}
PERMISSION_CODES = {200}


@dataclass
class GraphError(Exception):
    """An error answer from the Graph API, or a failure to reach it."""

    message: str
    code: int | None = None
    subcode: int | None = None
    http_status: int | None = None
    error_type: str = ""
    fbtrace_id: str = ""
    # WhatsApp's `error_data.details`: what exactly was wrong (e.g. the file types it takes).
    details: str = ""
    # True when the request never got an answer (connection error, timeout).
    transport: bool = False
    # False only when the request surely never reached Meta (no connection).
    reached_meta: bool = True

    def __str__(self):
        code = f" (code {self.code}" + (f"/{self.subcode}" if self.subcode else "") + ")" if self.code else ""
        return f"{self.message}{code}"

    @property
    def token_invalid(self):
        return self.code in TOKEN_INVALID_CODES

    @property
    def rate_limited(self):
        return self.code in RATE_LIMIT_CODES

    @property
    def outside_window(self):
        return self.code in OUTSIDE_WINDOW_CODES or self.subcode in OUTSIDE_WINDOW_SUBCODES

    @property
    def user_unavailable(self):
        return self.code in USER_UNAVAILABLE_CODES

    @property
    def worth_retrying(self):
        """A later try may succeed: no answer, a server error, a rate limit, or a token an admin may renew."""
        return self.transient or self.token_invalid or self.code is None

    @property
    def transient(self):
        """Worth retrying as is: no answer, or a server-side error."""
        return self.transport or (self.http_status is not None and self.http_status >= 500) or bool(self.rate_limited)


def graph_url(path: str) -> str:
    return f"{settings.META_GRAPH_URL}/{settings.META_GRAPH_VERSION}/{path.lstrip('/')}"


def login_dialog_url() -> str:
    return f"{settings.META_LOGIN_URL}/{settings.META_GRAPH_VERSION}/dialog/oauth"


class GraphClient:
    """Calls the Graph API with one access token (a user's or a Page's)."""

    def __init__(self, access_token: str | None = None, session: requests.Session | None = None):
        self.access_token = access_token
        self.session = session or requests.Session()

    def request(
        self, method: str, path: str, *, params=None, json=None, data=None, files=None, absolute_url=None
    ) -> dict:
        """Send one request and return the decoded JSON answer, or raise GraphError.

        `data` and `files` make a multipart/form-data body (WhatsApp's media upload)."""
        params = dict(params or {})
        if self.access_token and "access_token" not in params:
            params["access_token"] = self.access_token
        url = absolute_url or graph_url(path)
        try:
            response = self.session.request(
                method, url, params=params, json=json, data=data, files=files, timeout=settings.META_HTTP_TIMEOUT
            )
        except requests.RequestException as error:
            logger.warning("Graph API %s %s unreachable: %s", method, path, type(error).__name__)
            # A read timeout may come after Meta acted on the request; a failed
            # connection surely did not reach it.
            reached = not isinstance(error, requests.ConnectionError | requests.exceptions.InvalidURL)
            raise GraphError(
                f"Meta could not be reached ({type(error).__name__})", transport=True, reached_meta=reached
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or (isinstance(body, dict) and "error" in body):
            raise _error_from(response.status_code, body)
        if not isinstance(body, dict):
            raise GraphError("Meta answered with something that is not JSON", http_status=response.status_code)
        return body

    def get(self, path, **params):
        return self.request("GET", path, params=params)

    def post(self, path, *, params=None, json=None, data=None, files=None):
        return self.request("POST", path, params=params, json=json, data=data, files=files)

    def delete(self, path, **params):
        return self.request("DELETE", path, params=params)

    def get_all(self, path, **params):
        """Follow `paging.next` and return every item of `data`."""
        page = self.get(path, **params)
        items = list(page.get("data", []))
        while page.get("paging", {}).get("next"):
            # `next` already carries every parameter, the token included.
            page = self.request("GET", "", params={"access_token": None}, absolute_url=page["paging"]["next"])
            items.extend(page.get("data", []))
        return items


def _error_from(status: int, body) -> GraphError:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GraphError(f"Meta answered HTTP {status}", http_status=status)
    return GraphError(
        message=str(error.get("message") or f"Meta answered HTTP {status}"),
        code=error.get("code"),
        subcode=error.get("error_subcode"),
        http_status=status,
        error_type=str(error.get("type") or ""),
        fbtrace_id=str(error.get("fbtrace_id") or ""),
        details=str(error["error_data"].get("details") or "") if isinstance(error.get("error_data"), dict) else "",
    )
