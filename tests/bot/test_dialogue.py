"""The dialogue with Rasa itself: `rasa data validate` and `rasa test core` on tests/bot/test_stories.yml.

Both run the Rasa CLI of `.venv-rasa` (Python 3.10) as a subprocess; `rasa test core` needs the
trained model (`make rasa-model`, which `make test` builds first; RASA_MODEL_PATH points at another).
Slow: marked e2e.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import missing_prerequisite

ROOT = Path(__file__).resolve().parents[2]
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
MODEL = Path(os.environ.get("RASA_MODEL_PATH", ROOT / "models" / "rasa" / "returns-assistant.tar.gz"))

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not RASA.exists(), reason="the Rasa venv (.venv-rasa) is not installed: make setup"),
]


def rasa(*args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RASA), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_rasa_data_validate() -> None:
    result = rasa(
        "data",
        "validate",
        "--domain",
        "bot/domain",
        "--data",
        "nlu_data",
        "bot/data",
        "--config",
        "config.yml",
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "story structure conflicts" not in result.stdout.replace("No story structure conflicts", "")


def test_every_flow_is_predicted(tmp_path: Path) -> None:
    if not MODEL.exists():
        missing_prerequisite(f"no trained model at {MODEL.relative_to(ROOT)}: run `make rasa-model`")
    result = rasa(
        "test",
        "core",
        "--model",
        str(MODEL),
        "--stories",
        "tests/bot",
        "--fail-on-prediction-errors",
        "--out",
        str(tmp_path / "results"),
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
