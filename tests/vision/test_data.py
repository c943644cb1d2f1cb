"""Labelled folders (curated set and merchant exports) and the group-aware split."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.vision.conftest import DATASET, product_photo, save_labelled_folder
from vision.data import Example, LabelError, read_folder, split_by_group
from vision.heads import IGNORE, Target


def test_labels_csv_is_read_with_targets(labelled_folder: Path) -> None:
    examples = read_folder(labelled_folder)
    assert len(examples) == 13 and all(e.path.is_file() for e in examples)
    damaged = examples[0]
    assert (damaged.label, damaged.severity, damaged.damage_type) == ("damaged", "severe", "crushed")
    assert damaged.target == Target(verdict=1, severity=1, damage_type=0)
    assert examples[5].target == Target(verdict=0, severity=IGNORE, damage_type=IGNORE)


def test_a_row_without_a_group_is_its_own_group(labelled_folder: Path) -> None:
    examples = read_folder(labelled_folder)
    assert examples[-1].group.endswith("file:images/unusable/12.jpg")
    assert examples[-2].group == examples[-3].group


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("label", "broken", "label 'broken'"),
        ("severity", "huge", "severity 'huge'"),
        ("damage_type", "melted", "damage_type 'melted'"),
    ],
)
def test_bad_rows_name_the_file_and_line(tmp_path: Path, column: str, value: str, message: str) -> None:
    row = {"label": "damaged", "severity": "minor", "damage_type": "torn"} | {column: value}
    folder = save_labelled_folder(tmp_path, [("intact", "none", "", "g")])
    with open(folder / "labels.csv", "a") as handle:
        handle.write(f"images/x.jpg,{row['label']},{row['severity']},{row['damage_type']},,test\n")
    with pytest.raises(LabelError, match=rf"labels.csv:3: {message}"):
        read_folder(folder)


def test_class_folders_work_without_labels_csv(tmp_path: Path) -> None:
    for label in ("damaged", "intact"):
        (tmp_path / label).mkdir()
        product_photo().save(tmp_path / label / "a.jpg")
    (tmp_path / "intact" / "notes.txt").write_text("not a photo")
    examples = read_folder(tmp_path)
    assert sorted(e.label for e in examples) == ["damaged", "intact"]


def test_an_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LabelError, match=r"neither labels\.csv"):
        read_folder(tmp_path)


def _examples(groups: dict[str, list[str]]) -> list[Example]:
    return [
        Example(Path(f"{g}-{i}.jpg"), label, group=g)
        for g, labels in groups.items()
        for i, label in enumerate(labels)
    ]


def test_split_keeps_groups_whole_and_reaches_every_label() -> None:
    groups = {f"d{i}": ["damaged"] * (1 + i % 3) for i in range(20)}
    groups |= {f"i{i}": ["intact"] * (1 + i % 4) for i in range(60)}
    groups |= {f"m{i}": ["intact", "damaged"] for i in range(5)}
    examples = _examples(groups)
    train, val = split_by_group(examples, val_fraction=0.2, seed=1)
    assert len(train) + len(val) == len(examples)
    assert not {e.group for e in train} & {e.group for e in val}
    damaged_share = sum(e.label == "damaged" for e in val) / sum(e.label == "damaged" for e in examples)
    assert 0.15 <= damaged_share <= 0.35
    assert split_by_group(examples, 0.2, seed=1) == (train, val)


@pytest.mark.skipif(not DATASET.is_dir(), reason="the curated dataset is not beside the repo")
def test_curated_split_has_no_near_duplicate_across_sides() -> None:
    train, val = split_by_group(read_folder(DATASET), 0.2, seed=13)
    assert not {e.group for e in train} & {e.group for e in val}
    assert sum(e.label == "damaged" for e in val) >= 15
