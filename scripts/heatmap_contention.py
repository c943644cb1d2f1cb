"""The action server's photo work under a burst: assessments with heatmaps side by side or queued.

    .venv/bin/python scripts/heatmap_contention.py [--shoppers 20] [--photos 6] [--think-ms 150]

Each simulated shopper sends --photos dataset photos one after another (--think-ms between them,
the rest of a turn happening elsewhere). Every photo is assessed in a pool of 6 threads (asyncio's
default executor on 2 CPUs, where the action server runs it) and then gets its heatmap, drawn
either "side by side" in that same pool (how it was done before) or "queued" as the action server
does now (`actions.photos`: one at a time, in its own thread, after the assessments in flight).
Prints the assessment latency a shopper waits for and when the last heatmap was ready, for both.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from actions import photos
from vision.assess import get_assessor
from vision.paths import default_data_dir


def burst(mode: str, datas: list[bytes], shoppers: int, per_shopper: int, think_s: float) -> str:
    assessor = get_assessor()
    shared = ThreadPoolExecutor(max_workers=6)
    waits: list[float] = []
    heatmaps: list[Future[object]] = []
    lock = threading.Lock()
    assess: Callable[[bytes], object] = photos._assess_sync if mode == "queued" else assessor.assess

    def shopper(k: int) -> None:
        for i in range(per_shopper):
            data = datas[(k * per_shopper + i) % len(datas)]
            start = time.perf_counter()
            shared.submit(assess, data).result()
            if mode == "queued":
                heatmap = photos._heatmap_pool.submit(photos._heatmap_sync, data)
            else:
                heatmap = shared.submit(assessor.heatmap_png, data)
            with lock:
                waits.append((time.perf_counter() - start) * 1000)
                heatmaps.append(heatmap)
            time.sleep(think_s)

    began = time.perf_counter()
    threads = [threading.Thread(target=shopper, args=(k,)) for k in range(shoppers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    photos_done = time.perf_counter() - began
    for heatmap in heatmaps:
        heatmap.result()
    shared.shutdown()
    waits.sort()
    p50, p95 = waits[len(waits) // 2], waits[min(len(waits) - 1, int(len(waits) * 0.95))]
    return (
        f"{mode:12} assessment p50 {p50:4.0f} ms, p95 {p95:4.0f} ms; last photo assessed after "
        f"{photos_done:.1f} s, last heatmap after {time.perf_counter() - began:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=20, help="shoppers at once (default: %(default)s)")
    parser.add_argument("--photos", type=int, default=6, help="photos per shopper (default: %(default)s)")
    parser.add_argument(
        "--think-ms", type=float, default=150, help="pause between photos (default: %(default)s)"
    )
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="photos (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.shoppers < 1 or args.photos < 1 or args.think_ms < 0:
        parser.error("--shoppers and --photos must be at least 1, --think-ms at least 0")
    files = sorted(p for p in (args.data / "images").rglob("*") if p.is_file())[:40]
    if not files:
        parser.error(f"no photos under {args.data / 'images'}")
    datas = [p.read_bytes() for p in files]
    assessor = get_assessor()  # loaded and warmed up before timing
    assessor.assess(datas[0])
    assessor.heatmap_png(datas[0])
    for mode in ("side by side", "queued", "side by side", "queued"):
        print(burst(mode, datas, args.shoppers, args.photos, args.think_ms / 1000), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
