"""Digests on Slack, with the official ``slack_sdk``: a direct message from a bot
(``users.lookupByEmail``, then ``chat.postMessage`` to the user's id; :class:`slack_sdk.WebClient`
at ``FOLLOWTHROUGH_SLACK_API_URL``) or a post to an incoming webhook's channel
(:class:`slack_sdk.webhook.WebhookClient`) that names the owner (``<@U…>`` when a bot token can find
them, else their name).

A ``429 Too Many Requests`` is waited out as its ``Retry-After`` header says (up to
:data:`RATE_LIMIT_RETRIES` times), but never more than :data:`RATE_LIMIT_WAIT_S` seconds in all for
one message: a longer ``Retry-After`` (Slack asks for an hour at times) is not waited for; the
message fails with one line ("Slack asked to retry after 3600 s; pending for the next run") and
stays pending for the next digest, while the run goes on. A dropped connection is retried once. The
SDK's own logging (which names the webhook URL) goes to a logger that is off.

A message holds at most 50 blocks (:func:`~followthrough.notify.blocks.fit`): the items that do not
fit are not announced and wait for the next digest.
"""

from __future__ import annotations

import logging
import random
import time
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

from followthrough.notify import blocks
from followthrough.notify.base import Channel, DeliveryFailed
from followthrough.notify.digest import OwnerDigest
from followthrough.notify.settings import ChannelName, SlackSettings

RATE_LIMIT_RETRIES = 3
RATE_LIMIT_WAIT_S = 60.0
"""The most seconds one message waits, in all, for Slack's ``429`` answers (their ``Retry-After``)."""

_sdk_log = logging.getLogger("followthrough.notify.slack_sdk")
_sdk_log.disabled = True  # slack_sdk logs request URLs (a webhook URL is a secret) at DEBUG


def retry_after(response: HttpResponse | None) -> float | None:
    """The seconds a ``429`` answer's ``Retry-After`` header asks for (``None``: no such answer or
    header, or not a number of seconds)."""
    if response is None or response.status_code != 429:
        return None
    for key, values in response.headers.items():
        if key.lower() == "retry-after" and values:
            try:
                return max(0.0, float(values[0]))
            except ValueError:
                return None
    return None


class CappedRateLimitHandler(RateLimitErrorRetryHandler):
    """slack_sdk's handler for ``429``, waiting ``Retry-After`` only while the message's total wait
    stays within ``budget_s`` seconds. :meth:`start` begins a message's budget; ``refused`` holds the
    ``Retry-After`` (seconds) of the last ``429`` not waited for (``None``: none was refused)."""

    def __init__(self, max_retry_count: int, budget_s: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.budget_s = budget_s
        self.waited = 0.0
        self.refused: float | None = None

    def start(self) -> None:
        self.waited, self.refused = 0.0, None

    def _wait(self, response: HttpResponse | None) -> float:
        after = retry_after(response)
        return 1.0 + random.random() if after is None else after  # slack_sdk's default without a header

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = self._wait(response)
        if self.waited + wait > self.budget_s:
            self.refused = wait
            return False
        return True

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("no response to retry")
        state.next_attempt_requested = True
        wait = self._wait(response)
        self.waited += wait
        time.sleep(wait)
        state.increment_current_attempt()


def _refused_line(seconds: float | None) -> str:
    if seconds is None:  # every retry used, each answered 429
        return f"Slack kept answering 429 after {RATE_LIMIT_RETRIES} retries"
    return f"Slack asked to retry after {seconds:.0f} s"


class SlackChannel(Channel):
    """Sends each owner's digest to Slack as ``settings`` say (bot token first, else the webhook)."""

    name = ChannelName.SLACK

    def __init__(self, settings: SlackSettings, *, rate_limit_wait_s: float = RATE_LIMIT_WAIT_S) -> None:
        self.settings = settings
        timeout = int(settings.timeout)
        self._rate = CappedRateLimitHandler(RATE_LIMIT_RETRIES, rate_limit_wait_s)
        handlers: list[RetryHandler] = [ConnectionErrorRetryHandler(max_retry_count=1), self._rate]
        self._web = (
            WebClient(
                token=settings.bot_token,
                base_url=settings.api_url,
                timeout=timeout,
                logger=_sdk_log,
                retry_handlers=handlers,
            )
            if settings.bot_token
            else None
        )
        self._hook = (
            WebhookClient(settings.webhook_url, timeout=timeout, logger=_sdk_log, retry_handlers=handlers)
            if settings.webhook_url and not settings.bot_token
            else None
        )
        self._users: dict[str, str] = {}

    def fit(self, digest: OwnerDigest) -> OwnerDigest:
        """``digest`` within one message's 50 blocks (:func:`~followthrough.notify.blocks.fit`)."""
        return blocks.fit(digest)

    def send(self, digest: OwnerDigest) -> None:
        """Post ``digest``; :class:`DeliveryFailed` when Slack did not take it (a ``429`` whose
        ``Retry-After`` is beyond the wait left to this message included)."""
        self._rate.start()
        if self._web is not None:
            user = self._user_id(digest.email)
            self._post(channel=user, text=blocks.fallback(digest), blocks=blocks.blocks(digest))
            return
        assert self._hook is not None
        try:
            response = self._hook.send(
                text=blocks.fallback(digest), blocks=blocks.blocks(digest, mention=digest.name)
            )
        except (SlackClientError, URLError, OSError) as e:
            raise DeliveryFailed(f"Slack webhook unreachable: {_reason(e)}") from e
        if response.status_code == 429:
            raise DeliveryFailed(_refused_line(self._rate.refused))
        if response.status_code != 200:
            raise DeliveryFailed(f"Slack webhook answered {response.status_code}: {response.body[:200]}")

    def _user_id(self, email: str) -> str:
        """The Slack user id of ``email`` (``users.lookupByEmail``), remembered for the run."""
        if email not in self._users:
            assert self._web is not None
            try:
                found = self._web.users_lookupByEmail(email=email)
            except SlackApiError as e:
                self._check_rate(e)
                error = e.response.get("error") if e.response is not None else None
                if error == "users_not_found":
                    raise DeliveryFailed(f"no Slack user has the email {email}") from e
                raise DeliveryFailed(f"Slack users.lookupByEmail failed: {error or _reason(e)}") from e
            except (SlackClientError, URLError, OSError) as e:
                raise DeliveryFailed(f"Slack API unreachable: {_reason(e)}") from e
            user = found.get("user") or {}
            self._users[email] = str(user.get("id") or "")
            if not self._users[email]:
                raise DeliveryFailed(f"Slack users.lookupByEmail gave no user id for {email}")
        return self._users[email]

    def _post(self, **payload: object) -> None:
        assert self._web is not None
        try:
            self._web.chat_postMessage(**payload)  # type: ignore[arg-type]
        except SlackApiError as e:
            self._check_rate(e)
            error = e.response.get("error") if e.response is not None else None
            raise DeliveryFailed(f"Slack chat.postMessage failed: {error or _reason(e)}") from e
        except (SlackClientError, URLError, OSError) as e:
            raise DeliveryFailed(f"Slack API unreachable: {_reason(e)}") from e

    def _check_rate(self, e: SlackApiError) -> None:
        """:class:`DeliveryFailed` with the retry line when ``e`` is a ``429`` not waited for."""
        if e.response is not None and e.response.status_code == 429:
            raise DeliveryFailed(_refused_line(self._rate.refused)) from e


def _reason(e: BaseException) -> str:
    text = str(getattr(e, "reason", None) or e).strip()
    return (text.splitlines() or [type(e).__name__])[0]
