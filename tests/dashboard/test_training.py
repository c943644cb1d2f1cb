"""Reviewer verdicts exported as labelled data in the format `python -m vision.train --extra-data`
reads (vision/data.py), as a zip from the dashboard and from the command line; and what the
dashboard says about the last training run."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard import helpers

COLUMNS = ["file", "label", "severity", "damage_type", "dup_group", "source"]


@pytest.fixture
def verdicts(client: Any, shops: dict[str, Any], reviewer: str) -> dict[str, Any]:
    """Three photos of Acme's flagged returns judged damaged / intact / unusable (the first one twice),
    and a photo of another shop's return judged by its own admin."""
    one = helpers.create_return(client)
    two = helpers.create_return(client, order_number="100232", email="raj@example.com", photos=1)
    p1, p2 = one["items"][0]["photo_ids"]
    p3 = two["items"][0]["photo_ids"][0]
    post = lambda pid, **data: client.post(  # noqa: E731
        f"/merchant/photos/{pid}/verdict", data={"csrf_token": reviewer, **data}, follow_redirects=False
    )
    post(p1, label="intact")
    post(p1, label="damaged", severity="severe", damage_type="crushed")  # newest counts
    post(p2, label="intact")
    post(p3, label="unusable")
    theirs = helpers.create_return(client, order_number="900001", email="zoe@example.com", photos=1)
    client.cookies.clear()
    token = helpers.login(client, "boss@globex.example")
    client.post(
        f"/merchant/photos/{theirs['items'][0]['photo_ids'][0]}/verdict",
        data={"csrf_token": token, "label": "damaged"},
    )
    client.cookies.clear()
    return {"damaged": p1, "intact": p2, "unusable": p3, "theirs": theirs}


def _check_folder(folder: Path) -> list[dict[str, str]]:
    with (folder / "labels.csv").open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == COLUMNS
        rows = list(reader)
    for row in rows:
        assert (folder / row["file"]).is_file(), row
        assert row["file"].startswith(f"images/{row['label']}/")
        assert row["source"].startswith("merchant-review:")
    return rows


def test_cli_exports_the_labelled_folder(verdicts: dict[str, Any], tmp_path: Path) -> None:
    from api.services.training_export import main

    out = tmp_path / "export"
    assert main([str(out), "--merchant", "acme"]) == 0
    rows = _check_folder(out)
    by_label = {r["label"]: r for r in rows}
    assert sorted(by_label) == ["damaged", "intact", "unusable"]
    assert len(rows) == 3  # the first photo once, with its newest verdict
    assert by_label["damaged"]["severity"] == "severe"
    assert by_label["damaged"]["damage_type"] == "crushed"
    assert by_label["intact"]["severity"] == "none" and by_label["intact"]["damage_type"] == ""
    assert by_label["unusable"]["severity"] == ""
    # Two photos of one returned item share a near-duplicate group.
    assert by_label["damaged"]["dup_group"] == by_label["intact"]["dup_group"]
    assert by_label["unusable"]["dup_group"] != by_label["damaged"]["dup_group"]
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["photos"] == 3 and manifest["merchant"] == "acme"


def test_cli_without_merchant_exports_every_shop(
    verdicts: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.services.training_export import main

    assert main([str(tmp_path / "all")]) == 0
    assert len(_check_folder(tmp_path / "all")) == 4
    assert "python -m vision.train --extra-data" in capsys.readouterr().out


def test_the_damage_model_reads_the_export(verdicts: dict[str, Any], tmp_path: Path) -> None:
    """The real reader of `--extra-data` folders accepts it (vision/data.py)."""
    pytest.importorskip("torch")
    from api.services.training_export import main
    from vision.data import read_folder

    main([str(tmp_path / "export"), "--merchant", "acme"])
    examples = read_folder(tmp_path / "export")
    assert sorted(e.label for e in examples) == ["damaged", "intact", "unusable"]
    assert all(e.path.is_file() for e in examples)
    damaged = next(e for e in examples if e.label == "damaged")
    assert (damaged.severity, damaged.damage_type) == ("severe", "crushed")
    damaged.target  # noqa: B018  (builds the training target: labels are in the model's vocabulary)


def test_dashboard_zip_download_is_admin_only_and_scoped(
    client: Any, verdicts: dict[str, Any], tmp_path: Path
) -> None:
    helpers.login(client, "rev@acme.example")
    assert client.get("/merchant/training/export.zip").status_code == 403
    client.cookies.clear()
    helpers.login(client, "boss@acme.example")
    response = client.get("/merchant/training/export.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    archive.extractall(tmp_path / "unzipped")
    (folder,) = list((tmp_path / "unzipped").iterdir())
    assert folder.name.startswith("reviews-acme-")
    rows = _check_folder(folder)
    assert len(rows) == 3
    assert all(":acme:" in r["source"] for r in rows)
    assert verdicts["theirs"]["rma"] not in (folder / "labels.csv").read_text()


def test_training_page_counts_reviews_and_reads_the_model_metadata(
    client: Any, verdicts: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.services.training_export import main
    from api.settings import get_settings

    monkeypatch.setenv("DAMAGE_MODEL_DIR", str(tmp_path / "no-model"))
    get_settings.cache_clear()
    helpers.login(client, "rev@acme.example")
    page = client.get("/merchant/training").text
    assert 'data-testid="reviewed-count">3<' in page
    assert "No trained damage model" in page  # none there: said, not failed

    export = tmp_path / "reviews"
    main([str(export), "--merchant", "acme"])
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_version": "damage-resnet-tiny-2026.12.01"}))
    (model / "metrics.json").write_text(
        json.dumps(
            {
                "held_out": {"auroc": 0.93, "accuracy": 0.88},
                "training": {"train_photos": 767, "minutes": 28.0},
            }
        )
    )
    (model / "training_config.json").write_text(json.dumps({"extra_data": [str(export)]}))
    monkeypatch.setenv("DAMAGE_MODEL_DIR", str(model))
    get_settings.cache_clear()
    page = client.get("/merchant/training").text
    assert "damage-resnet-tiny-2026.12.01" in page
    assert "767" in page and "0.93" in page
    assert "Reviewed photos used</dt><dd>3" in page
    assert "not yet seen by the model" in page


def test_model_status_is_tolerant(tmp_path: Path) -> None:
    from api.services.training_export import model_status

    assert not model_status(tmp_path / "missing").available
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "metrics.json").write_text("{not json")
    assert not model_status(tmp_path / "half").available
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "config.json").write_text("{}")
    status = model_status(tmp_path / "old")
    assert status.available and status.reviewed_photos is None and status.train_photos is None
    (tmp_path / "old" / "training_config.json").write_text(json.dumps({"extra_data": ["/gone"]}))
    assert model_status(tmp_path / "old").reviewed_photos is None  # the export folder is gone
