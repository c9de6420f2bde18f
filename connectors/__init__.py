"""Readers turn files, exports and APIs into documents or CRM records.

A document connector subclasses :class:`connectors.base.Connector` and yields
:class:`~followthrough.types.SourceDocument` values; a CRM reader subclasses
:class:`connectors.base.CrmReader` and yields :class:`~followthrough.types.CrmData` chunks.
Each is known to :mod:`connectors.registry` by name. ``connectors`` never imports
``extractor`` or ``store``.
"""

from connectors.base import Connector, CrmReader, ErrorSink, Reader, Yields
from connectors.registry import reader_for, register, register_lazy, registered

__all__ = [
    "Connector",
    "CrmReader",
    "ErrorSink",
    "Reader",
    "Yields",
    "reader_for",
    "register",
    "register_lazy",
    "registered",
]
