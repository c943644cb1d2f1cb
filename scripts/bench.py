"""`make bench`: NLU cross-validation, chat-turn latency next to a stock `rasa init` bot, model latency.

    .venv/bin/python scripts/bench.py [--all | --nlu | --latency | --model] [--folds 5]
        [--shoppers 1,20] [--turns 40] [--min-turns 400] [--out docs/benchmarks.md]

NLU      `rasa test nlu --cross-validation` on nlu_data/ with config.yml (intent macro / weighted
         F1, order_number F1 from every entity extractor's report), and the held-out set
         tests/nlu/test_messages.yml against the trained model.
latency  starts our stack (api + actions + rasa, temporary VAR_DIR migrated and seeded, free ports)
         and a stock `rasa init` bot (trained in a temporary folder, no action server) in the same
         run; simulated shoppers talk to both over the REST channel, 1 and 20 at once (each level
         at least --min-turns messages per bot). Text turns:
         one message -> the bot's whole answer. Photo turns (ours): upload a dataset photo to
         /api/v1/uploads, then `/photo_uploaded{"photo_ids": [...]}` at the photo step of the
         return form -> the bot's answer (assessment and decision).
model    `python -m vision.bench` (damage model alone, one photo at a time).

Prints a table and rewrites the matching block of --out (the rest of the file is kept).
Everything is bounded (counts, timeouts); every process started here is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.run import free_port, healthy  # noqa: E402  (after the path is set)

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
PY = ROOT / ".venv" / "bin" / "python"
RASA_MODEL = ROOT / "models" / "rasa" / "returns-assistant.tar.gz"
HELD_OUT = ROOT / "tests" / "nlu" / "test_messages.yml"
DATASET = ROOT.parent / "shared" / "datasets" / "damage"
SERVICE_TOKEN = "bench-service-token-" + "b" * 16

TEXT_P95_RATIO_GOAL = 1.3
PHOTO_P95_GOAL_MS = 400.0

# Scripted shopper (ours): taps the sensible button, answers what the bot asks.
ORDER, EMAIL = "100232", "raj@example.com"  # the ceramic vase that arrived damaged (DESIGN.md)
PREFERRED = ("arrived damaged", "damaged", "refund", "yes", "submit")
AVOID = ("no", "talk to a person", "stop", "another address", "cancel")
# Stock `rasa init` bot: its greet / mood / affirm / deny / goodbye / bot_challenge intents.
STOCK_MESSAGES = (
    "hi",
    "I am feeling sad",
    "yes",
    "no",
    "great, thanks",
    "are you a bot?",
    "hello there",
    "I am very happy",
    "bye",
)

RASA_ENV = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def run(
    argv: list[str],
    *,
    timeout: float,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    log_file: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run to completion with a wall-clock bound; its whole process group dies on timeout."""
    log("$ " + " ".join(shlex.quote(str(a)) for a in argv))
    full_env = {**os.environ, **RASA_ENV, **(env or {})}
    out = log_file.open("w") if log_file else subprocess.DEVNULL
    proc = subprocess.Popen(
        argv, cwd=cwd, env=full_env, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise TimeoutError(f"{argv[0]} {argv[1] if len(argv) > 1 else ''}: over {timeout:.0f} s") from None
    finally:
        if log_file:
            out.close()  # type: ignore[union-attr]
    if rc != 0:
        tail = log_file.read_text()[-3000:] if log_file and log_file.exists() else ""
        raise RuntimeError(f"exit {rc}: {' '.join(map(str, argv))}\n{tail}")
    return subprocess.CompletedProcess(argv, rc)


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


# -- NLU -------------------------------------------------------------------------------------


def _f1(report: dict[str, Any], key: str) -> float | None:
    row = report.get(key)
    return round(float(row["f1-score"]), 4) if isinstance(row, dict) and "f1-score" in row else None


def read_nlu_reports(folder: Path) -> dict[str, Any]:
    """Intent macro/weighted F1 and, per entity extractor, order_number P/R/F1 from the reports."""
    out: dict[str, Any] = {}
    intent_file = folder / "intent_report.json"
    if intent_file.exists():
        report = json.loads(intent_file.read_text())
        out["intent_macro_f1"] = _f1(report, "macro avg")
        out["intent_weighted_f1"] = _f1(report, "weighted avg")
        out["intent_accuracy"] = round(float(report["accuracy"]), 4) if "accuracy" in report else None
        worst = sorted(
            (
                (k, v["f1-score"])
                for k, v in report.items()
                if isinstance(v, dict) and "f1-score" in v and not k.endswith(" avg")
            ),
            key=lambda kv: kv[1],
        )[:3]
        out["worst_intents"] = [(k, round(float(f), 3)) for k, f in worst]
    extractors: dict[str, Any] = {}
    for path in sorted(folder.glob("*_report.json")):
        name = path.name.removesuffix("_report.json")
        if name in ("intent", "response_selection"):
            continue
        report = json.loads(path.read_text())
        row = report.get("order_number")
        extractors[name] = {
            "order_number_f1": _f1(report, "order_number"),
            "order_number_precision": round(float(row["precision"]), 4) if row else None,
            "order_number_recall": round(float(row["recall"]), 4) if row else None,
            "order_number_support": int(row["support"]) if row else 0,
            "entities_macro_f1": _f1(report, "macro avg"),
        }
    out["entity_extractors"] = extractors
    return out


def bench_nlu(folds: int, work: Path, timeout: float) -> dict[str, Any]:
    result: dict[str, Any] = {"folds": folds}
    cv_dir = work / "nlu-cv"
    started = time.monotonic()
    run(
        [
            str(RASA),
            "test",
            "nlu",
            "--nlu",
            "nlu_data",
            "--config",
            "config.yml",
            "--cross-validation",
            "--folds",
            str(folds),
            "--out",
            str(cv_dir),
        ],
        timeout=timeout,
        log_file=work / "nlu-cv.log",
    )
    result["cv_seconds"] = round(time.monotonic() - started)
    result["cv"] = read_nlu_reports(cv_dir)
    # Mean (std) over the test folds, as Rasa logs them.
    text = (work / "nlu-cv.log").read_text()
    for metric in ("F1-score", "Accuracy"):
        found = re.search(rf"Intent evaluation results[\s\S]*?test {metric}: ([\d.]+) \(([\d.]+)\)", text)
        if found:
            result["cv"][f"intent_test_fold_{metric.lower()}_mean_std"] = (float(found[1]), float(found[2]))
    if HELD_OUT.exists() and RASA_MODEL.exists():
        held_dir = work / "nlu-held-out"
        started = time.monotonic()
        run(
            [
                str(RASA),
                "test",
                "nlu",
                "--nlu",
                str(HELD_OUT.relative_to(ROOT)),
                "--model",
                str(RASA_MODEL.relative_to(ROOT)),
                "--out",
                str(held_dir),
            ],
            timeout=min(timeout, 900),
            log_file=work / "nlu-held-out.log",
        )
        result["held_out_seconds"] = round(time.monotonic() - started)
        result["held_out"] = read_nlu_reports(held_dir)
        result["held_out_examples"] = sum(
            1
            for line in HELD_OUT.read_text().splitlines()
            if line.strip().startswith("- ") and "intent:" not in line
        )
    return result


def nlu_markdown(res: dict[str, Any]) -> list[str]:
    lines = [
        "| data | intent macro F1 | intent weighted F1 | intent accuracy | order_number F1 (extractor) |",
        "| --- | --- | --- | --- | --- |",
    ]

    def row(label: str, rep: dict[str, Any]) -> str:
        ents = rep.get("entity_extractors", {})
        order = (
            ", ".join(
                f"{fmt(v['order_number_f1'], 3)} ({k}, P {fmt(v['order_number_precision'], 3)}, "
                f"R {fmt(v['order_number_recall'], 3)}, n={v['order_number_support']})"
                for k, v in ents.items()
            )
            or "n/a"
        )
        return (
            f"| {label} | {fmt(rep.get('intent_macro_f1'), 3)} | {fmt(rep.get('intent_weighted_f1'), 3)} "
            f"| {fmt(rep.get('intent_accuracy'), 3)} | {order} |"
        )

    lines.append(row(f"nlu_data/, {res['folds']}-fold cross-validation (test folds pooled)", res["cv"]))
    if "held_out" in res:
        lines.append(
            row(
                f"tests/nlu/test_messages.yml held out ({res.get('held_out_examples', '?')} "
                "messages), shipped model",
                res["held_out"],
            )
        )
    lines.append("")
    if res["cv"].get("worst_intents"):
        lines.append(
            "Weakest intents in cross-validation (F1): "
            + ", ".join(f"`{k}` {v}" for k, v in res["cv"]["worst_intents"])
            + "."
        )
    if res.get("held_out", {}).get("worst_intents"):
        lines.append(
            "Weakest intents on the held-out set (F1): "
            + ", ".join(f"`{k}` {v}" for k, v in res["held_out"]["worst_intents"])
            + "."
        )
    mean_std = res["cv"].get("intent_test_fold_f1-score_mean_std")
    if mean_std:
        lines.append(
            f"Per-fold intent F1 (Rasa's weighted F1 per test fold): mean {mean_std[0]:.3f}, "
            f"std {mean_std[1]:.3f}."
        )
    lines.append(
        f"Cross-validation took {res['cv_seconds']} s"
        + (f", the held-out test {res['held_out_seconds']} s." if "held_out_seconds" in res else ".")
    )
    return lines


# -- processes for the latency run ------------------------------------------------------------


@dataclass
class Procs:
    """Everything started for the latency run, stopped in `stop` whatever happened."""

    stack: list[Any] = field(default_factory=list)
    others: list[subprocess.Popen[Any]] = field(default_factory=list)

    def stop(self) -> None:
        if self.stack:
            from scripts.run import stop_stack

            stop_stack(self.stack)
            self.stack = []
        for proc in self.others:
            _kill_group(proc)
        self.others = []


def start_stock_training(work: Path) -> tuple[Path, subprocess.Popen[Any]]:
    """`rasa init --no-prompt` (writes the mood bot and trains it); runs while our stack starts."""
    folder = work / "stock-bot"
    folder.mkdir()
    log_file = (work / "stock-init.log").open("w")
    argv = [str(RASA), "init", "--no-prompt", "--init-dir", str(folder)]
    log("$ " + " ".join(argv))
    proc = subprocess.Popen(
        argv,
        cwd=folder,
        env={**os.environ, **RASA_ENV},
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return folder, proc


def start_stock_server(folder: Path, work: Path, port: int, procs: Procs, timeout: float) -> str:
    models = sorted((folder / "models").glob("*.tar.gz"))
    if not models:
        raise RuntimeError("rasa init trained no model; see " + str(work / "stock-init.log"))
    argv = [
        str(RASA),
        "run",
        "--enable-api",
        "--port",
        str(port),
        "--interface",
        "127.0.0.1",
        "--model",
        str(models[-1]),
        "--credentials",
        "credentials.yml",
        "--endpoints",
        "endpoints.yml",
    ]
    log("$ " + " ".join(argv))
    proc = subprocess.Popen(
        argv,
        cwd=folder,
        env={**os.environ, **RASA_ENV},
        stdout=(work / "stock-run.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    procs.others.append(proc)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while not healthy(url + "/status"):
        if proc.poll() is not None:
            raise RuntimeError(f"the stock bot exited ({proc.returncode}); see {work / 'stock-run.log'}")
        if time.monotonic() > deadline:
            raise TimeoutError("the stock bot did not answer /status in time")
        time.sleep(0.5)
    return url


def start_our_stack(work: Path, procs: Procs, timeout: float) -> tuple[str, str]:
    from scripts.run import isolated_env, migrate_and_seed, start_stack

    var = work / "var"
    var.mkdir()
    api_port, rasa_port, actions_port = free_port(), free_port(), free_port()
    api, rasa = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{rasa_port}"
    ports = (api_port, rasa_port, actions_port)
    env = {**isolated_env(var, ports, name="bench", service_token=SERVICE_TOKEN), **RASA_ENV}
    migrate_and_seed(env)
    sink: list[str] = []
    procs.stack = start_stack(env, ports=ports, log_sink=sink, timeout=timeout)
    procs.stack_log = sink  # type: ignore[attr-defined]
    return api, rasa


# -- shoppers ---------------------------------------------------------------------------------


@dataclass
class Samples:
    text: list[float] = field(default_factory=list)
    photo: list[float] = field(default_factory=list)
    photo_upload: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    conversations: int = 0
    stuck: int = 0
    wall_s: float = 0.0


def dataset_photos(count: int = 8, *, usable_only: bool = False) -> list[bytes]:
    """Damaged photos from the curated dataset; `usable_only`: only those that pass the pixel
    quality gate (a load test measures the system, not how often shoppers must retake a photo)."""
    import csv
    import io

    from PIL import Image

    from vision.quality import pixel_issues

    photos: list[bytes] = []
    labels = DATASET / "labels.csv"
    if labels.exists():
        with labels.open() as fh:
            for row in csv.DictReader(fh):
                if row["label"] != "damaged":
                    continue
                data = (DATASET / row["file"]).read_bytes()
                if usable_only:
                    with Image.open(io.BytesIO(data)) as image:
                        if pixel_issues(image.convert("RGB")):
                            continue
                photos.append(data)
                if len(photos) >= count:
                    break
    if not photos:
        raise RuntimeError(f"no {'usable ' if usable_only else ''}damaged photos under {DATASET}")
    return photos


def _pick(buttons: list[dict[str, Any]]) -> dict[str, Any]:
    titles = [str(b.get("title", "")).lower() for b in buttons]
    for wanted in PREFERRED:
        for index, title in enumerate(titles):
            if wanted in title:
                return buttons[index]
    for index, title in enumerate(titles):
        if not title.startswith(AVOID):
            return buttons[index]
    return buttons[0]


async def _say(client: Any, rasa: str, sender: str, message: str) -> tuple[float, list[dict[str, Any]]]:
    started = time.perf_counter()
    resp = await client.post(f"{rasa}/webhooks/rest/webhook", json={"sender": sender, "message": message})
    elapsed = (time.perf_counter() - started) * 1000
    resp.raise_for_status()
    return elapsed, list(resp.json())


async def pause(think_s: float) -> None:
    """A shopper reading the answer and typing: `think_s` on average (0.5x to 1.5x), not timed."""
    if think_s > 0:
        await asyncio.sleep(random.uniform(0.5, 1.5) * think_s)


async def our_shopper(
    client: Any,
    rasa: str,
    api: str,
    index: int,
    turns: int,
    deadline: float,
    photos: list[bytes],
    out: Samples,
    think_s: float = 0.0,
) -> None:
    """Conversations until `turns` messages are sent: greet, start a return, answer, photo, next."""
    sent, conversation = 0, 0
    while sent < turns and time.monotonic() < deadline:
        conversation += 1
        sender = f"bench-{index}-{conversation}-{random.randrange(1 << 30)}"
        out.conversations += 1
        queue = ["hi", "i want to return my order"]
        photo_done = False
        for _ in range(14):  # bound per conversation
            if sent >= turns or time.monotonic() > deadline:
                return
            if queue:
                message = queue.pop(0)
                await pause(think_s)
                elapsed, replies = await _say(client, rasa, sender, message)
                out.text.append(elapsed)
                sent += 1
            else:
                break
            text = " ".join(str(r.get("text") or "") for r in replies)
            lowered = text.lower()
            buttons = next((r["buttons"] for r in reversed(replies) if r.get("buttons")), [])
            if (
                "photo" in lowered
                and ("send" in lowered or "📎" in text or "retake" in lowered)
                and not photo_done
            ):
                photo = photos[(index + conversation) % len(photos)]
                await pause(think_s)
                started = time.perf_counter()
                resp = await client.post(
                    f"{api}/api/v1/uploads",
                    files={"file": ("photo.jpg", photo, "image/jpeg")},
                    data={"conversation_id": sender},
                )
                upload_ms = (time.perf_counter() - started) * 1000
                if resp.status_code != 201:
                    out.errors.append(f"upload {resp.status_code}: {resp.text[:200]}")
                    break
                payload = "/photo_uploaded" + json.dumps({"photo_ids": [resp.json()["photo_id"]]})
                elapsed, replies = await _say(client, rasa, sender, payload)
                out.photo.append(upload_ms + elapsed)
                out.photo_upload.append(upload_ms)
                sent += 1
                photo_done = True
                break  # the decision is the end of what we time; next conversation
            if "return number is" in lowered:
                break
            if queue:  # still in the scripted opening
                continue
            if buttons:
                button = _pick(buttons)
                queue.append(str(button.get("payload") or button.get("title")))
            elif "order number" in lowered:
                queue.append(ORDER)
            elif "email" in lowered or "postcode" in lowered:
                queue.append(EMAIL)
            elif "reason" in lowered or "why" in lowered:
                queue.append("it arrived damaged")
            else:
                out.stuck += 1
                if out.stuck <= 3:
                    out.errors.append(f"no answer for {text[:160]!r} (after {message!r})")
                break


async def stock_shopper(
    client: Any, rasa: str, index: int, turns: int, deadline: float, out: Samples, think_s: float = 0.0
) -> None:
    conversation = 0
    sent = 0
    while sent < turns and time.monotonic() < deadline:
        conversation += 1
        sender = f"stock-{index}-{conversation}-{random.randrange(1 << 30)}"
        out.conversations += 1
        for message in STOCK_MESSAGES:
            if sent >= turns or time.monotonic() > deadline:
                return
            await pause(think_s)
            elapsed, _ = await _say(client, rasa, sender, message)
            out.text.append(elapsed)
            sent += 1


async def drive(
    kind: str,
    shoppers: int,
    turns: int,
    budget_s: float,
    *,
    rasa: str,
    api: str = "",
    photos: list[bytes] | None = None,
    think_s: float = 0.0,
) -> Samples:
    import httpx

    out = Samples()
    limits = httpx.Limits(max_connections=shoppers * 2 + 4, max_keepalive_connections=shoppers * 2 + 4)
    async with httpx.AsyncClient(timeout=httpx.Timeout(90.0), limits=limits) as client:
        deadline = time.monotonic() + budget_s
        started = time.monotonic()

        async def guarded(coro: Any) -> None:
            try:
                await coro
            except Exception as exc:  # one shopper's failure is counted, the others go on
                out.errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")

        if kind == "ours":
            tasks = [
                guarded(our_shopper(client, rasa, api, i, turns, deadline, photos or [], out, think_s))
                for i in range(shoppers)
            ]
        else:
            tasks = [
                guarded(stock_shopper(client, rasa, i, turns, deadline, out, think_s))
                for i in range(shoppers)
            ]
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=budget_s + 120)
        out.wall_s = time.monotonic() - started
    return out


def bench_latency(
    shopper_levels: list[int],
    turns: int,
    work: Path,
    start_timeout: float,
    level_budget: float,
    min_turns: int = 0,
    think_s: float = 0.0,
) -> dict[str, Any]:
    procs = Procs()
    result: dict[str, Any] = {
        "turns_per_shopper": turns,
        "min_turns_per_level": min_turns,
        "think_s": think_s,
        "levels": [],
    }
    try:
        stock_folder, init_proc = start_stock_training(work)
        procs.others.append(init_proc)
        started = time.monotonic()
        api, rasa = start_our_stack(work, procs, timeout=start_timeout)
        log(f"our stack is up ({time.monotonic() - started:.0f} s): api {api}, rasa {rasa}")
        try:
            init_proc.wait(timeout=max(60.0, start_timeout * 2 - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            raise TimeoutError("rasa init did not finish training in time") from None
        if init_proc.returncode != 0:
            raise RuntimeError(f"rasa init failed ({init_proc.returncode}); see {work / 'stock-init.log'}")
        result["stock_train_s"] = round(time.monotonic() - started)
        stock = start_stock_server(stock_folder, work, free_port(), procs, timeout=start_timeout)
        log(f"stock bot is up: {stock}")
        photos = dataset_photos()
        # Warm-up: the first turns load lazily (TF graphs, the damage model, SQLite files).
        asyncio.run(drive("ours", 1, 8, 180, rasa=rasa, api=api, photos=photos))
        asyncio.run(drive("stock", 1, 5, 60, rasa=stock))
        for shoppers in shopper_levels:
            # Every level sends at least `min_turns` messages in all: with one shopper, 100 turns
            # put the p95 on the 4th-slowest text turn, which moved the ratio by 0.2 between runs.
            per_shopper = max(turns, -(-min_turns // shoppers))
            # Alternate which bot goes first between levels so drift in the machine's load hits both.
            for kind in ("stock", "ours") if shoppers % 2 else ("ours", "stock"):
                log(f"{kind}: {shoppers} shopper(s) x {per_shopper} turns")
                samples = asyncio.run(
                    drive(
                        kind,
                        shoppers,
                        per_shopper,
                        level_budget,
                        rasa=rasa if kind == "ours" else stock,
                        api=api,
                        photos=photos,
                        think_s=think_s,
                    )
                )
                result["levels"].append({"bot": kind, "shoppers": shoppers, **summarise(samples)})
                log(json.dumps(result["levels"][-1])[:400])
    finally:
        procs.stop()
        (work / "stack.log").write_text("\n".join(getattr(procs, "stack_log", [])) + "\n")
    return result


def summarise(samples: Samples) -> dict[str, Any]:
    def stats(values: list[float]) -> dict[str, Any]:
        return {
            "n": len(values),
            **{f"p{q}": round(percentile(values, q), 1) if values else None for q in (50, 95, 99)},
        }

    return {
        "text": stats(samples.text),
        "photo": stats(samples.photo),
        "photo_upload": stats(samples.photo_upload),
        "conversations": samples.conversations,
        "turns_per_s": round((len(samples.text) + len(samples.photo)) / samples.wall_s, 1)
        if samples.wall_s
        else None,
        "wall_s": round(samples.wall_s, 1),
        "errors": len(samples.errors),
        "error_examples": samples.errors[:3],
    }


def latency_verdicts(res: dict[str, Any]) -> list[dict[str, Any]]:
    verdicts = []
    by = {(lv["bot"], lv["shoppers"]): lv for lv in res["levels"]}
    for shoppers in sorted({lv["shoppers"] for lv in res["levels"]}):
        ours, stock = by.get(("ours", shoppers)), by.get(("stock", shoppers))
        entry: dict[str, Any] = {"shoppers": shoppers}
        if ours and stock and ours["text"]["p95"] and stock["text"]["p95"]:
            ratio = ours["text"]["p95"] / stock["text"]["p95"]
            entry["text_p95_ratio"] = round(ratio, 2)
            entry["text_goal_met"] = ratio <= TEXT_P95_RATIO_GOAL
        if ours and ours["photo"]["p95"] is not None:
            entry["photo_p95_ms"] = ours["photo"]["p95"]
            entry["photo_goal_met"] = ours["photo"]["p95"] <= PHOTO_P95_GOAL_MS
        verdicts.append(entry)
    return verdicts


def latency_markdown(res: dict[str, Any]) -> list[str]:
    lines = [
        "| bot | shoppers at once | turn | n | p50 ms | p95 ms | p99 ms | turns/s | errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for lv in res["levels"]:
        kinds = [("text", "text")] + (
            [("photo", "photo (upload + answer)"), ("photo_upload", "… upload alone")]
            if lv["bot"] == "ours"
            else []
        )
        for key, label in kinds:
            s = lv[key]
            if not s["n"]:
                continue
            bot = "ours" if lv["bot"] == "ours" else "stock `rasa init`"
            lines.append(
                f"| {bot} | {lv['shoppers']} | {label} | {s['n']} | {fmt(s['p50'])} | {fmt(s['p95'])} "
                f"| {fmt(s['p99'])} | {fmt(lv['turns_per_s'], 1) if key == 'text' else ''} "
                f"| {lv['errors'] if key == 'text' else ''} |"
            )
    lines += [
        "",
        "| shoppers at once | text p95 ours / stock (goal <= 1.3) | photo turn p95 (goal <= 400 ms) |",
        "| --- | --- | --- |",
    ]
    for v in latency_verdicts(res):
        ratio = (
            f"{v['text_p95_ratio']:.2f}: {'met' if v['text_goal_met'] else 'NOT met'}"
            if "text_p95_ratio" in v
            else "n/a"
        )
        photo = (
            f"{v['photo_p95_ms']:.0f} ms: {'met' if v['photo_goal_met'] else 'NOT met'}"
            if "photo_p95_ms" in v
            else "n/a"
        )
        lines.append(f"| {v['shoppers']} | {ratio} | {photo} |")
    examples = [e for lv in res["levels"] for e in lv["error_examples"]]
    if examples:
        lines += ["", "Errors seen (first few): " + "; ".join(f"`{e[:150]}`" for e in examples[:4])]
    lines += [
        "",
        f"Stock bot: `rasa init --no-prompt` trained in this run ({res.get('stock_train_s', '?')} s, "
        "while our stack started), served with `rasa run --enable-api`, in-memory tracker store, "
        "no action server. Ours: api + actions + rasa from `scripts/run.py`, SQLite tracker store "
        "and backend in a temporary VAR_DIR.",
    ]
    if res.get("think_s"):
        lines += [
            "",
            f"Each simulated shopper waited {res['think_s']:g} s on average (0.5x to 1.5x) before each "
            "message, as a person reading and typing does (`--think`); without it the shoppers send "
            "their next message the moment an answer arrives.",
        ]
    return lines


# -- model latency ----------------------------------------------------------------------------


def bench_model(work: Path, photos: int, timeout: float) -> dict[str, Any]:
    log_file = work / "vision-bench.log"
    run(
        [str(PY), "-m", "vision.bench", "--photos", str(photos)],  # the action server's threads
        timeout=timeout,
        log_file=log_file,
        env={"PYTHONPATH": str(ROOT)},
    )
    text = log_file.read_text()
    return dict(json.loads(text[text.index("{") : text.rindex("}") + 1]))


def model_markdown(res: dict[str, Any]) -> list[str]:
    return [
        "| photos | threads | p50 ms | p95 ms | load s | peak RSS MB | weights MB | model |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {res.get('photos')} | {res.get('threads')} | {res.get('p50_ms')} | {res.get('p95_ms')} "
        f"| {res.get('load_s')} | {res.get('peak_rss_mb')} | {res.get('model_file_mb')} "
        f"| {res.get('model_version')} |",
    ]


# -- the document -----------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}; "
        f"load average at the start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min)"
    )


DOC_HEAD = """# Benchmarks

`make bench` runs `scripts/bench.py` (`--help` lists the options): NLU cross-validation, chat-turn
latency of our stack next to a stock `rasa init` bot started in the same run, and the damage model's
own latency. Each part rewrites only its own block below, between its `bench:` markers, so the parts
can be run separately (`--nlu`, `--latency`, `--model`).

Goals (issue 5): text-turn p95 <= 1.3 x the stock bot's; photo turn (upload + assess + decide)
p95 <= 400 ms on 2 cores.

How the latency is measured: simulated shoppers (asyncio + httpx, one REST conversation each at a
time) talk to `/webhooks/rest/webhook`; a turn is one message until the bot's whole answer (the REST
channel answers after every action of the turn, action-server calls included). Our shopper greets,
asks for a return, gives order 100232 and its email, taps the sensible buttons (item, "arrived
damaged"), and at the photo step uploads a real dataset photo to `/api/v1/uploads` and sends
`/photo_uploaded{"photo_ids": [...]}`: the photo turn is upload + that answer (assessment and
decision); the conversation then ends and a new one starts, so no return is written. The stock
shopper cycles through greet / mood / affirm / deny / bot_challenge / goodbye messages. A warm-up
conversation on each bot is not counted.

<!-- bench:nlu -->
## NLU

Not run yet: `scripts/bench.py --nlu`.
<!-- /bench:nlu -->

<!-- bench:latency -->
## Turn latency

Not run yet: `scripts/bench.py --latency`.
<!-- /bench:latency -->

<!-- bench:model -->
## Damage model alone

Not run yet: `scripts/bench.py --model`.
<!-- /bench:model -->
"""


def replace_block(doc: str, name: str, body: list[str]) -> str:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = "\n".join([start, *body, end])
    if start in doc and end in doc:
        return doc[: doc.index(start)] + block + doc[doc.index(end) + len(end) :]
    return doc.rstrip("\n") + "\n\n" + block + "\n"


def write_doc(path: Path, blocks: dict[str, list[str]]) -> None:
    doc = path.read_text() if path.exists() else DOC_HEAD
    for name in ("nlu", "latency", "model"):
        if name in blocks:
            doc = replace_block(doc, name, blocks[name])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if doc.endswith("\n") else doc + "\n")


def header(title: str, command: str, started: datetime, seconds: float, note: str) -> list[str]:
    lines = [
        f"## {title}",
        "",
        f"- command: `{command}`",
        f"- date: {started:%Y-%m-%d %H:%M} UTC, took {seconds / 60:.1f} min",
        f"- machine: {machine()}",
    ]
    if note:
        lines.append(f"- note: {note}")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/bench.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parts = parser.add_argument_group("parts (default: --all)")
    parts.add_argument("--all", action="store_true", help="NLU, latency and model")
    parts.add_argument("--nlu", action="store_true", help="NLU cross-validation and held-out test")
    parts.add_argument(
        "--latency", action="store_true", help="turn latency, ours next to a stock rasa init bot"
    )
    parts.add_argument("--model", action="store_true", help="damage model latency (python -m vision.bench)")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    parser.add_argument("--shoppers", default="1,20", help="comma-separated numbers of shoppers at once")
    parser.add_argument(
        "--turns",
        type=int,
        default=40,
        help="messages per shopper per bot and level (ours: about 1 in 7 is a photo turn)",
    )
    parser.add_argument(
        "--min-turns",
        type=int,
        default=400,
        help="messages per bot and level at least, whatever the number of shoppers (the p95 of one "
        "shopper needs enough turns)",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="seconds each simulated shopper waits on average before a message (not timed; default 0: "
        "back to back, the machine saturated)",
    )
    parser.add_argument("--photos", type=int, default=30, help="photos timed by vision.bench")
    parser.add_argument(
        "--level-budget",
        type=float,
        default=420,
        help="seconds at most per bot and level; shoppers stop when it is spent",
    )
    parser.add_argument("--start-timeout", type=float, default=480, help="seconds to start / train each bot")
    parser.add_argument(
        "--nlu-timeout", type=float, default=5400, help="seconds at most for cross-validation"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "docs" / "benchmarks.md",
        help="markdown file whose bench blocks are rewritten; '-' writes nothing",
    )
    parser.add_argument(
        "--note", default="", help="a line written next to the numbers (e.g. the machine's load)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (reports, logs)")
    args = parser.parse_args(argv)
    # A plain `kill` still runs the finally blocks that stop every process started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not (args.nlu or args.latency or args.model):
        args.all = True
    levels = [int(s) for s in args.shoppers.split(",") if s.strip()]
    if not RASA.exists():
        parser.error(f"{RASA.relative_to(ROOT)} is missing: make setup")
    if (args.all or args.latency) and not RASA_MODEL.exists():
        parser.error(f"{RASA_MODEL.relative_to(ROOT)} is missing: make rasa-model")
    command = ".venv/bin/python scripts/bench.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    log(f"work folder {work}")
    blocks: dict[str, list[str]] = {}
    results: dict[str, Any] = {}
    failed = False
    try:
        if args.all or args.nlu:
            started, t0 = datetime.now(UTC), time.monotonic()
            try:
                results["nlu"] = bench_nlu(args.folds, work, args.nlu_timeout)
                blocks["nlu"] = header(
                    "NLU", command, started, time.monotonic() - t0, args.note
                ) + nlu_markdown(results["nlu"])
            except (RuntimeError, TimeoutError, OSError) as exc:
                failed = True
                log(f"NLU failed: {exc}")
        if args.all or args.latency:
            started, t0 = datetime.now(UTC), time.monotonic()
            try:
                results["latency"] = bench_latency(
                    levels,
                    args.turns,
                    work,
                    args.start_timeout,
                    args.level_budget,
                    args.min_turns,
                    args.think,
                )
                blocks["latency"] = header(
                    "Turn latency", command, started, time.monotonic() - t0, args.note
                ) + latency_markdown(results["latency"])
            except (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError) as exc:
                failed = True
                log(f"latency failed: {exc}")
        if args.all or args.model:
            started, t0 = datetime.now(UTC), time.monotonic()
            try:
                results["model"] = bench_model(work, args.photos, timeout=900)
                blocks["model"] = header(
                    "Damage model alone", command, started, time.monotonic() - t0, args.note
                ) + model_markdown(results["model"])
            except (RuntimeError, TimeoutError, OSError, ValueError) as exc:
                failed = True
                log(f"model failed: {exc}")
    finally:
        if args.keep or failed:
            log(f"kept {work} (reports and logs)")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=1, default=str), file=sys.stderr)
    for body in blocks.values():
        print("\n".join(body) + "\n")
    if blocks and str(args.out) != "-":
        write_doc(args.out, blocks)
        log(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
