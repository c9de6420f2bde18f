"""Salesforce through its REST API (simple-salesforce): accounts, contacts and opportunities as
:class:`~followthrough.types.CrmData`, and Tasks written on opportunities.

:func:`connect` signs in either with an OAuth access token and the org's instance URL
(``https://MyDomain.my.salesforce.com``), or with a username, password and security token by the
SOAP ``login()`` call against a login URL (``https://login.salesforce.com``; ``https://test.salesforce.com``
for a sandbox; a My Domain URL). It returns a :class:`SalesforceClient`, which:

- pages a SOQL query (``GET /services/data/vXX.X/query?q=...``, then each ``nextRecordsUrl``),
  :meth:`SalesforceClient.pages`;
- finds an active User by email (:meth:`SalesforceClient.user_id`);
- creates a Task (``POST .../sobjects/Task`` → ``{"id", "success", "errors"}``) and updates one
  (``PATCH .../sobjects/Task/{id}`` → 204).

Every failure is a :class:`SalesforceFailure` whose message is one line a user can act on
(``INVALID_SESSION_ID`` → the token was revoked or expired, ``REQUEST_LIMIT_EXCEEDED`` → the org's
daily API limit, ``INSUFFICIENT_ACCESS...`` → the user's permissions); the Salesforce ``errorCode`` is
kept in :attr:`SalesforceFailure.code`. A password session that expires is signed in again once.

The conversions (:func:`to_account`, :func:`to_contact`, :func:`to_deal`) are pure: one query
record (a dict as the REST API returns it) to one CRM record. Field names are Salesforce's
standard ones (``Opportunity.StageName``, ``Account.Website``, ``Contact.Title``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, NamedTuple, TypeVar, cast
from urllib.parse import urlsplit

import requests
from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceRefusedRequest,
)
from simple_salesforce.login import SalesforceLogin

from connectors.crm import parse_domains
from connectors.tls import REQUESTS_CA_BUNDLE, certificate_failed, certificate_line
from followthrough.errors import FollowthroughError
from followthrough.types import Account, Contact, Deal

log = logging.getLogger("followthrough.connectors.salesforce")

API_VERSION = "59.0"
"""The REST API version used unless a source sets ``api_version`` (Winter '24; every org has it)."""
LOGIN_URL = "https://login.salesforce.com"
"""Where a username/password sign-in goes unless a source sets ``login_url``."""
TIMEOUT_S = 60.0
"""Seconds one HTTP request may take (connect and read) before it fails."""

OBJECT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "Account": ("Id", "Name", "Website", "Type", "SystemModstamp"),
    "Contact": ("Id", "Email", "Name", "Title", "Account.Name", "SystemModstamp"),
    "Opportunity": (
        "Id",
        "Name",
        "StageName",
        "Amount",
        "CloseDate",
        "Account.Name",
        "Owner.Email",
        "SystemModstamp",
    ),
}
"""The fields read from each object, in the order the pull reads the objects (accounts before the
contacts and opportunities that name them)."""

T = TypeVar("T")


class SalesforceFailure(FollowthroughError):
    """Salesforce refused or failed a call; ``str()`` is one line saying what to fix.

    ``code`` is the Salesforce ``errorCode`` (``INVALID_SESSION_ID``, ``REQUEST_LIMIT_EXCEEDED``,
    ``INVALID_FIELD``...) or the HTTP status as a string; ``fatal`` is true when no other call would
    work either: the credentials, the permissions, the org's API limit, or Salesforce unreachable
    (false: this one record was refused, e.g. a validation rule).
    """

    def __init__(self, message: str, *, code: str = "", fatal: bool = True, auth: bool = False) -> None:
        self.auth_failed = auth
        """Salesforce refused the sign-in or the session (the secret is wrong, expired or revoked)."""
        super().__init__(message)
        self.code = code
        self.fatal = fatal


class _TimeoutSession(requests.Session):
    """A requests session whose calls time out after :data:`TIMEOUT_S` unless told otherwise
    (simple-salesforce passes no timeout of its own)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


class QueryPage(NamedTuple):
    """One page of a SOQL query's records; ``last``: no ``nextRecordsUrl`` follows it."""

    records: list[dict[str, Any]]
    last: bool


@dataclass(frozen=True)
class Credentials:
    """How to sign in: ``access_token`` with ``instance_url``, or ``username``, ``password`` and
    ``security_token`` (empty when the org trusts the caller's IP range) against ``login_url``."""

    instance_url: str | None = None
    access_token: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str = ""
    login_url: str = LOGIN_URL


