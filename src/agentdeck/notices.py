"""Which log records concern the person at the MCP client, not only whoever runs the server.

agentdeck logs to stderr for its operator. A few warnings also matter to the person using
it through a client: a backend that could not be reached when its agents were refreshed,
a malformed stream event skipped, this replica failing to renew its lease. Their log call
passes ``extra=FOR_CLIENT``, and the server forwards such records to the clients that
asked for log messages (``server/client/_log.py``); every other record stays in the log.
"""

from __future__ import annotations

import logging
from typing import Final

_MARK = "agentdeck_for_client"
#: ``logger.warning(..., extra=FOR_CLIENT)``: the client should hear of this too.
FOR_CLIENT: Final = {_MARK: True}


def for_client(record: logging.LogRecord) -> bool:
    """Whether ``record`` was logged with ``extra=FOR_CLIENT``."""
    return getattr(record, _MARK, False) is True
