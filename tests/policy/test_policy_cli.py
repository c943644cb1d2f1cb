"""`python -m policy check | explain | summary`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from policy import DEFAULT_POLICY_PATH, decide, load_policy
from policy.cli import main
from tests.policy.factories import EXAMPLES, TODAY, example_case

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- check ---------------------------------------------------------------------------------------


def test_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", str(DEFAULT_POLICY_PATH))
    assert code == 0
    assert out.startswith("OK")


CHECKS = [
    # file text, exit code, expected line
    ("windows:\n  apparel: 45\n", 0, "OK"),
    ("windows:\n  apparel: -1\n", 1, "windows.apparel: must be a positive integer"),
    ("reasons:\n  doesnt_fit:\n    action: maybe\n", 1, "reasons.doesnt_fit.action: must be one of"),
    ("damage:\n  clearly_not_damaged: 0.9\n", 1, "damage.clearly_not_damaged: must be lower than"),
    ("windows: [\n", 1, "line 2, column 1: YAML syntax"),
]


@pytest.mark.parametrize(("text", "exit_code", "expected"), CHECKS)
def test_check_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, exit_code: int, expected: str
) -> None:
    path = tmp_path / "merchant.yml"
    path.write_text(text)
    code, out, _ = run(capsys, "check", str(path))
    assert code == exit_code
    assert expected in out


def test_check_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "check", str(tmp_path / "nope.yml"))
    assert code == 1
    assert "nope.yml" in out


def test_check_several_files_fails_if_any_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("colour: red\n")
    code, out, _ = run(capsys, "check", str(DEFAULT_POLICY_PATH), str(bad))
    assert code == 1
    assert "OK" in out
    assert f"{bad}: colour: unknown setting" in out


# --- explain --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "outcome", "code"),
    [
        ("100232", "APPROVE", "damage.confirmed"),
        ("100233", "REJECT", "window.expired"),
        ("100234", "REVIEW", "value.high"),
        ("100236", "REJECT", "not_delivered"),
        ("100237", "APPROVE", "keep_it"),
    ],
)
def test_explain_human(capsys: pytest.CaptureFixture[str], order: str, outcome: str, code: str) -> None:
    (path,) = EXAMPLES.glob(f"{order}_*.json")
    exit_code, out, _ = run(capsys, "explain", "--case", str(path), "--today", "2026-11-26")
    assert exit_code == 0
    assert f"OUTCOME: {outcome}" in out
    assert code in out
    assert "shopper:" in out
    assert "Policy 2026-11-01.1" in out


def test_explain_json_is_the_decision_dict(capsys: pytest.CaptureFixture[str]) -> None:
    (path,) = EXAMPLES.glob("100231_*.json")
    code, out, _ = run(capsys, "explain", "--case", str(path), "--today", "2026-11-26", "--json")
    assert code == 0
    assert json.loads(out) == decide(example_case("100231", TODAY), load_policy()).to_dict()


def test_explain_today_and_policy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    case_file = tmp_path / "case.json"
    case_file.write_text(
        json.dumps(
            {
                "order": {"order_number": "1", "delivered_at": "2026-11-01"},
                "items": [
                    {
                        "item_id": "1",
                        "name": "jacket",
                        "category": "apparel",
                        "price": "80",
                        "reason_code": "doesnt_fit",
                    }
                ],
            }
        )
    )
    assert "OUTCOME: APPROVE" in run(capsys, "explain", "--case", str(case_file), "--today", "2026-11-20")[1]
    assert "OUTCOME: REJECT" in run(capsys, "explain", "--case", str(case_file), "--today", "2026-12-20")[1]
    merchant = tmp_path / "merchant.yml"
    merchant.write_text("windows:\n  apparel: 60\n")
    out = run(
        capsys, "explain", "--case", str(case_file), "--today", "2026-12-20", "--policy", str(merchant)
    )[1]
    assert "OUTCOME: APPROVE" in out


EXPLAIN_ERRORS = [
    # case JSON, expected error
    (
        {"order": {"delivered_days_ago": 2}, "items": [{"item_id": "1", "price": "5"}]},
        "items[0].reason_code: is required",
    ),
    ({"order": {"delivered_days_ago": 2}, "items": []}, "items: must list at least one item"),
    (
        {"order": {"status": "lost"}, "items": [{"item_id": "1", "price": "5", "reason_code": "other"}]},
        "order.status",
    ),
    ({"order": {"delivered_at": "yesterday"}, "items": []}, "order.delivered_at: must be a date"),
    (
        {"order": {}, "items": [{"item_id": "1", "price": "five", "reason_code": "other"}]},
        "items[0].price: must be an amount of money",
    ),
]


@pytest.mark.parametrize(("data", "expected"), EXPLAIN_ERRORS)
def test_explain_bad_case(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: dict, expected: str
) -> None:
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(data))
    code, _, err = run(capsys, "explain", "--case", str(case_file), "--today", "2026-11-26")
    assert code == 1
    assert expected in err


def test_explain_bad_today(capsys: pytest.CaptureFixture[str]) -> None:
    (path,) = EXAMPLES.glob("100231_*.json")
    code, _, err = run(capsys, "explain", "--case", str(path), "--today", "26/11/2026")
    assert code == 1
    assert "--today" in err


# --- summary and the module entry point ------------------------------------------------------------


def test_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "summary")
    assert code == 0
    assert out.splitlines()[1:] == [f"- {line}" for line in load_policy().summary()]
    code, out, _ = run(capsys, "summary", "--json")
    assert json.loads(out)["version"] == "2026-11-01.1"


def test_python_dash_m(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("windows:\n  apparel: 0\n")
    result = subprocess.run(
        [sys.executable, "-m", "policy", "check", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "windows.apparel: must be a positive integer" in result.stdout
