"""A fake Salesforce org: a real HTTPS server on 127.0.0.1 in the shapes of Salesforce's REST and SOAP APIs.

simple-salesforce always speaks ``https://``, so the server has a self-signed certificate for
127.0.0.1 (made with ``cryptography``); a test trusts it through ``REQUESTS_CA_BUNDLE`` (``org.ca_file``).
What it implements, as Salesforce documents it:

    POST  /services/Soap/u/{v}                 SOAP login(username, password+security token) →
                                               <loginResponse><result><serverUrl>, <sessionId>; a bad
                                               one: HTTP 500 with a LoginFault (INVALID_LOGIN)
    GET   /services/data/v{v}/query?q=SOQL     {"totalSize", "done", "records": [...], "nextRecordsUrl"}
    GET   /services/data/v{v}/query/{locator}  the next page of a query
    POST  /services/data/v{v}/sobjects/Task/   201 {"id", "success": true, "errors": []}
    PATCH /services/data/v{v}/sobjects/Task/{id}   204 (404 NOT_FOUND for an unknown id)

Errors are REST error bodies ``[{"message", "errorCode"}]``: a bearer token that is not valid (or
revoked: ``org.revoke(token)``) gets 401 ``INVALID_SESSION_ID``; ``org.limit_exceeded = True``
answers 403 ``REQUEST_LIMIT_EXCEEDED``; a Task whose ``WhatId`` is no Opportunity gets 400
``FIELD_INTEGRITY_EXCEPTION``. Records carry ``SystemModstamp`` (``2026-11-30T10:00:00.000+0000``,
one second later per change: ``org.touch(id, **fields)`` changes a record).

The SOQL understood is what the client sends: ``SELECT fields FROM Object [WHERE cond [AND cond]]
[ORDER BY SystemModstamp, Id] [LIMIT n]`` with conditions ``Field > dateTime``, ``Field = 'text'``
and ``Field = true|false``; relationship fields (``Account.Name``, ``Owner.Email``) are resolved
through ``AccountId`` / ``OwnerId``. ``org.page_size`` sets the records per page (Salesforce: 2,000).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from tests.tls_support import make_certificate

__all__ = ["FakeSalesforce"]

API = "59.0"
_EPOCH = dt.datetime(2026, 11, 30, 10, 0, 0, tzinfo=dt.UTC)
_PREFIX = {"Account": "001", "Contact": "003", "Opportunity": "006", "User": "005", "Task": "00T"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _parse_literal(raw: str) -> Any:
    raw = raw.strip()
    if raw.startswith("'") and raw.endswith("'"):
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d{2}:?\d{2})", raw):
        return _stamp(dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(dt.UTC))
    raise ValueError(f"unsupported SOQL literal {raw!r}")


class FakeSalesforce:
    """One org on an ephemeral loopback port; ``url`` is its instance URL, ``login_url`` the same."""

    def __init__(self, folder: Path, *, page_size: int = 2000) -> None:
        self.ca_file, key_file = make_certificate(folder, "fake-salesforce")
        self.page_size = page_size
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in _PREFIX}
        self.tokens: set[str] = {"00D-good-token"}
        self.logins: dict[str, str] = {}
        """username → password + security token, for the SOAP login."""
        self.limit_exceeded = False
        self.requests: list[tuple[str, str]] = []
        """``(method, path)`` of every request, in order."""
        self._clock = itertools.count(1)
        self._ids = itertools.count(1)
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"https://{host!s}:{port}"

    def __enter__(self) -> FakeSalesforce:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-salesforce", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the org's data ------------------------------------------------------------------------------

    def add(self, sobject: str, **fields: Any) -> str:
        """Add a record (``Id`` given or made); returns its Id. ``SystemModstamp`` is the next tick."""
        with self._lock:
            record_id = fields.pop("Id", None) or f"{_PREFIX[sobject]}{next(self._ids):012d}AAA"
            self.records[sobject][record_id] = {"Id": record_id, **fields, "SystemModstamp": self._tick()}
            return record_id

    def touch(self, record_id: str, **fields: Any) -> None:
        """Change a record (any object): new ``SystemModstamp``."""
        with self._lock:
            for table in self.records.values():
                if record_id in table:
                    table[record_id].update(fields, SystemModstamp=self._tick())
                    return
        raise KeyError(record_id)

    def revoke(self, token: str) -> None:
        self.tokens.discard(token)

    @property
    def tasks(self) -> list[dict[str, Any]]:
        return list(self.records["Task"].values())

    def _tick(self) -> str:
        return _stamp(_EPOCH + dt.timedelta(seconds=next(self._clock)))

    # -- SOQL --------------------------------------------------------------------------------------

    def _value(self, record: dict[str, Any], path: str) -> Any:
        if "." not in path:
            return record.get(path)
        relation, field = path.split(".", 1)
        target = self._related(record, relation)
        return None if target is None else self._value(target, field)

    def _related(self, record: dict[str, Any], relation: str) -> dict[str, Any] | None:
        ref = record.get(f"{relation}Id")
        if ref is None:
            return None
        for table in self.records.values():
            if ref in table:
                return table[ref]
        return None

    def _shape(self, sobject: str, record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {"type": sobject, "url": f"/services/data/v{API}/sobjects/{sobject}/{record['Id']}"}
        }
        for f in fields:
            if "." in f:
                relation, sub = f.split(".", 1)
                target = self._related(record, relation)
                if target is None:
                    out[relation] = None
                    continue
                nested = out.get(relation) or {
                    "attributes": {
                        "type": relation,
                        "url": f"/services/data/v{API}/sobjects/x/{target['Id']}",
                    }
                }
                nested[sub] = target.get(sub)
                out[relation] = nested
            else:
                out[f] = record.get(f)
        return out

    def query(self, soql: str) -> list[dict[str, Any]]:
        m = re.fullmatch(
            r"SELECT (?P<fields>.+?) FROM (?P<obj>\w+)(?: WHERE (?P<where>.+?))?"
            r"(?: ORDER BY (?P<order>[\w, .]+?))?(?: LIMIT (?P<limit>\d+))?",
            soql.strip(),
        )
        if not m:
            raise ValueError(f"unsupported SOQL: {soql}")
        fields = [f.strip() for f in m["fields"].split(",")]
        rows = list(self.records[m["obj"]].values())
        for cond in re.split(r" AND ", m["where"] or "") if m["where"] else []:
            cm = re.fullmatch(r"([\w.]+) (=|>|>=|<) (.+)", cond.strip())
            if not cm:
                raise ValueError(f"unsupported condition: {cond}")
            name, op, literal = cm[1], cm[2], _parse_literal(cm[3])

            def keep(r: dict[str, Any], name: str = name, op: str = op, literal: Any = literal) -> bool:
                value = self._value(r, name)
                if op == "=":
                    if isinstance(literal, str) and isinstance(value, str):
                        return value.lower() == literal.lower()
                    return bool(value == literal)
                if value is None:
                    return False
                return bool({">": value > literal, ">=": value >= literal, "<": value < literal}[op])

            rows = [r for r in rows if keep(r)]
        if m["order"]:
            keys = [k.strip() for k in m["order"].split(",")]
            rows.sort(key=lambda r: tuple(str(self._value(r, k) or "") for k in keys))
        if m["limit"]:
            rows = rows[: int(m["limit"])]
        return [self._shape(m["obj"], r, fields) for r in rows]

    def _page(self, locator: str, rows: list[dict[str, Any]], offset: int) -> dict[str, Any]:
        chunk = rows[offset : offset + self.page_size]
        done = offset + self.page_size >= len(rows)
        answer: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": chunk}
        if not done:
            answer["nextRecordsUrl"] = f"/services/data/v{API}/query/{locator}-{offset + self.page_size}"
        return answer

    # -- HTTP ----------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        org = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any = None, content_type: str = "application/json") -> None:
                data = (
                    b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
                )
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, code: str, message: str) -> None:
                self._send(status, [{"message": message, "errorCode": code}])

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _authorized(self) -> bool:
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
                if token not in org.tokens:
                    self._error(401, "INVALID_SESSION_ID", "Session expired or invalid")
                    return False
                if org.limit_exceeded:
                    self._error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
                    return False
                return True

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                path = urlsplit(self.path).path
                org.requests.append(("POST", path))
                body = self._body()
                if path.startswith("/services/Soap/u/"):
                    self._login(body.decode())
                    return
                if not self._authorized():
                    return
                m = re.fullmatch(r"/services/data/v[\d.]+/sobjects/(\w+)/?", path)
                if not m or m[1] != "Task":
                    self._error(404, "NOT_FOUND", "The requested resource does not exist")
                    return
                fields = json.loads(body)
                what = fields.get("WhatId")
                if what is not None and what not in org.records["Opportunity"]:
                    self._send(
                        400,
                        [
                            {
                                "message": "Related To ID: id value of incorrect type: " + str(what),
                                "errorCode": "FIELD_INTEGRITY_EXCEPTION",
                                "fields": ["WhatId"],
                            }
                        ],
                    )
                    return
                task_id = org.add("Task", **fields)
                self._send(201, {"id": task_id, "success": True, "errors": []})

            def do_PATCH(self) -> None:  # noqa: N802
                path = urlsplit(self.path).path
                org.requests.append(("PATCH", path))
                body = self._body()
                if not self._authorized():
                    return
                m = re.fullmatch(r"/services/data/v[\d.]+/sobjects/Task/(\w+)", path)
                if not m or m[1] not in org.records["Task"]:
                    self._error(404, "NOT_FOUND", "The requested resource does not exist")
                    return
                org.touch(m[1], **json.loads(body))
                self._send(204)

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                org.requests.append(("GET", parts.path))
                if not self._authorized():
                    return
                if re.fullmatch(r"/services/data/v[\d.]+/query/?", parts.path):
                    soql = parse_qs(parts.query).get("q", [""])[0]
                    try:
                        rows = org.query(soql)
                    except (ValueError, KeyError) as e:
                        self._error(400, "MALFORMED_QUERY", str(e))
                        return
                    with org._lock:
                        locator = f"01g{len(org._cursors):015d}"
                        org._cursors[locator] = rows
                    self._send(200, org._page(locator, rows, 0))
                    return
                m = re.fullmatch(r"/services/data/v[\d.]+/query/(\w+)-(\d+)", parts.path)
                if m and m[1] in org._cursors:
                    self._send(200, org._page(m[1], org._cursors[m[1]], int(m[2])))
                    return
                self._error(404, "NOT_FOUND", "The requested resource does not exist")

            def _login(self, xml: str) -> None:
                user = re.search(r"<n1:username>(.*?)</n1:username>", xml, re.S)
                password = re.search(r"<n1:password>(.*?)</n1:password>", xml, re.S)
                ok = user and password and org.logins.get(_unescape(user[1])) == _unescape(password[1])
                if not ok:
                    fault = (
                        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                        'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
                        "<faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid "
                        "username, password, security token; or user locked out.</faultstring><detail>"
                        "<sf:LoginFault><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"
                        "<sf:exceptionMessage>Invalid username, password, security token; or user locked "
                        "out.</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body>"
                        "</soapenv:Envelope>"
                    )
                    self._send(500, fault.encode(), "text/xml")
                    return
                session = f"00D-session-{len(org.tokens)}"
                org.tokens.add(session)
                answer = (
                    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                    'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
                    f"<serverUrl>{escape(org.url)}/services/Soap/u/{API}/00D000000000001</serverUrl>"
                    f"<sessionId>{escape(session)}</sessionId><userId>005000000000001AAA</userId>"
                    "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
                )
                self._send(200, answer.encode(), "text/xml")

        return Handler


def _unescape(text: str) -> str:
    return (
        text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&amp;", "&")
    )
