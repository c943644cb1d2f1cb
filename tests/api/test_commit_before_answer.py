"""The API commits before it answers: a client told "created" can rely on it, and a commit that
fails is a 5xx, never a success followed by a silent rollback (api/deps.py, scope="function")."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.support import demo_photo


def photo_count() -> int:
    from api.db import session_scope
    from api.models import Photo

    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(Photo)) or 0)


def test_a_failing_commit_is_an_error_not_a_created(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app

    before = photo_count()
    real_commit = Session.commit

    def failing_commit(self: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        monkeypatch.setattr(Session, "commit", failing_commit)
        path = demo_photo("damaged")
        answer = client.post("/api/v1/uploads", files={"file": (path.name, path.read_bytes(), "image/jpeg")})
        monkeypatch.setattr(Session, "commit", real_commit)
    assert answer.status_code == 500
    assert photo_count() == before


def test_what_was_answered_is_visible_to_the_next_request(
    client: Any, service_headers: dict[str, str]
) -> None:
    path = demo_photo("damaged")
    for _ in range(5):
        answer = client.post("/api/v1/uploads", files={"file": (path.name, path.read_bytes(), "image/jpeg")})
        assert answer.status_code == 201
        photo_id = answer.json()["photo_id"]
        assert client.get(f"/api/v1/photos/{photo_id}", headers=service_headers).status_code == 200
