"""Microseconds per ``logger.info`` call: a process set up like a Loom service with log
shipping on, against loguru with a null sink, in the same run.

The service set-up is ``configure_logging`` as every Loom process gets it outside dev: JSON
lines on stdout (sent to /dev/null here, as a pipe to a log collector would take them) and
the shipper, publishing batches to the real RabbitMQ (a temporary vhost) from its thread, or
to a no-op publisher with ``--publisher noop``. A third figure, the same set-up with shipping
off, shows what the shipper itself adds. Rounds alternate between the set-ups, and the figure
is the median of each set-up's rounds, so machine noise hits all of them alike; between
rounds the shipper is flushed, so that no round pays for the previous one's backlog.

    python bench/log_call_cost.py [--calls 20000] [--rounds 7] [--publisher rabbitmq|noop]

Goal (issue 5): under 20 microseconds added per call.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

from loguru import logger
from prometheus_client import REGISTRY

from loom_common import log_setup
from loom_common.broker import setup_broker
from loom_common.log_setup import configure_logging
from loom_common.log_shipping import LogShipper, PublishBatch
from loom_common.runtime import publish_log_batch
from loom_common.settings import load_settings
from loom_common.testing import temporary_vhost


def null_sink_logging() -> None:
    logger.remove()
    logger.configure(extra={}, patcher=None)
    logger.add(lambda _message: None, level="INFO", format="{message}")


def service_logging(
    broker_url: str, var_dir: str, publish: PublishBatch, ship: bool
) -> LogShipper | None:
    settings = load_settings(
        "web", env="test", broker_url=broker_url, var_dir=var_dir, ship_logs=ship
    )
    log_setup._state["pid"] = None  # configure_logging does its work once per process
    return configure_logging(settings, publish=publish)


@contextlib.contextmanager
def stdout_to_devnull() -> Iterator[None]:
    """JSON lines go to file descriptor 1; keep them off the terminal while measuring."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)


def microseconds_per_call(calls: int) -> float:
    started = time.perf_counter()
    for number in range(calls):
        logger.info("order {} shipped in {} ms", number, 3.25)
    return (time.perf_counter() - started) / calls * 1e6


def counter(name: str) -> float:
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == name
        for sample in metric.samples
        if sample.name == f"{name}_total" and sample.labels.get("service") == "web"
    )


def measure(args: argparse.Namespace, broker_url: str, publish: PublishBatch) -> dict[str, Any]:
    results: dict[str, list[float]] = {"null sink": [], "service, shipping off": [], "service": []}
    with tempfile.TemporaryDirectory() as var_dir, stdout_to_devnull():
        setups: dict[str, Callable[[], LogShipper | None]] = {
            "null sink": lambda: null_sink_logging(),
            "service, shipping off": lambda: service_logging(broker_url, var_dir, publish, False),
            "service": lambda: service_logging(broker_url, var_dir, publish, True),
        }
        for round_number in range(args.rounds + 1):  # the first round warms up
            for name, setup in setups.items():
                shipper = setup()
                figure = microseconds_per_call(args.calls)
                if shipper is not None:
                    shipper.flush(timeout=60)
                    shipper.close()
                if round_number:
                    results[name].append(figure)
        logger.remove()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--publisher", choices=("rabbitmq", "noop"), default="rabbitmq")
    args = parser.parse_args()

    with temporary_vhost() as broker_url:
        if args.publisher == "rabbitmq":
            setup_broker(load_settings("web", env="test", broker_url=broker_url))
            publish: PublishBatch = publish_log_batch
        else:
            publish = lambda _records: None  # noqa: E731
        results = measure(args, broker_url, publish)

    null, off, on = (statistics.median(results[name]) for name in results)
    print(f"{args.calls} logger.info calls per round, {args.rounds} rounds, alternating")
    print(f"publisher: {args.publisher}")
    for name, figures in results.items():
        rounds = ", ".join(f"{figure:.2f}" for figure in figures)
        print(f"{name:<22}: {statistics.median(figures):6.2f} us/call  (rounds: {rounds})")
    print(
        f"records shipped: {counter('loom_log_records_shipped'):.0f}, "
        f"dropped: {counter('loom_log_records_dropped'):.0f}"
    )
    print(f"shipper alone adds       : {on - off:6.2f} us/call")
    print(f"added over the null sink : {on - null:6.2f} us/call  (goal < 20)")


if __name__ == "__main__":
    main()
