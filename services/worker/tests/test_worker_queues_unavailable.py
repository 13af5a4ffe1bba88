"""GET /api/queues when RabbitMQ's management API is not there: a 503 saying where and what to do."""

from __future__ import annotations

from types import ModuleType

from helpers import TOKEN, metric

from loom_common.testing import free_port
from loom_worker.app import create_app


def test_queues_are_503_naming_the_management_api_and_how_to_enable_it(
    actors: ModuleType,
) -> None:
    port = free_port()  # nothing listens there: the plugin is not enabled
    settings = actors.settings.model_copy(
        update={"broker_management_url": f"http://guest:s3cret@127.0.0.1:{port}"}
    )
    app = create_app(settings)
    before = metric(app, "loom_worker_queue_depths_unavailable_total", reason="unreachable")

    response = app.test_client().get("/api/queues", headers=TOKEN)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    message = response.json["error"]["message"]
    assert f"management API at http://127.0.0.1:{port}" in message
    assert "rabbitmq-plugins enable rabbitmq_management" in message
    assert "s3cret" not in message
    after = metric(app, "loom_worker_queue_depths_unavailable_total", reason="unreachable")
    assert after == before + 1
