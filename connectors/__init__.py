"""Connectors turn files, exports and APIs into :class:`SourceDocument` values.

Each connector subclasses :class:`connectors.base.Connector` and registers
itself with :func:`connectors.registry.register`. ``connectors`` never imports
``extractor`` or ``store``.
"""

from connectors.base import Connector, ErrorSink
from connectors.registry import connector_for, register, registered

__all__ = ["Connector", "ErrorSink", "connector_for", "register", "registered"]
