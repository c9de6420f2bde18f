"""HubSpot CRM through ``hubspot-api-client`` with a private-app token: records in, tasks out.

Calls (all under the API host, ``https://api.hubapi.com`` unless overridden):

    POST /crm/v3/objects/{companies,contacts,deals}/search   records modified since a time, oldest first:
                                                               ``hs_lastmodifieddate`` (``lastmodifieddate``
                                                               for contacts) ``GTE`` epoch ms, ascending,
                                                               100 a page, ``paging.next.after``
    POST /crm/v4/associations/{from}/companies/batch/read     each contact's and deal's companies
    POST /crm/v3/objects/companies/batch/read                 names of companies a page names but holds not
    GET  /crm/v3/owners/                                      owner id → email (deal owners, task owners)
    GET  /crm/v3/pipelines/deals                              stage id → label ("appointmentscheduled" →
                                                               "Appointment Scheduled", as CSV exports say)
    POST /crm/v3/objects/tasks, PATCH /crm/v3/objects/tasks/{id}   a task on a deal
    POST /crm/v3/objects/tasks/search                         the tasks on a deal (``associations.deal``)
    PUT, DELETE /crm/v4/objects/tasks/{id}/associations/deals/{deal}   a task moved to another deal

Scopes: ``crm.objects.companies.read``, ``crm.objects.contacts.read``, ``crm.objects.deals.read``,
``crm.objects.owners.read``; ``crm.objects.contacts.write`` (tasks) for ``crm push``.

Records map to the tables a CRM CSV import fills (:mod:`connectors.crm`): a company is an
:class:`Account` (``name``; ``domain`` and ``website`` as domains; HubSpot's ideal-customer-profile
tier ``tier_1`` as "Tier 1"; ``crm_id`` its id); a contact a :class:`Contact` (``email``; first and
last name; ``jobtitle`` as role; its primary company, else its ``company`` text); a deal a
:class:`Deal` (``crm_id`` its id, ``dealname``, the primary company's name, the stage's label,
``amount``, ``closedate``'s day, the owner's email). A contact without an email and a deal
without a company are left out (logged): the store keys them by email and by account.

Rate limits: a ``429`` (and a ``502``/``503``/``504``) is retried after its ``Retry-After`` by
urllib3's :class:`Retry` (:data:`RETRIES` times). Errors become :class:`HubSpotProblem`: one line
saying what to fix (a ``401`` names the token, a ``403`` the scope HubSpot says is required).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import hubspot  # type: ignore[import-untyped]
import urllib3
from hubspot.crm.associations.v4 import (  # type: ignore[import-untyped]
    AssociationSpec as LinkSpec,
)
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsError  # type: ignore[import-untyped]
from hubspot.crm.companies import BatchReadInputSimplePublicObjectId, SimplePublicObjectId  # type: ignore[import-untyped]
from hubspot.crm.companies.exceptions import ApiException as CompaniesError  # type: ignore[import-untyped]
from hubspot.crm.contacts.exceptions import ApiException as ContactsError  # type: ignore[import-untyped]
from hubspot.crm.deals import Filter, FilterGroup, PublicObjectSearchRequest  # type: ignore[import-untyped]
from hubspot.crm.deals.exceptions import ApiException as DealsError  # type: ignore[import-untyped]
from hubspot.crm.objects.tasks import (  # type: ignore[import-untyped]
    AssociationSpec,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.objects.tasks import (
    Filter as TaskFilter,
)
from hubspot.crm.objects.tasks import (
    FilterGroup as TaskFilterGroup,
)
from hubspot.crm.objects.tasks import (
    PublicObjectSearchRequest as TaskSearch,
)
from hubspot.crm.objects.tasks.exceptions import ApiException as TasksError  # type: ignore[import-untyped]
from hubspot.crm.owners.exceptions import ApiException as OwnersError  # type: ignore[import-untyped]
from hubspot.crm.pipelines.exceptions import ApiException as PipelinesError  # type: ignore[import-untyped]
from urllib3.util.retry import Retry

from connectors.tls import certificate_failed, certificate_line
from followthrough.errors import FollowthroughError
from followthrough.types import Account, Contact, CrmData, Deal

log = logging.getLogger(__name__)

PAGE_SIZE = 100
"""Records per search page (HubSpot's maximum): one page is one batch."""
SEARCH_WINDOW = 10_000
"""HubSpot's search pages no further than this many results; the search then starts again from the
newest modified time read."""
RETRIES = 5
"""429/502/503/504 answers retried (after ``Retry-After``) before a call fails."""
TASK_TO_DEAL = 216
"""HubSpot's association type id, task → deal (HUBSPOT_DEFINED)."""
PRIMARY_COMPANY = {"deals": 5, "contacts": 1}
"""HubSpot's "primary company" association type ids, deal → company and contact → company."""

MODIFIED = {
    "companies": "hs_lastmodifieddate",
    "contacts": "lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
"""The last-modified property each object type is searched and ordered by."""
PROPERTIES = {
    "companies": ["name", "domain", "website", "hs_ideal_customer_profile"],
    "contacts": ["email", "firstname", "lastname", "jobtitle", "company"],
    "deals": ["dealname", "dealstage", "pipeline", "amount", "closedate", "hubspot_owner_id"],
}
OBJECT_TYPES = ("companies", "contacts", "deals")
"""Pulled in this order: accounts before the contacts and deals that name them."""

_API_ERRORS = (
    AssociationsError,
    CompaniesError,
    ContactsError,
    DealsError,
    OwnersError,
    PipelinesError,
    TasksError,
)
_T = TypeVar("_T")


class HubSpotProblem(FollowthroughError):
    """A HubSpot call failed; ``str()`` is one line saying what to fix. ``status`` is the HTTP status
    (``None`` when HubSpot could not be reached)."""

    def __init__(self, status: int | None, line: str) -> None:
        self.status = status
        super().__init__(line)

    @property
    def auth_failed(self) -> bool:
        """HubSpot refused the token (``401``)."""
        return self.status == 401


@dataclass(frozen=True)
class Record:
    """One CRM object as search returns it: ``id``, ``properties`` (strings or ``None``) and its
    last-modified time in epoch milliseconds."""

    id: str
    properties: Mapping[str, str | None]
    modified_ms: int


@dataclass
class HubSpotApi:
    """The HubSpot calls a sync and a push make. ``host`` overrides ``https://api.hubapi.com``."""

    token: str
    host: str | None = None
    client: Any = field(init=False)
    _owners: dict[str, str] | None = field(default=None, init=False)
    _stages: dict[str, str] | None = field(default=None, init=False)
    _company_names: dict[str, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        retry = Retry(
            total=RETRIES,
            status_forcelist=(429, 502, 503, 504),
            allowed_methods=None,  # search is a POST that reads: retry every method
            respect_retry_after_header=True,
            backoff_factor=0.5,
            raise_on_status=False,
        )
        kwargs: dict[str, Any] = {"host": self.host.rstrip("/")} if self.host else {}
        self.client = hubspot.Client.create(access_token=self.token, retry=retry, **kwargs)

    # -- reading -------------------------------------------------------------------------
    def search_modified(self, object_type: str, since_ms: int | None) -> Iterator[list[Record]]:
        """Pages of ``object_type`` records modified at or after ``since_ms`` (all when ``None``),
        oldest first; past :data:`SEARCH_WINDOW` the search starts again from the newest time read."""
        prop = MODIFIED[object_type]
        api = getattr(self.client.crm, object_type).search_api
        while True:
            after: str | None = None
            read = 0
            newest = since_ms
            while True:
                filters = (
                    [Filter(property_name=prop, operator="GTE", value=str(since_ms))] if since_ms else []
                )
                request = PublicObjectSearchRequest(
                    filter_groups=[FilterGroup(filters=filters)] if filters else [],
                    # objects, as HubSpot documents (the client's list[str] type is wrong, its issue #236)
                    sorts=[{"propertyName": prop, "direction": "ASCENDING"}],
                    properties=[*PROPERTIES[object_type], prop],
                    limit=PAGE_SIZE,
                    after=after,
                )
                page = self._call(f"search {object_type}", api.do_search, request)
                records = [_record(obj, prop) for obj in page.results or []]
                if records:
                    newest = max(newest or 0, records[-1].modified_ms)
                    yield records
                read += len(records)
                paging = page.paging
                after = paging.next.after if paging and paging.next else None
                if not after:
                    return
                if read + PAGE_SIZE > SEARCH_WINDOW:
                    break
            if newest == since_ms:  # more than the search window at one millisecond: cannot page on
                log.warning(
                    "HubSpot: over %d %s modified at %s ms; the rest are not read",
                    SEARCH_WINDOW,
                    object_type,
                    newest,
                )
                return
            since_ms = newest

    def companies_of(self, object_type: str, ids: Sequence[str]) -> dict[str, str]:
        """Object id → its primary company id (else its first company) for ``contacts``/``deals`` ids."""
        if not ids:
            return {}
        body = BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=i) for i in ids]
        )
        batch = self.client.crm.associations.v4.batch_api
        answer = self._call(
            f"read {object_type} companies",
            batch.get_page,
            from_object_type=object_type,
            to_object_type="companies",
            batch_input_public_fetch_associations_batch_request=body,
        )
        found: dict[str, str] = {}
        for result in answer.results or []:
            tos = result.to or []
            primary = [
                t
                for t in tos
                if any(a.type_id == PRIMARY_COMPANY[object_type] for a in t.association_types or [])
            ]
            if chosen := (primary or tos):
                found[str(result._from.id)] = str(chosen[0].to_object_id)
        return found

    def company_names(self, ids: Iterable[str]) -> dict[str, str]:
        """Company id → name, from what this client read before and one batch read for the rest."""
        missing = sorted({i for i in ids if i not in self._company_names})
        for start in range(0, len(missing), PAGE_SIZE):
            body = BatchReadInputSimplePublicObjectId(
                properties=["name"],
                inputs=[SimplePublicObjectId(id=i) for i in missing[start : start + PAGE_SIZE]],
            )
            batch = self.client.crm.companies.batch_api
            answer = self._call("read companies", batch.read, batch_read_input_simple_public_object_id=body)
            for obj in answer.results or []:
                self.remember_company(str(obj.id), (obj.properties or {}).get("name"))
        return dict(self._company_names)

    def remember_company(self, company_id: str, name: str | None) -> None:
        if name and name.strip():
            self._company_names[company_id] = name.strip()

    def owners(self) -> dict[str, str]:
        """Owner id → email (read once per client; archived owners left out)."""
        if self._owners is None:
            owners: dict[str, str] = {}
            api = self.client.crm.owners.owners_api
            after: str | None = None
            while True:
                page = self._call("read owners", api.get_page, limit=PAGE_SIZE, after=after, archived=False)
                for owner in page.results or []:
                    if owner.email:
                        owners[str(owner.id)] = owner.email.strip().lower()
                after = page.paging.next.after if page.paging and page.paging.next else None
                if not after:
                    break
            self._owners = owners
        return self._owners

    def stages(self) -> dict[str, str]:
        """Deal stage id → label, over every deal pipeline (read once; ``{}`` without the scope)."""
        if self._stages is None:
            try:
                answer = self._call(
                    "read deal pipelines",
                    self.client.crm.pipelines.pipelines_api.get_all,
                    object_type="deals",
                )
            except HubSpotProblem as e:
                if e.status != 403:
                    raise
                log.warning("HubSpot: %s; deal stages are kept as their ids", e)
                answer = None
            self._stages = {
                str(s.id): s.label for p in (answer.results if answer else None) or [] for s in p.stages or []
            }
        return self._stages

    # -- writing -------------------------------------------------------------------------
    def upsert_task(self, properties: Mapping[str, str], deal_id: str, existing_id: str | None) -> str:
        """Create a task on deal ``deal_id`` (``existing_id`` None) or update task ``existing_id``; its id."""
        api = self.client.crm.objects.tasks.basic_api
        if existing_id:
            body = SimplePublicObjectInput(properties=dict(properties))
            answer = self._call(
                f"update task {existing_id}", api.update, existing_id, simple_public_object_input=body
            )
        else:
            link = PublicAssociationsForObject(
                to=PublicObjectId(id=deal_id),
                types=[
                    AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=TASK_TO_DEAL)
                ],
            )
            create = SimplePublicObjectInputForCreate(properties=dict(properties), associations=[link])
            answer = self._call(
                f"create a task on deal {deal_id}",
                api.create,
                simple_public_object_input_for_create=create,
            )
        return str(answer.id)

    def find_task(self, deal_id: str, wanted: Callable[[str | None], bool]) -> str | None:
        """The id of the first task on deal ``deal_id`` whose ``hs_task_body`` is ``wanted``, else ``None``.

        Searches tasks by their deal association (``associations.deal``), oldest first, 100 a page.
        """
        api = self.client.crm.objects.tasks.search_api
        after: str | None = None
        while True:
            request = TaskSearch(
                filter_groups=[
                    TaskFilterGroup(
                        filters=[TaskFilter(property_name="associations.deal", operator="EQ", value=deal_id)]
                    )
                ],
                sorts=[{"propertyName": "hs_createdate", "direction": "ASCENDING"}],
                properties=["hs_task_body"],
                limit=PAGE_SIZE,
                after=after,
            )
            page = self._call(
                f"search the tasks on deal {deal_id}", api.do_search, public_object_search_request=request
            )
            for task in page.results or []:
                if wanted((task.properties or {}).get("hs_task_body")):
                    return str(task.id)
            after = page.paging.next.after if page.paging and page.paging.next else None
            if not after:
                return None

    def move_task(self, task_id: str, from_deal: str, to_deal: str) -> None:
        """Associate task ``task_id`` with deal ``to_deal`` and remove its association with ``from_deal``
        (v4 associations; an old deal that is gone is no error)."""
        api = self.client.crm.associations.v4.basic_api
        spec = [LinkSpec(association_category="HUBSPOT_DEFINED", association_type_id=TASK_TO_DEAL)]
        self._call(
            f"associate task {task_id} with deal {to_deal}",
            api.create,
            "tasks",
            task_id,
            "deals",
            to_deal,
            association_spec=spec,
        )
        try:
            self._call(
                f"remove task {task_id} from deal {from_deal}",
                api.archive,
                "tasks",
                task_id,
                "deals",
                from_deal,
            )
        except HubSpotProblem as e:
            if e.status != 404:
                raise

    # -- errors --------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        """``fn(*args, **kwargs)``, its errors as :class:`HubSpotProblem` (``what`` names the call)."""
        try:
            return fn(*args, **kwargs)
        except _API_ERRORS as e:
            raise problem(what, e.status, e.body) from e
        except (urllib3.exceptions.HTTPError, OSError) as e:
            where = self.host or "https://api.hubapi.com"
            if certificate_failed(e):
                raise HubSpotProblem(None, certificate_line(urlsplit(where).hostname or where)) from e
            raise HubSpotProblem(None, f"cannot reach HubSpot at {where} ({type(e).__name__})") from e


