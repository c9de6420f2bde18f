"""Each owner's new or changed items, delivered by email and Slack, once.

    settings   where messages go (FOLLOWTHROUGH_SMTP_URL, FOLLOWTHROUGH_MAIL_FROM, SLACK_BOT_TOKEN,
               FOLLOWTHROUGH_SLACK_WEBHOOK_URL, FOLLOWTHROUGH_SLACK_API_URL), read at call time
    digest     what one owner is told: their new or changed open items in four sections
    render     the email's subject, text and HTML; blocks: the Slack Block Kit message
    mail       the email channel (email.message + smtplib); slack: the Slack channel (slack_sdk)
    deliver    the run: per channel, per owner, one message, recorded in the store's deliveries

``followthrough digest --send email|slack`` and ``followthrough run … --notify`` call
:func:`deliver` with the channels :func:`open_channels` builds; ``digest --send … --dry-run`` with
:func:`preview_channels` (no server, no settings needed).
"""

from __future__ import annotations

from collections.abc import Sequence

from followthrough.errors import ConfigError
from followthrough.notify.base import Channel, DeliveryFailed, Preview
from followthrough.notify.deliver import ChannelReport, Failure, NotifyReport, deliver
from followthrough.notify.mail import EmailChannel
from followthrough.notify.settings import (
    NOT_CONFIGURED,
    ChannelName,
    configured,
    slack_settings,
    smtp_settings,
)


def open_channels(names: Sequence[ChannelName]) -> list[Channel]:
    """The channels ``names`` asks for, built from their settings (each name once, in order).
    :class:`ConfigError` (the line of :data:`~followthrough.notify.settings.NOT_CONFIGURED`) for a
    channel with no settings, or settings that are wrong."""
    out: list[Channel] = []
    for name in dict.fromkeys(names):
        if name is ChannelName.EMAIL:
            smtp = smtp_settings()
            if smtp is None:
                raise ConfigError(NOT_CONFIGURED[name])
            out.append(EmailChannel(smtp))
        else:
            slack = slack_settings()
            if slack is None:
                raise ConfigError(NOT_CONFIGURED[name])
            from followthrough.notify.slack import SlackChannel  # loads slack_sdk: Slack only

            out.append(SlackChannel(slack))
    return out


def preview_channels(names: Sequence[ChannelName]) -> list[Channel]:
    """Channels for a dry run (each name once, in order): they build each message as ``names``
    would and send nothing, so no settings are read and no server is needed."""
    return [Preview(name) for name in dict.fromkeys(names)]


__all__ = [
    "Channel",
    "ChannelName",
    "ChannelReport",
    "DeliveryFailed",
    "Failure",
    "NotifyReport",
    "configured",
    "deliver",
    "open_channels",
    "preview_channels",
]
