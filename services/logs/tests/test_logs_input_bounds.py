"""What the logs API answers to ids no database can hold (past 64 bits)."""

from __future__ import annotations

from flask.testing import FlaskClient

HUGE = "820517158035656953298944"  # past 64 bits: SQLite's driver raises OverflowError


def test_a_record_id_past_64_bits_is_404_json(client: FlaskClient, auth: dict[str, str]) -> None:
    for record_id in (HUGE, str(2**63)):
        response = client.get(f"/api/logs/{record_id}/context", headers=auth)
        assert response.status_code == 404, response.json
        assert response.json["error"]["code"] == "not_found"