def _first_error(content: Any) -> tuple[str, str]:
    """``(errorCode, message)`` of a REST error body ``[{"message", "errorCode"}]`` (or a dict, or text)."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        content = content[0]
    if isinstance(content, dict):
        return str(content.get("errorCode") or ""), str(content.get("message") or "").strip()
    return "", str(content or "").strip()


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def explain(e: Exception) -> SalesforceFailure:
    """One :class:`SalesforceFailure` for an error simple-salesforce or requests raised."""
    if isinstance(e, SalesforceAuthenticationFailed):
        code = str(e.code or "")
        said = _one_line(str(e.auth_message)).rstrip(". ")  # "...locked out." → no ".;" before ours
        return SalesforceFailure(
            f"Salesforce sign-in failed ({code or 'no code'}): {said}; check the "
            "username, password and security token (or the login URL)",
            code=code,
            fatal=True,
            auth=True,
        )
    if isinstance(e, SalesforceError):
        code, message = _first_error(e.content)
        code = code or str(e.status)
        detail = f"{code}: {_one_line(message)}" if message else code
        if isinstance(e, SalesforceExpiredSession) or code == "INVALID_SESSION_ID":
            return SalesforceFailure(
                f"Salesforce rejected the session ({detail}); the access token was revoked or has expired: "
                "issue a new one (or sign in with username/password)",
                code=code,
                fatal=True,
                auth=True,
            )
        if code == "REQUEST_LIMIT_EXCEEDED":
            return SalesforceFailure(
                f"Salesforce API request limit exceeded for the org ({detail}); wait for the 24-hour limit "
                "to free up or raise it",
                code=code,
                fatal=True,
            )
        if isinstance(e, SalesforceRefusedRequest) or code.startswith("INSUFFICIENT_ACCESS"):
            return SalesforceFailure(
                f"Salesforce refused the request ({detail}); give the integration user access to "
                "Accounts, Contacts, Opportunities, Users and Tasks (API Enabled)",
                code=code,
                fatal=True,
            )
        return SalesforceFailure(
            f"Salesforce answered HTTP {e.status} ({detail})", code=code, fatal=e.status >= 500
        )
    if isinstance(e, requests.RequestException) and certificate_failed(e):
        url = e.request.url if e.request is not None and e.request.url else ""
        host = urlsplit(str(url)).hostname or "Salesforce"
        return SalesforceFailure(certificate_line(host, REQUESTS_CA_BUNDLE), code="CERTIFICATE_VERIFY_FAILED")
    if isinstance(e, requests.RequestException):
        return SalesforceFailure(f"cannot reach Salesforce: {_one_line(str(e))}", code=type(e).__name__)
    return SalesforceFailure(f"Salesforce call failed: {type(e).__name__}: {_one_line(str(e))}")


class SalesforceClient:
    """A signed-in Salesforce org (see the module docstring); build it with :func:`connect`."""

    def __init__(
        self, credentials: Credentials, *, api_version: str = API_VERSION, timeout: float = TIMEOUT_S
    ):
        self.credentials = credentials
        self.api_version = api_version
        self.session = _TimeoutSession(timeout)
        self.sf = self._sign_in()

    def _sign_in(self) -> Salesforce:
        c = self.credentials
        try:
            if c.access_token:
                if not c.instance_url:
                    raise SalesforceFailure("an access token needs the org's instance URL (url = ...)")
                return Salesforce(
                    instance_url=c.instance_url,
                    session_id=c.access_token,
                    version=self.api_version,
                    session=self.session,
                )
            if not (c.username and c.password):
                raise SalesforceFailure("set an access token, or a username and password")
            session_id, instance = SalesforceLogin(
                username=c.username,
                password=c.password,
                security_token=c.security_token,
                sf_version=self.api_version,
                session=self.session,
                scratch_url=c.login_url.rstrip("/"),
            )
            return Salesforce(
                instance=instance, session_id=session_id, version=self.api_version, session=self.session
            )
        except SalesforceFailure:
            raise
        except (SalesforceError, requests.RequestException) as e:
            raise explain(e) from e

    def _call(self, fn: Callable[[], T]) -> T:
        """``fn()``, with a password session that expired signed in again once; errors explained."""
        try:
            try:
                return fn()
            except SalesforceExpiredSession:
                if self.credentials.access_token:
                    raise
                self.sf = self._sign_in()
                return fn()
        except SalesforceFailure:
            raise
        except (SalesforceError, requests.RequestException) as e:
            raise explain(e) from e

    def pages(self, soql: str) -> Iterator[QueryPage]:
        """The records of a SOQL query, one page (up to 2,000 records) at a time, following
        ``nextRecordsUrl`` until ``done``."""
        result: dict[str, Any] = self._call(lambda: self.sf.query(soql))
        while True:
            next_url = str(result.get("nextRecordsUrl") or "")
            last = bool(result.get("done", True)) or not next_url
            yield QueryPage([dict(r) for r in result.get("records", [])], last)
            if last:
                return
            result = self._call(partial(self.sf.query_more, next_url, identifier_is_url=True))

    def user_id(self, email: str) -> str | None:
        """The Id of the active User with this email (case-insensitive), or ``None``."""
        soql = f"SELECT Id FROM User WHERE Email = '{soql_quote(email.strip())}' AND IsActive = true LIMIT 1"
        for page in self.pages(soql):
            for record in page.records:
                return str(record["Id"])
        return None

    def _tasks(self) -> SFType:
        return cast(SFType, self.sf.Task)

    def create_task(self, fields: Mapping[str, Any]) -> str:
        """Create a Task; returns its Id. :class:`SalesforceFailure` when Salesforce says no."""
        answer: Any = self._call(lambda: self._tasks().create(dict(fields)))
        if not isinstance(answer, dict) or not answer.get("success") or not answer.get("id"):
            errors = answer.get("errors") if isinstance(answer, dict) else answer
            code, message = _first_error(errors)
            raise SalesforceFailure(
                f"Salesforce did not create the Task ({code}: {message})", code=code, fatal=False
            )
        return str(answer["id"])

    def update_task(self, task_id: str, fields: Mapping[str, Any]) -> None:
        """Update Task ``task_id`` with ``fields`` (``PATCH``, 204)."""
        self._call(lambda: self._tasks().update(task_id, dict(fields)))

    def close(self) -> None:
        self.session.close()


def connect(
    credentials: Credentials, *, api_version: str = API_VERSION, timeout: float = TIMEOUT_S
) -> SalesforceClient:
    """Sign in (see :class:`Credentials`); :class:`SalesforceFailure` when Salesforce refuses."""
    return SalesforceClient(credentials, api_version=api_version, timeout=timeout)


def soql_quote(value: str) -> str:
    """``value`` escaped for a SOQL string literal (backslash and single quote)."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def changed_since_query(sobject: str, since: str | None) -> str:
    """The SOQL that reads ``sobject``'s :data:`OBJECT_FIELDS` modified after ``since`` (a
    ``SystemModstamp`` as Salesforce wrote it, e.g. ``2026-11-30T10:00:00.000+0000``; ``None``: all),
    oldest change first (ties by Id)."""
    where = f" WHERE SystemModstamp > {_soql_datetime(since)}" if since else ""
    return f"SELECT {', '.join(OBJECT_FIELDS[sobject])} FROM {sobject}{where} ORDER BY SystemModstamp, Id"