def problem(what: str, status: int | None, body: object) -> HubSpotProblem:
    """HubSpot's error answer as one line saying what to fix.

    ``body`` is the JSON error (``{"status": "error", "category": "MISSING_SCOPES", "message": ...,
    "errors": [{"context": {"requiredGranularScopes": ["crm.objects.deals.read"]}}]}``), as text or bytes.
    """
    data: dict[str, Any] = {}
    try:
        raw = json.loads(body) if isinstance(body, str | bytes) and body else {}
        data = raw if isinstance(raw, dict) else {}
    except ValueError:
        pass
    category = str(data.get("category") or "")
    if status == 401:
        return HubSpotProblem(
            status,
            f"{what}: HubSpot refused the private-app token ({category or 'HTTP 401'}): it is wrong, expired "
            "or was revoked; copy the app's current token into the variable",
        )
    if status == 403:
        scopes = _required_scopes(data)
        need = f"scope {', '.join(scopes)}" if scopes else "a scope this call needs"
        return HubSpotProblem(
            status,
            f"{what}: the private app lacks {need} ({category or 'HTTP 403'}): add it under the app's Scopes",
        )
    if status == 429:
        return HubSpotProblem(status, f"{what}: still rate limited after {RETRIES} retries; sync again later")
    if status == 404:
        return HubSpotProblem(status, f"{what}: not found in HubSpot (deleted or merged?)")
    message = str(data.get("message") or "").splitlines()[0:1]
    return HubSpotProblem(status, f"{what} failed: HTTP {status} {category} {''.join(message)}".rstrip())


