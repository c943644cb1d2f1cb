"""Default locations, each overridable by an environment variable or a CLI flag.

The curated photos sit beside the repository (``../shared/datasets/damage``), where CI has
them too; the shipped model is ``models/damage``. ``DAMAGE_MODEL_DIR`` is the variable the
API settings read as well, so one setting moves the model for every process.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_ENV = "DAMAGE_DATA_DIR"
MODEL_ENV = "DAMAGE_MODEL_DIR"


def default_data_dir() -> Path:
    return Path(os.environ.get(DATA_ENV, REPO_ROOT.parent / "shared" / "datasets" / "damage"))


def default_model_dir() -> Path:
    return Path(os.environ.get(MODEL_ENV, REPO_ROOT / "models" / "damage"))
