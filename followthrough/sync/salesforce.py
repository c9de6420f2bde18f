"""Salesforce as a live source: accounts, contacts and opportunities changed since the last sync.

A ``[[source]]`` table of ``kind = "salesforce"`` signs in one of two ways::

    # OAuth: an access token (a connected app's, or `sf org display`'s) and the org's instance URL
    [[source]]
    name = "salesforce"
    kind = "salesforce"
    url = "https://acme.my.salesforce.com"
    token_env = "SALESFORCE_ACCESS_TOKEN"

    # Username, password and security token, signed in through the login URL
    [[source]]
    name = "salesforce"
    kind = "salesforce"
    username = "ops@acme.com"
    password_env = "SALESFORCE_PASSWORD"
    security_token_env = "SALESFORCE_SECURITY_TOKEN"   # optional: not needed from a trusted IP range
    login_url = "https://login.salesforce.com"          # default; https://test.salesforce.com: a sandbox

Optional keys: ``api_version`` (default :data:`connectors.salesforce.API_VERSION`), ``tier_field``
(the Account field holding the tier, e.g. ``"Type"`` or ``"Tier__c"``).

The pull reads Account, then Contact, then Opportunity (so that the accounts a contact or deal
names are there first), each by SOQL ordered by ``SystemModstamp`` and paged by ``nextRecordsUrl``;
each page is one :class:`~followthrough.sync.base.Pulled` batch of CRM data. The cursor holds, per
object, the ``SystemModstamp`` up to which every change has been handed over
(``{"Account.modstamp": "2026-11-30T10:00:00.000+0000", ...}``): after a page that is not the
query's last, that is the newest stamp strictly older than the page's last record (records
sharing that stamp may continue on the next page); after the last page, the last record's stamp.
The next sync asks for ``SystemModstamp >`` it, so nothing is skipped, and a sync killed between
pages re-reads at most the records of one timestamp (stored again unchanged).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from connectors.salesforce import (
    API_VERSION,
    LOGIN_URL,
    OBJECT_FIELDS,
    Credentials,
    SalesforceClient,
    SalesforceFailure,
    changed_since_query,
    connect,
    to_account,
    to_contact,
    to_deal,
)
from followthrough.sync.base import LiveSource, Pulled, SourceConfig, SourceError, source_error
from followthrough.types import CrmData


def credentials(config: SourceConfig) -> Credentials:
    """The sign-in a ``[[source]]`` table describes (secrets read from the variables it names).

    ``token_env`` set: OAuth (``url`` is the instance URL); otherwise ``username`` with
    ``password_env`` and optional ``security_token_env`` against ``login_url`` (or ``url``, or
    :data:`~connectors.salesforce.LOGIN_URL`). :class:`SourceError` for what is missing.
    """
    opts = config.options
    if opts.get("token_env"):
        if not config.url:
            raise SourceError(
                f'source {config.name!r}: set url = "https://YOUR-DOMAIN.my.salesforce.com" (the org\'s '
                "instance URL) next to token_env"
            )
        return Credentials(instance_url=config.url, access_token=config.secret("token_env"))
    username = opts.get("username")
    if not isinstance(username, str) or not username.strip():
        raise SourceError(
            f"source {config.name!r}: set token_env (an OAuth access token) or username and password_env"
        )
    login_url = opts.get("login_url") or config.url or LOGIN_URL
    return Credentials(
        username=username.strip(),
        password=config.secret("password_env"),
        security_token=config.secret("security_token_env") if opts.get("security_token_env") else "",
        login_url=str(login_url),
    )


def open_client(config: SourceConfig) -> SalesforceClient:
    """A signed-in client for a ``salesforce`` source; :class:`SourceError` (one line) when it cannot."""
    creds = credentials(config)
    try:
        return connect(creds, api_version=str(config.options.get("api_version") or API_VERSION))
    except SalesforceFailure as e:
        raise source_error(config, e) from e


def _safe_stamp(stamps: list[str], last_page: bool, before: str | None) -> str | None:
    """The cursor after a page whose records carry ``stamps`` (ascending): see the module docstring."""
    if not stamps:
        return before
    if last_page:
        return stamps[-1]
    older = [s for s in stamps if s < stamps[-1]]
    return older[-1] if older else before


class SalesforceSource(LiveSource):
    """Accounts, contacts and opportunities of one Salesforce org, incrementally by ``SystemModstamp``."""

    kind: ClassVar[str] = "salesforce"
    keys: ClassVar[frozenset[str]] = frozenset(
        {
            "token_env",
            "username",
            "password_env",
            "security_token_env",
            "login_url",
            "api_version",
            "tier_field",
            # read by crm push (followthrough.crm_push.salesforce): the Task Status picklist values
            "task_status_open",
            "task_status_completed",
        }
    )

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config)
        self._client: SalesforceClient | None = None

    @classmethod
    def config_problems(cls, config: SourceConfig) -> list[str]:
        """A sign-in must be described: ``token_env`` with ``url``, or ``username`` with ``password_env``."""
        opts = config.options
        if opts.get("token_env"):
            return [] if config.url else ['token_env needs url = "https://YOUR-DOMAIN.my.salesforce.com"']
        if not opts.get("username") or not opts.get("password_env"):
            return [
                "set token_env (an OAuth access token) with url, or username with password_env "
                "(and security_token_env)"
            ]
        login_url = opts.get("login_url")
        if login_url is not None and (not isinstance(login_url, str) or not login_url.startswith("https://")):
            return ['login_url must be an https:// address (e.g. "https://login.salesforce.com")']
        return []

    def pull(self, cursor: Mapping[str, str]) -> Iterator[Pulled]:
        """One batch per page of changed records (see the module docstring); :class:`SourceError` on a
        sign-in, permission, limit or network failure."""
        if self._client is None:
            self._client = open_client(self.config)
        state = dict(cursor)
        tier_field = self.config.options.get("tier_field")
        try:
            for sobject in OBJECT_FIELDS:
                key = f"{sobject}.modstamp"
                for page in self._client.pages(changed_since_query(sobject, state.get(key))):
                    stamps = [str(r.get("SystemModstamp") or "") for r in page.records]
                    stamp = _safe_stamp([s for s in stamps if s], page.last, state.get(key))
                    if not page.records and stamp == state.get(key):
                        continue
                    if stamp:
                        state[key] = stamp
                    yield Pulled(
                        documents=(),
                        crm=_crm(sobject, page.records, tier_field if isinstance(tier_field, str) else None),
                        cursor=dict(state),
                    )
        except SalesforceFailure as e:
            raise source_error(self.config, e) from e

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _crm(sobject: str, records: list[dict[str, object]], tier_field: str | None) -> CrmData:
    """One page of ``sobject`` records as CRM data (records that cannot be one are left out)."""
    if sobject == "Account":
        return CrmData(accounts=[a for r in records if (a := to_account(r, tier_field=tier_field))])
    if sobject == "Contact":
        return CrmData(contacts=[c for r in records if (c := to_contact(r))])
    return CrmData(deals=[d for r in records if (d := to_deal(r))])


__all__ = ["SalesforceSource", "credentials", "open_client"]
