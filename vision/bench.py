"""Latency, memory and size of the served model.

    python -m vision.bench [--photos 50] [--threads 1]

Times ``DamageAssessor.assess`` (decode, preprocess, model, quality gate) one photo at a time
and prints p50/p95 latency, the process's peak resident memory and the weights' file size.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import time
from pathlib import Path

import numpy as np
from PIL import Image

from vision.assess import SERVING_THREADS, THREADS_ENV, DamageAssessor, serving_threads
from vision.data import IMAGE_SUFFIXES
from vision.paths import default_data_dir, default_model_dir


def sample_photos(data_dir: Path, count: int) -> list[bytes]:
    """JPEG bytes of dataset photos (as a shopper would send them), or synthetic ones."""
    files = sorted(p for p in data_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[:count]
    if files:
        return [p.read_bytes() for p in files]
    rng = np.random.default_rng(0)
    photos = []
    for _ in range(count):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)).save(buffer, "JPEG")
        photos.append(buffer.getvalue())
    return photos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vision.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", type=Path, default=default_model_dir(), help="model folder (default: %(default)s)"
    )
    parser.add_argument(
        "--data", type=Path, default=default_data_dir(), help="photos to time (default: %(default)s)"
    )
    parser.add_argument(
        "--photos", type=int, default=50, help="how many photos to time (default: %(default)s)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help=f"torch CPU threads (default: as served, ${THREADS_ENV} or else {SERVING_THREADS})",
    )
    args = parser.parse_args(argv)
    if args.threads is None:
        try:
            args.threads = serving_threads()
        except ValueError as error:
            parser.error(str(error))
    elif args.threads < 1:
        parser.error("--threads must be 1 or more")

    load_started = time.perf_counter()
    assessor = DamageAssessor(args.model, threads=args.threads)
    load_seconds = time.perf_counter() - load_started
    photos = sample_photos(args.data, args.photos)
    for photo in photos[:5]:  # warm-up: first calls allocate
        assessor.assess(photo)
    latencies = []
    for photo in photos:
        started = time.perf_counter()
        assessor.assess(photo)
        latencies.append((time.perf_counter() - started) * 1000)
    weights = args.model / "model.safetensors"
    report = {
        "photos": len(latencies),
        "threads": args.threads,
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "load_s": round(load_seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "model_file_mb": round(weights.stat().st_size / 2**20, 2) if weights.is_file() else None,
        "model_version": assessor.model_version,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