def _soql_datetime(stamp: str) -> str:
    """A SOQL dateTime literal (unquoted, ``Z`` for UTC) from a stamp the API returned (``...+0000``)."""
    value = stamp.strip()
    if value.endswith("+0000"):
        value = value[: -len("+0000")] + "Z"
    if not value or any(ch not in "0123456789-:T.Z+" for ch in value):
        raise SalesforceFailure(f"not a Salesforce timestamp in the saved cursor: {stamp!r}")
    return value


def _nested(record: Mapping[str, Any], path: str) -> Any:
    """``record["Account"]["Name"]`` for ``"Account.Name"`` (``None`` where a relation is empty)."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _text(record: Mapping[str, Any], path: str) -> str | None:
    value = _nested(record, path)
    text = str(value).strip() if value is not None else ""
    return text or None


def to_account(record: Mapping[str, Any], *, tier_field: str | None = None) -> Account | None:
    """An Account record → :class:`Account` (``Website`` → its domain; ``tier_field``: the field
    holding the tier, e.g. ``"Type"`` or a custom ``"Tier__c"``); ``None`` without a name."""
    name = _text(record, "Name")
    if name is None:
        return None
    website = _text(record, "Website")
    return Account(
        name=name,
        domains=parse_domains(website) if website else [],
        tier=_text(record, tier_field) if tier_field else None,
        crm_id=_text(record, "Id"),
    )


def to_contact(record: Mapping[str, Any]) -> Contact | None:
    """A Contact record → :class:`Contact` (``Title`` is the role); ``None`` without an email."""
    email = _text(record, "Email")
    if email is None or "@" not in email:
        return None
    return Contact(
        email=email.lower(),
        name=_text(record, "Name"),
        account_name=_text(record, "Account.Name"),
        role=_text(record, "Title"),
    )


def to_deal(record: Mapping[str, Any]) -> Deal | None:
    """An Opportunity record → :class:`Deal` (its Id is the deal's ``crm_id``); ``None`` when it has
    no account (the store keeps every deal under an account)."""
    crm_id, name, account = _text(record, "Id"), _text(record, "Name"), _text(record, "Account.Name")
    if crm_id is None or name is None or account is None:
        return None
    amount = _nested(record, "Amount")
    close = _text(record, "CloseDate")
    return Deal(
        crm_id=crm_id,
        name=name,
        account_name=account,
        stage=_text(record, "StageName"),
        amount=float(amount) if isinstance(amount, int | float) else None,
        close_date=date.fromisoformat(close[:10]) if close else None,
        owner_email=(_text(record, "Owner.Email") or "").lower() or None,
    )


__all__ = [
    "API_VERSION",
    "LOGIN_URL",
    "OBJECT_FIELDS",
    "Credentials",
    "QueryPage",
    "SalesforceClient",
    "SalesforceFailure",
    "changed_since_query",
    "connect",
    "explain",
    "soql_quote",
    "to_account",
    "to_contact",
    "to_deal",
]
