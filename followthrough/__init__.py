"""followthrough: surfaces every commitment made to a customer.

This package holds the application that wires the stages together
(configuration, pipeline runs, CLI, HTTP API). The shared value types live in
:mod:`followthrough.types` and the exception tree in
:mod:`followthrough.errors`; both import nothing else from the project so that
``connectors``, ``extractor`` and ``store`` may depend on them.
"""

__version__ = "0.1.0"