def _required_scopes(data: Mapping[str, Any]) -> list[str]:
    scopes: list[str] = []
    for err in data.get("errors") or []:
        context = err.get("context") if isinstance(err, dict) else None
        if isinstance(context, dict):
            for key in ("requiredGranularScopes", "requiredScopes", "requiredAnyScopes"):
                scopes.extend(s for s in context.get(key) or [] if isinstance(s, str) and s not in scopes)
    return scopes


# -- records → CRM tables (pure) ------------------------------------------------------------
def _record(obj: Any, prop: str) -> Record:
    properties: dict[str, str | None] = dict(obj.properties or {})
    return Record(
        id=str(obj.id), properties=properties, modified_ms=_epoch_ms(properties.get(prop), obj.updated_at)
    )


def _epoch_ms(value: str | None, fallback: datetime | None) -> int:
    when = _datetime(value) or fallback
    if when is None:
        return 0
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1000)


def _datetime(value: str | None) -> datetime | None:
    """HubSpot's datetime property: ISO 8601 (``2026-03-31T17:00:00.000Z``) or epoch milliseconds."""
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _text(props: Mapping[str, str | None], key: str) -> str | None:
    value = props.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _domain(value: str | None) -> str | None:
    if not value:
        return None
    host = value.strip().lower().split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return host.removeprefix("www.") or None


