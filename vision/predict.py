"""Assess photos from the command line.

    python -m vision.predict PATH... --json

One line per photo. With --json each line is the assessment object plus "path"; a file that
cannot be read gives {"path": ..., "error": ...} and the command exits with 1 at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vision.assess import DamageAssessor
from vision.images import ImageError
from vision.paths import default_model_dir


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vision.predict", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="photo files")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--model", type=Path, default=default_model_dir(), help="model folder (default: %(default)s)"
    )
    parser.add_argument("--heatmap-dir", type=Path, help="also write <name>.heatmap.png overlays here")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: %(default)s)")
    return parser


def _human(record: dict[str, Any]) -> str:
    if "error" in record:
        return f"{record['path']}: ERROR {record['error']}"
    quality = record["quality"]
    verdict = "ok" if quality["ok"] else f"retake ({', '.join(quality['issues'])})"
    return (
        f"{record['path']}: damage {record['damage_probability']:.2f}, severity {record['severity']}, "
        f"type {record['damage_type'] or '-'}, photo {verdict}, {record['latency_ms']} ms"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        assessor = DamageAssessor(args.model, threads=args.threads)
    except (FileNotFoundError, OSError, ValueError) as error:
        print(json.dumps({"error": f"cannot load the model: {error}"}) if args.json else str(error))
        return 2
    failures = 0
    for path in args.paths:
        record: dict[str, Any] = {"path": str(path)}
        try:
            record.update(assessor.assess(path).to_dict())
            if args.heatmap_dir:
                args.heatmap_dir.mkdir(parents=True, exist_ok=True)
                (args.heatmap_dir / f"{path.stem}.heatmap.png").write_bytes(assessor.heatmap_png(path))
        except ImageError as error:
            record["error"] = str(error)
            failures += 1
        print(json.dumps(record) if args.json else _human(record), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
