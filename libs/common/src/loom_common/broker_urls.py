"""Every node of ``LOOM_BROKER_URL`` (``;``-separated AMQP URLs) as pika connection parameters.

pika's BlockingConnection takes a list and tries each in turn, so a connection made from this
list reaches a live node while any node of the cluster is up (Dramatiq's broker splits the
same string the same way).
"""

from __future__ import annotations

import pika


def connection_parameters(
    broker_url: str, timeout: float | None = None
) -> list[pika.URLParameters]:
    """One set of parameters per node, in the URL's order; ``timeout`` bounds each attempt."""
    parameters = []
    for url in broker_url.split(";"):
        node = pika.URLParameters(url.strip())
        if timeout is not None:
            node.socket_timeout = timeout
            node.blocked_connection_timeout = timeout
            node.stack_timeout = timeout
            node.connection_attempts = 1
        parameters.append(node)
    return parameters


def connect(broker_url: str, timeout: float | None = None) -> pika.BlockingConnection:
    """A blocking connection to the first node of the list that answers."""
    return pika.BlockingConnection(connection_parameters(broker_url, timeout))