def account(rec: Record) -> Account | None:
    """A company as an :class:`Account` (``None`` without a name)."""
    p = rec.properties
    name = _text(p, "name")
    if name is None:
        return None
    domains = list(dict.fromkeys(d for d in (_domain(p.get("domain")), _domain(p.get("website"))) if d))
    tier = _text(p, "hs_ideal_customer_profile")
    if tier and tier.lower().startswith("tier_"):
        tier = "Tier " + tier[5:]
    return Account(name=name, domains=domains, tier=tier, crm_id=rec.id)


def contact(rec: Record, company: str | None) -> Contact | None:
    """A contact as a :class:`Contact` at ``company`` (else its ``company`` text); ``None`` without email."""
    p = rec.properties
    email = _text(p, "email")
    if email is None or "@" not in email:
        log.warning("HubSpot contact %s has no email address; left out", rec.id)
        return None
    name = " ".join(n for n in (_text(p, "firstname"), _text(p, "lastname")) if n) or None
    return Contact(
        email=email.lower(), name=name, account_name=company or _text(p, "company"), role=_text(p, "jobtitle")
    )


def deal(
    rec: Record, company: str | None, stages: Mapping[str, str], owners: Mapping[str, str]
) -> Deal | None:
    """A deal as a :class:`Deal` of ``company``; ``None`` (logged) without a company."""
    p = rec.properties
    if company is None:
        log.warning("HubSpot deal %s has no associated company; left out", rec.id)
        return None
    stage = _text(p, "dealstage")
    amount = _text(p, "amount")
    try:
        value = float(amount) if amount else None
    except ValueError:
        value = None
    closes = _datetime(_text(p, "closedate"))
    owner = _text(p, "hubspot_owner_id")
    return Deal(
        crm_id=rec.id,
        name=_text(p, "dealname") or f"Deal {rec.id}",
        account_name=company,
        stage=stages.get(stage, stage) if stage else None,
        amount=value,
        close_date=closes.date() if closes else None,
        owner_email=owners.get(owner) if owner else None,
    )


