"""What every Loom Flask app gets from ``loom_common.flask_app.init_app``: request ids, bearer
auth and JSON errors under /api, health, metrics and the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loom_common.settings import Settings
from loom_common.testing import DEPLOYED_API_TOKEN, DEPLOYED_SECRET_KEY, free_port

BuildApp = Callable[[Settings], Flask]


@pytest.fixture
def app(make_settings: Callable[..., Settings], build_app: BuildApp) -> Flask:
    return build_app(make_settings("web", migrate=False))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_a_given_request_id_is_echoed(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123.from:caller"})
    assert response.headers["X-Request-ID"] == "abc-123.from:caller"


def test_a_request_id_is_made_when_absent(client: FlaskClient) -> None:
    first = client.get("/healthz").headers.get("X-Request-ID")
    second = client.get("/healthz").headers.get("X-Request-ID")
    assert first
    assert second
    assert first != second


@pytest.mark.parametrize(
    "malformed", ["has spaces in it", "x" * 129, "semi;colon", "<script>alert(1)</script>"]
)
def test_a_malformed_request_id_is_replaced(client: FlaskClient, malformed: str) -> None:
    echoed = client.get("/healthz", headers={"X-Request-ID": malformed}).headers["X-Request-ID"]
    assert echoed != malformed
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", echoed)


def test_api_errors_carry_the_request_id_header_too(client: FlaskClient) -> None:
    response = client.get("/api/things", headers={"X-Request-ID": "trace-me"})
    assert response.status_code == 401
    assert response.headers["X-Request-ID"] == "trace-me"


def test_api_without_a_token_is_401_in_json(client: FlaskClient) -> None:
    response = client.get("/api/things")
    assert response.status_code == 401
    assert response.is_json
    assert response.json["error"]["code"] == "unauthorized"
    assert "bearer" in response.json["error"]["message"].lower()
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization", ["Bearer wrong-token", "Basic ZGV2OmRldg==", "Bearer ", "dev-api-token"]
)
def test_api_with_a_wrong_token_is_401_in_json(client: FlaskClient, authorization: str) -> None:
    response = client.get("/api/things", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_api_with_the_operator_token_answers(
    client: FlaskClient, operator_headers: dict[str, str]
) -> None:
    response = client.get("/api/things", query_string={"limit": 5}, headers=operator_headers)
    assert response.status_code == 200
    assert response.json == {"items": [], "limit": 5}


def test_malformed_json_is_400_naming_the_problem(
    client: FlaskClient, operator_headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/things",
        data='{"name": "Ada",',
        content_type="application/json",
        headers=operator_headers,
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_request"
    assert "JSON" in response.json["error"]["message"]
    assert "line 1" in response.json["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 21}, "name"), ({"name": 3}, "name")],
)
def test_an_invalid_field_is_422_naming_it(
    client: FlaskClient, operator_headers: dict[str, str], body: dict[str, object], field: str
) -> None:
    response = client.post("/api/things", json=body, headers=operator_headers)
    assert response.status_code == 422
    assert response.is_json
    assert response.json["error"]["code"] == "invalid"
    assert field in response.json["error"]["fields"]
    assert field in response.json["error"]["message"]


def test_an_invalid_query_parameter_is_422_naming_it(
    client: FlaskClient, operator_headers: dict[str, str]
) -> None:
    response = client.get("/api/things", query_string={"limit": "0"}, headers=operator_headers)
    assert response.status_code == 422
    assert "limit" in response.json["error"]["fields"]


def test_unknown_api_route_is_404_json(
    client: FlaskClient, operator_headers: dict[str, str]
) -> None:
    response = client.get("/api/nothing-here", headers=operator_headers)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_wrong_method_is_405_json(client: FlaskClient, operator_headers: dict[str, str]) -> None:
    response = client.delete("/api/things", headers=operator_headers)
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_non_api_404_stays_html(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b'"error"' not in response.data


def test_healthz_answers(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "release": "0.1.0"}


def test_readyz_is_200_when_the_broker_answers(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ready"
    assert response.json["checks"]["broker"] == "ok"


def test_readyz_is_503_naming_the_broker_when_it_is_down(
    make_settings: Callable[..., Settings], build_app: BuildApp
) -> None:
    closed = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
    app = build_app(make_settings("web", migrate=False, broker_url=closed))

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.is_json
    assert "broker" in response.json["down"]
    assert "broker" in response.json["error"]["message"]


def test_readyz_outside_dev_names_what_is_down_without_the_drivers_detail(
    make_settings: Callable[..., Settings],
    build_app: BuildApp,
    log_records: list[dict[str, Any]],
) -> None:
    port = free_port()
    settings = make_settings(
        "web",
        migrate=False,
        env="staging",
        secret_key=DEPLOYED_SECRET_KEY,
        api_token=DEPLOYED_API_TOKEN,
        broker_url=f"amqp://loom:broker-password@127.0.0.1:{port}/loom-internal",
    )

    response = build_app(settings).test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json["down"] == {"broker": "unreachable"}
    assert response.json["error"]["message"] == "not ready: broker is down (unreachable)"
    assert "AMQP" not in response.get_data(as_text=True)
    logged = [r["message"] for r in log_records if r["message"].startswith("not ready: broker")]
    assert logged, "the driver's detail belongs in the log line"
    assert "unreachable" not in logged[0], logged[0]


def test_readyz_is_503_when_the_vhost_does_not_exist(
    make_settings: Callable[..., Settings], build_app: BuildApp
) -> None:
    missing = "amqp://guest:guest@127.0.0.1:5672/loom-no-such-vhost"
    app = build_app(make_settings("web", migrate=False, broker_url=missing))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "broker" in response.json["down"]


def test_metrics_are_prometheus_text_with_request_counts(
    client: FlaskClient, operator_headers: dict[str, str]
) -> None:
    client.get("/api/things", headers=operator_headers)

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert "# TYPE loom_http_requests_total counter" in text
    sample = re.search(
        r'^loom_http_requests_total\{(?=[^}]*endpoint="/api/things")(?=[^}]*method="GET")'
        r'(?=[^}]*service="web")(?=[^}]*status="200")[^}]*\} (\d+(\.\d+)?)$',
        text,
        re.MULTILINE,
    )
    assert sample, "no loom_http_requests_total sample for GET /api/things 200"
    assert float(sample.group(1)) >= 1


def test_the_openapi_document_describes_the_api_and_its_bearer_auth(client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.")
    assert "/api/things" in document["paths"]
    assert {"get", "post"} <= set(document["paths"]["/api/things"])
    schemes = document["components"]["securitySchemes"]
    assert any(s.get("type") == "http" and s.get("scheme") == "bearer" for s in schemes.values())
    assert document["security"] == [{"bearer": []}]


def test_a_garbage_cursor_is_400_saying_so(
    client: FlaskClient, operator_headers: dict[str, str]
) -> None:
    response = client.get(
        "/api/pages", query_string={"cursor": "not-a-cursor!"}, headers=operator_headers
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_request"
    assert "cursor" in response.json["error"]["message"]
