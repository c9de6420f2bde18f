"""A fake Batch API in the OpenAI shape: a real HTTP server on 127.0.0.1 with files and batches.

Implements what ``extract --batch`` calls::

    POST /v1/files                 multipart (purpose=batch, file=JSONL)       -> a file object
    POST /v1/batches               {"input_file_id", "endpoint", "completion_window"} -> a batch (validating)
    GET  /v1/batches/{id}          the batch; each GET moves it on, and after ``polls_to_end`` it ends
    GET  /v1/files/{id}/content    the uploaded JSONL, or the output / error file of an ended batch

Each request of a batch is answered by :class:`tests.fake_openai.FakeOpenAI`'s own answer logic (its
cue model, its token counts, its scripted :class:`~tests.fake_openai.Reply` queue: ``api.model.queue``),
so a batch answers exactly as the online fake server would. A 200 goes to the output file, any other
status to the error file. Scripting a batch's end::

    api.hold = True                      # batches stay in_progress until set back to False
    api.end_as.append("expired")         # the next batch to end expires (no request run), then
    api.end_as.append("failed")          # one fails validation as a whole, ...
    api.fail_when = lambda body: ...     # a request whose body matches gets a 400 in the error file
"""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake_openai import FakeOpenAI

__all__ = ["FakeBatchAPI"]

_NOT_RUN = {
    "expired": ("batch_expired", "This request could not be executed before the completion window expired."),
    "cancelled": ("batch_cancelled", "This request was not executed because the batch was cancelled."),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class FakeBatchAPI:
    """Files and batches on an ephemeral loopback port; ``url`` is the base URL (``.../v1``)."""

    def __init__(self, *, polls_to_end: int = 1) -> None:
        self.polls_to_end = polls_to_end
        self.model = FakeOpenAI()
        self.model._server.server_close()  # only its answers are used, never its socket
        self.hold = False
        self.end_as: deque[str] = deque()
        self.fail_when: Callable[[dict[str, Any]], bool] | None = None
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.uploads: list[list[dict[str, Any]]] = []
        """The request lines of each uploaded file, in order."""
        self.polls = 0
        self._polls_of: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def requests_submitted(self) -> int:
        return sum(len(u) for u in self.uploads)

    def __enter__(self) -> FakeBatchAPI:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-batch-api", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- the API ----------------------------------------------------------------------
    def _upload(self, content_type: str, raw: bytes) -> dict[str, Any]:
        message = email.message_from_bytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw, policy=email.policy.HTTP
        )
        fields: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            fields[str(name)] = payload if isinstance(payload, bytes) else b""
        data = fields.get("file", b"")
        with self._lock:
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = data
            self.uploads.append([json.loads(line) for line in data.splitlines() if line.strip()])
        return _file(file_id, len(data), fields.get("purpose", b"").decode())

    def _create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if body.get("input_file_id") not in self.files:
            return 400, _error(f"no file {body.get('input_file_id')!r}")
        with self._lock:
            batch_id = f"batch_{len(self.batches) + 1}"
            batch = {
                "id": batch_id,
                "object": "batch",
                "endpoint": body.get("endpoint"),
                "input_file_id": body["input_file_id"],
                "completion_window": body.get("completion_window"),
                "status": "validating",
                "created_at": int(time.time()),
                "output_file_id": None,
                "error_file_id": None,
                "errors": None,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
            }
            self.batches[batch_id] = batch
        return 200, batch

    def _poll(self, batch_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return 404, _error(f"no batch {batch_id!r}", 404)
            self.polls += 1
            self._polls_of[batch_id] = self._polls_of.get(batch_id, 0) + 1
            if batch["status"] in ("validating", "in_progress"):
                if self.hold or self._polls_of[batch_id] < self.polls_to_end:
                    batch["status"] = "in_progress"
                else:
                    self._end(batch, self.end_as.popleft() if self.end_as else "completed")
            return 200, batch

    def _end(self, batch: dict[str, Any], status: str) -> None:
        """Run a batch's requests (or not: expired, cancelled, failed) and write its files."""
        lines = [json.loads(line) for line in self.files[batch["input_file_id"]].splitlines() if line.strip()]
        batch["status"] = status
        batch["request_counts"]["total"] = len(lines)
        if status == "failed":
            batch["errors"] = {
                "object": "list",
                "data": [{"code": "invalid_request", "message": "model not available for batch", "line": 1}],
            }
            return
        output: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for n, line in enumerate(lines):
            request_id = f"req_{batch['id']}_{n}"
            if status in _NOT_RUN:
                code, message = _NOT_RUN[status]
                errors.append(
                    {
                        "id": request_id,
                        "custom_id": line["custom_id"],
                        "response": None,
                        "error": {"code": code, "message": message},
                    }
                )
                continue
            body = line["body"]
            if self.fail_when is not None and self.fail_when(body):
                code_, payload = 400, _error("the request was refused: invalid content")
            else:
                code_, payload, _, _ = self.model._answer(body)
            entry = {
                "id": request_id,
                "custom_id": line["custom_id"],
                "response": {"status_code": code_, "request_id": request_id, "body": payload},
                "error": None,
            }
            (output if code_ == 200 else errors).append(entry)
        batch["request_counts"].update(completed=len(output), failed=len(errors))
        for key, entries in (("output_file_id", output), ("error_file_id", errors)):
            if entries:
                file_id = f"file-{len(self.files) + 1}"
                self.files[file_id] = b"".join(json.dumps(e).encode() + b"\n" for e in entries)
                batch[key] = file_id

    # -- HTTP -------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence
                pass

            def _send(self, status: int, payload: dict[str, Any] | bytes) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                kind = "application/octet-stream" if isinstance(payload, bytes) else "application/json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[:2] == ["v1", "batches"] and len(parts) == 3:
                    self._send(*api._poll(parts[2]))
                elif parts[:2] == ["v1", "files"] and len(parts) == 4 and parts[3] == "content":
                    data = api.files.get(parts[2])
                    self._send(200, data) if data is not None else self._send(404, _error("no file", 404))
                else:
                    self._send(404, _error(f"no route {self.path}", 404))

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?")[0].rstrip("/")
                if path == "/v1/files":
                    self._send(200, api._upload(self.headers.get("Content-Type", ""), raw))
                elif path == "/v1/batches":
                    self._send(*api._create(json.loads(raw)))
                else:
                    self._send(404, _error(f"no route {self.path}", 404))

        return Handler


def _file(file_id: str, size: int, purpose: str) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": int(time.time()),
        "filename": "requests.jsonl",
        "purpose": purpose,
        "status": "processed",
    }


def _error(message: str, status: int = 400) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