def crm_page(api: HubSpotApi, object_type: str, records: Sequence[Record]) -> CrmData:
    """One search page of ``object_type`` as :class:`CrmData` (associations and names looked up)."""
    if object_type == "companies":
        accounts = [a for a in (account(r) for r in records) if a]
        for a in accounts:
            api.remember_company(str(a.crm_id), a.name)
        return CrmData(accounts=accounts)
    links = api.companies_of(object_type, [r.id for r in records])
    names = api.company_names(links.values())
    if object_type == "contacts":
        contacts = [contact(r, names.get(links.get(r.id, ""))) for r in records]
        return CrmData(contacts=[c for c in contacts if c])
    stages, owners = api.stages(), api.owners()
    deals = [deal(r, names.get(links.get(r.id, "")), stages, owners) for r in records]
    return CrmData(deals=[d for d in deals if d])


def task_properties(
    subject: str,
    body: str,
    due: date | None,
    owner_id: str | None,
    *,
    completed: bool,
    undated_on: date | None = None,
) -> dict[str, str]:
    """A task's HubSpot properties. ``hs_timestamp`` (the due time, which HubSpot requires) is noon
    UTC of ``due`` (the same calendar day in every time zone from UTC-11 to UTC+11); without a due
    date, noon UTC of ``undated_on`` (``crm push --as-of``), else now."""
    day = due or undated_on
    when = datetime(day.year, day.month, day.day, 12, tzinfo=UTC) if day else datetime.now(UTC)
    props = {
        "hs_task_subject": subject[:512],
        "hs_task_body": body,
        "hs_timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "hs_task_status": "COMPLETED" if completed else "NOT_STARTED",
        "hs_task_type": "TODO",
    }
    if owner_id:
        props["hubspot_owner_id"] = owner_id
    return props


__all__ = [
    "OBJECT_TYPES",
    "PAGE_SIZE",
    "HubSpotApi",
    "HubSpotProblem",
    "Record",
    "account",
    "contact",
    "crm_page",
    "deal",
    "problem",
    "task_properties",
]
