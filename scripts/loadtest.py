"""`make loadtest`: shoppers each return a damaged vase with a photo through the production
topology on this machine (scripts/prod_local.py: nginx, 2 Rasa, 2 action servers, gunicorn,
PostgreSQL, Redis, S3), while one Rasa instance and one action server are killed (SIGKILL) midway
and started again.

Each shopper talks to nginx like the widget's REST fallback would: opening line, order number,
email, item, reason, photo (uploaded to /api/v1/uploads), resolution, pickup slot, address,
confirmation, until the bot gives a return number. A shopper who gets an error page, no answer
or the bot's "try again in a moment" waits 3 s and sends the same message again (what a person
does); that counts as an error seen. Afterwards the script checks the backend's database and
Rasa's tracker store: every return the shopper was told about exists, no order has two returns,
every conversation still holds its whole history. Results go to var/loadtest/result.json and,
with --write-doc, into docs/deploy.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.bench import dataset_photos, machine, percentile, replace_block
from scripts.prod_local import POSTGRES, Ports, Running, Topology, start
from scripts.run import ROOT

RMA = re.compile(r"return number is (RMA-[A-Z0-9-]+)", re.IGNORECASE)
REFUSED = re.compile(r"can't be returned|cannot be returned|not returnable|I'm sorry: ", re.IGNORECASE)
RETRY_TEXT = "try again"
PREFERRED = ("damaged", "broken", "refund", "yes", "submit", "confirm", "that's right", "correct")
AVOID = ("no", "talk to", "stop", "another address", "cancel", "exchange", "store credit")
POSTCODES = ("94107", "10001", "60601", "02139", "73301", "98101", "30301")
FIRST_ORDER = 810001


@dataclass
class Shopper:
    index: int
    order: str
    email: str
    sender: str
    rma: str | None = None
    outcome: str = "running"  # completed | refused | gave_up
    answered_turns: int = 0
    errors_seen: list[str] = field(default_factory=list)
    told_to_retry: int = 0
    transcript: list[str] = field(default_factory=list)


@dataclass
class Samples:
    text_ms: list[float] = field(default_factory=list)
    photo_ms: list[float] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


class GaveUp(Exception):
    pass


def load_orders(count: int) -> list[Any]:
    from api.seed import DEMO_ORDERS, DemoOrder

    vase = next(item for order in DEMO_ORDERS for item in order.items if item.sku == "VASE-CER-01")
    return [
        DemoOrder(
            str(FIRST_ORDER + i),
            f"shopper{i}@load.example",
            f"Load Shopper {i}",
            POSTCODES[i % len(POSTCODES)],
            "Testville",
            f"{100 + i} Market St",
            2,
            (vase,),
        )
        for i in range(count)
    ]


async def say(
    client: Any,
    url: str,
    shopper: Shopper,
    message: str,
    samples: Samples,
    shown: str | None = None,
    photo: bool = False,
    upload_ms: float = 0.0,
) -> list[dict[str, Any]]:
    """One turn, retried like a person would when the answer is an error or 'try again'."""
    import httpx

    shopper.transcript.append(f"shopper: {shown or message}")
    for _attempt in range(8):
        started = time.perf_counter()
        problem = ""
        try:
            resp = await client.post(url, json={"sender": shopper.sender, "message": message})
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}"
        else:
            if resp.status_code != 200:
                problem = f"HTTP {resp.status_code}"
            else:
                replies: list[dict[str, Any]] = resp.json()
                text = " ".join(str(r.get("text") or "") for r in replies)
                if not replies:
                    problem = "no answer"
                elif RETRY_TEXT in text.lower() and not RMA.search(text):
                    shopper.told_to_retry += 1
                    problem = "told to try again"
                else:
                    elapsed = (time.perf_counter() - started) * 1000
                    (samples.photo_ms if photo else samples.text_ms).append(elapsed + upload_ms)
                    shopper.answered_turns += 1
                    for reply in replies:
                        buttons = [b.get("title") for b in reply.get("buttons", [])]
                        shopper.transcript.append(f"bot: {reply.get('text', '')} {buttons or ''}".rstrip())
                    return replies
        shopper.errors_seen.append(problem)
        shopper.transcript.append(f"  ({problem}; the shopper waits and sends it again)")
        await asyncio.sleep(3)
    raise GaveUp(f"no answer to {shown or message!r} after 8 tries")


def pick(buttons: list[dict[str, Any]]) -> dict[str, Any]:
    titles = [str(b.get("title", "")).lower() for b in buttons]
    for wanted in PREFERRED:
        for button, title in zip(buttons, titles, strict=True):
            if wanted in title:
                return button
    for button, title in zip(buttons, titles, strict=True):
        if not title.startswith(AVOID):
            return button
    return buttons[0]


async def upload(client: Any, base: str, shopper: Shopper, photo: bytes) -> tuple[str, float]:
    import httpx

    for _attempt in range(8):
        started = time.perf_counter()
        try:
            resp = await client.post(
                f"{base}/api/v1/uploads",
                files={"file": ("vase.jpg", photo, "image/jpeg")},
                data={"conversation_id": shopper.sender},
            )
            if resp.status_code == 201:
                return str(resp.json()["photo_id"]), (time.perf_counter() - started) * 1000
            shopper.errors_seen.append(f"upload HTTP {resp.status_code}")
        except httpx.HTTPError as exc:
            shopper.errors_seen.append(f"upload {type(exc).__name__}")
        await asyncio.sleep(3)
    raise GaveUp("the photo upload kept failing")


OPENING = "hi my vase arrived broken, i want to return it"


async def converse(
    client: Any,
    base: str,
    shopper: Shopper,
    photos: list[bytes],
    samples: Samples,
    replies: list[dict[str, Any]] | None = None,
) -> None:
    """Answer the bot until it gives a return number (or refuses); `replies` continues a
    conversation already started."""
    url = f"{base}/webhooks/rest/webhook"
    if replies is None:
        replies = await say(client, url, shopper, OPENING, samples)
    photos_sent = 0
    for _turn in range(30):
        text = " ".join(str(r.get("text") or "") for r in replies)
        lowered = text.lower()
        if match := RMA.search(text):
            shopper.rma, shopper.outcome = match.group(1), "completed"
            return
        if REFUSED.search(text):
            shopper.outcome = "refused"
            return
        buttons = next((r["buttons"] for r in reversed(replies) if r.get("buttons")), [])
        if (
            "photo" in lowered
            and ("send" in lowered or "retake" in lowered or "📎" in text)
            and photos_sent < 4
        ):
            photo = photos[(shopper.index + photos_sent) % len(photos)]  # a retake is another photo
            photo_id, upload_ms = await upload(client, base, shopper, photo)
            photos_sent += 1
            payload = '/photo_uploaded{"photo_ids": ["' + photo_id + '"]}'
            replies = await say(
                client, url, shopper, payload, samples, shown="<photo>", photo=True, upload_ms=upload_ms
            )
        elif buttons:
            button = pick(buttons)
            replies = await say(
                client,
                url,
                shopper,
                str(button.get("payload") or button["title"]),
                samples,
                shown=f"taps {button.get('title')!r}",
            )
        elif "order number" in lowered or "order no" in lowered:
            replies = await say(client, url, shopper, f"it's #{shopper.order}", samples)
        elif "email" in lowered or "postcode" in lowered or "zip" in lowered:
            replies = await say(client, url, shopper, shopper.email, samples)
        elif "reason" in lowered or "why" in lowered:
            replies = await say(client, url, shopper, "it arrived broken", samples)
        else:
            raise GaveUp(f"the shopper does not know how to answer {text[:200]!r}")
    raise GaveUp("no outcome after 30 turns")


def chaos(
    running: Running, kill_after: float, down_for: float, samples: Samples, done: threading.Event, t0: float
) -> None:
    """Kill one Rasa instance and one action server, then start them again (kill_after < 0: never)."""
    if kill_after < 0:
        samples.events.append("no instance killed (baseline run)")
        return
    if done.wait(kill_after):
        samples.events.append("all shoppers finished before the kill time")
        return
    for name in ("rasa-1", "actions-1"):
        running.kill(name)
        samples.events.append(f"{time.monotonic() - t0:6.1f} s  SIGKILL {name}")
    time.sleep(down_for)
    for name in ("rasa-1", "actions-1"):
        samples.events.append(f"{time.monotonic() - t0:6.1f} s  restarting {name}")
    threads = []
    for name in ("rasa-1", "actions-1"):

        def restart(service: str = name) -> None:
            seconds = running.restart(service)
            samples.events.append(
                f"{time.monotonic() - t0:6.1f} s  {service} healthy again ({seconds:.0f} s to start)"
            )

        threads.append(threading.Thread(target=restart, daemon=True))
        threads[-1].start()
    for thread in threads:
        thread.join()


async def run_shoppers(
    running: Running, shoppers: list[Shopper], ramp_s: float, kill_after: float, down_for: float
) -> tuple[Samples, float]:
    import httpx

    samples = Samples()
    photos = dataset_photos(8, usable_only=True)
    base = running.topology.public_url
    done = threading.Event()
    t0 = time.monotonic()
    killer = threading.Thread(
        target=chaos, args=(running, kill_after, down_for, samples, done, t0), daemon=True
    )
    killer.start()
    limits = httpx.Limits(max_connections=len(shoppers) * 2 + 4, max_keepalive_connections=len(shoppers) + 4)
    async with httpx.AsyncClient(timeout=httpx.Timeout(120.0), limits=limits) as client:

        async def one(shopper: Shopper) -> None:
            await asyncio.sleep(ramp_s * shopper.index / max(len(shoppers), 1))
            try:
                await converse(client, base, shopper, photos, samples)
            except GaveUp as exc:
                shopper.outcome = "gave_up"
                shopper.transcript.append(f"  GAVE UP: {exc}")

        await asyncio.gather(*(one(s) for s in shoppers))
    wall = time.monotonic() - t0
    done.set()
    killer.join(timeout=600)
    return samples, wall


def check_backend(shoppers: list[Shopper], database_url: str) -> dict[str, Any]:
    """Lost: the shopper was given an RMA the database lacks. Duplicated: an order with 2+ returns."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT o.number, r.rma, r.status, "
            " (SELECT count(*) FROM pickups p WHERE p.return_id = r.id), "
            " (SELECT count(*) FROM decisions d WHERE d.return_id = r.id) "
            "FROM return_requests r JOIN orders o ON o.id = r.order_id WHERE o.number = ANY(%s)",
            ([s.order for s in shoppers],),
        ).fetchall()
    by_order: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_order.setdefault(row[0], []).append(row)
    lost = [s.order for s in shoppers if s.rma and s.rma not in {r[1] for r in by_order.get(s.order, [])}]
    duplicated = [order for order, returns in by_order.items() if len(returns) > 1]
    unconfirmed = [s.order for s in shoppers if not s.rma and by_order.get(s.order)]
    without_pickup = [r[1] for r in rows if r[3] == 0 and r[2] == "approved"]
    without_decision = [r[1] for r in rows if r[4] == 0]
    return {
        "returns_in_database": len(rows),
        "lost": lost,
        "duplicated": duplicated,
        "written_but_not_told": unconfirmed,
        "approved_without_pickup": without_pickup,
        "without_decision": without_decision,
    }


def check_trackers(shoppers: list[Shopper], running: Running) -> dict[str, Any]:
    """Each conversation's tracker (PostgreSQL, through the token-protected HTTP API) still holds
    every turn the shopper got an answer to and the message with the return number."""
    import httpx

    token = running.env["RASA_TOKEN"]
    short, missing_rma = [], []
    with httpx.Client(timeout=30) as client:
        for shopper in shoppers:
            resp = client.get(
                f"{running.topology.rasa_api_url}/conversations/{shopper.sender}/tracker",
                params={"token": token},
            )
            resp.raise_for_status()
            events = resp.json().get("events", [])
            users = sum(1 for e in events if e.get("event") == "user")
            if users < shopper.answered_turns:
                short.append(
                    f"{shopper.sender}: {users} user turns stored, {shopper.answered_turns} answered"
                )
            texts = " ".join(str(e.get("text") or "") for e in events if e.get("event") == "bot")
            if shopper.rma and shopper.rma not in texts:
                missing_rma.append(shopper.sender)
        unauthorised = client.get(
            f"{running.topology.rasa_api_url}/conversations/{shoppers[0].sender}/tracker"
        )
        public = client.get(f"{running.topology.public_url}/conversations/{shoppers[0].sender}/tracker")
    return {
        "conversations_missing_turns": short,
        "conversations_missing_rma": missing_rma,
        "tracker_without_token_status": unauthorised.status_code,
        "tracker_on_public_port_status": public.status_code,
    }


def summarise(
    shoppers: list[Shopper],
    samples: Samples,
    wall: float,
    backend: dict[str, Any],
    trackers: dict[str, Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    def stats(values: list[float]) -> dict[str, Any]:
        return {
            "n": len(values),
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "p99": percentile(values, 99),
        }

    outcomes: dict[str, int] = {}
    for shopper in shoppers:
        outcomes[shopper.outcome] = outcomes.get(shopper.outcome, 0) + 1
    errors: dict[str, int] = {}
    for shopper in shoppers:
        for problem in shopper.errors_seen:
            errors[problem] = errors.get(problem, 0) + 1
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "shoppers": len(shoppers),
        "ramp_s": args.ramp,
        "kill_after_s": args.kill_after,
        "down_for_s": args.down_for,
        "wall_s": round(wall, 1),
        "outcomes": outcomes,
        "shoppers_who_saw_an_error": sum(1 for s in shoppers if s.errors_seen),
        "errors_seen": errors,
        "told_to_retry": sum(s.told_to_retry for s in shoppers),
        "text_turn_ms": stats(samples.text_ms),
        "photo_turn_ms": stats(samples.photo_ms),
        "events": samples.events,
        "backend": backend,
        "trackers": trackers,
    }


def verdict(result: dict[str, Any]) -> list[str]:
    """The goal: every shopper completed (or was told clearly to retry), 0 lost, 0 duplicated."""
    problems = []
    if result["kill_after_s"] >= 0 and not any("SIGKILL" in event for event in result["events"]):
        problems.append("the shoppers finished before the kill time: nothing was tested; lower --kill-after")
    if result["outcomes"].get("completed", 0) != result["shoppers"]:
        problems.append(f"not every shopper completed: {result['outcomes']}")
    backend, trackers = result["backend"], result["trackers"]
    for key in ("lost", "duplicated", "written_but_not_told", "approved_without_pickup", "without_decision"):
        if backend[key]:
            problems.append(f"{key}: {backend[key]}")
    for key in ("conversations_missing_turns", "conversations_missing_rma"):
        if trackers[key]:
            problems.append(f"{key}: {trackers[key][:5]}")
    if trackers["tracker_without_token_status"] not in (401, 403):
        problems.append(
            f"Rasa's HTTP API answered without the token: {trackers['tracker_without_token_status']}"
        )
    if trackers["tracker_on_public_port_status"] == 200:
        problems.append("Rasa's HTTP API is reachable through the public port")
    return problems


def markdown(result: dict[str, Any], problems: list[str], command: str) -> list[str]:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    text, photo, backend, trackers = (
        result["text_turn_ms"],
        result["photo_turn_ms"],
        result["backend"],
        result["trackers"],
    )
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(result["errors_seen"].items())) or "none"
    others = ", ".join(f"{k}: {v}" for k, v in result["outcomes"].items() if k != "completed") or "none"

    chaos_line = (
        "no instance was killed (baseline)"
        if result["kill_after_s"] < 0
        else f"at {result['kill_after_s']:.0f} s rasa-1 and actions-1 got SIGKILL, "
        f"{result['down_for_s']:.0f} s later they were started again"
    )

    def turns(t: dict[str, Any]) -> str:
        return f"{ms(t['p50'])} / {ms(t['p95'])} / {ms(t['p99'])} ({t['n']})"

    lines = [
        "## Load test: whole returns while instances die"
        if result["kill_after_s"] >= 0
        else "## Load test baseline: the same, nobody killed",
        "",
        f"- command: `{command}`",
        f"- date: {result['date']}; machine: {result['machine']}",
        f"- {result['shoppers']} shoppers started over {result['ramp_s']:.0f} s; "
        + chaos_line
        + f"; the run took {result['wall_s']:.0f} s.",
        "",
        "| | |",
        "|---|---|",
        f"| completed returns | {result['outcomes'].get('completed', 0)} / {result['shoppers']} |",
        f"| other outcomes | {others} |",
        f"| shoppers who saw an error and sent again | {result['shoppers_who_saw_an_error']} |",
        f"| errors seen (by kind) | {errors} |",
        f"| text turns p50 / p95 / p99 (ms, n) | {turns(text)} |",
        f"| photo turns incl. upload p50 / p95 / p99 (ms, n) | {turns(photo)} |",
        f"| returns in the database | {backend['returns_in_database']} |",
        f"| lost / duplicated / written but not told | {len(backend['lost'])} / "
        f"{len(backend['duplicated'])} / {len(backend['written_but_not_told'])} |",
        f"| conversations missing turns or the RMA | {len(trackers['conversations_missing_turns'])} / "
        f"{len(trackers['conversations_missing_rma'])} |",
        f"| Rasa HTTP API without token / on the public port | {trackers['tracker_without_token_status']} / "
        f"{trackers['tracker_on_public_port_status']} |",
        "",
        "Timeline:",
        "",
        *[f"    {event}" for event in result["events"]],
        "",
        "Verdict: "
        + (
            "goal met (all completed, 0 lost, 0 duplicated)."
            if not problems
            else "goal NOT met: " + "; ".join(problems)
        ),
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/loadtest.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--shoppers", type=int, default=50, help="simulated shoppers (default 50)")
    parser.add_argument("--ramp", type=float, default=20.0, help="seconds over which they start (default 20)")
    parser.add_argument(
        "--kill-after",
        type=float,
        default=10.0,
        help="seconds after the start when rasa-1 and actions-1 are killed (default 10; -1: never)",
    )
    parser.add_argument(
        "--down-for", type=float, default=10.0, help="seconds before they restart (default 10)"
    )
    parser.add_argument("--api-workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument("--write-doc", action="store_true", help="put the results into docs/deploy.md")
    parser.add_argument("--verbose", action="store_true", help="print every process's log lines")
    args = parser.parse_args(argv)

    var = ROOT / "var" / "loadtest"
    ports = Ports.free()
    topology = Topology(
        var=var,
        ports=ports,
        database_url=f"{POSTGRES}/returns_load",
        tracker_url=f"{POSTGRES}/rasa_load",
        api_workers=args.api_workers,
        access_log=False,
    )
    log: list[str] | None = None if args.verbose else []
    print(
        f"starting the production topology (fresh databases returns_load / rasa_load) under {var} ...",
        flush=True,
    )
    try:
        running = start(topology, fresh=True, log_sink=log)
    except (RuntimeError, TimeoutError) as exc:
        print(f"could not start: {exc}", file=sys.stderr)
        if log:
            print("\n".join(log[-40:]), file=sys.stderr)
        return 2
    try:
        os.environ.update({"DATABASE_URL": topology.database_url, "VAR_DIR": str(var)})
        from api.seed import add_orders

        orders = load_orders(args.shoppers)
        add_orders(orders)
        shoppers = [
            Shopper(i, o.number, o.email, f"load-{i}-{os.urandom(4).hex()}") for i, o in enumerate(orders)
        ]
        print(
            f"{len(shoppers)} shoppers start over {args.ramp:.0f} s; rasa-1 and actions-1 die at "
            f"{args.kill_after:.0f} s ...",
            flush=True,
        )
        samples, wall = asyncio.run(
            run_shoppers(running, shoppers, args.ramp, args.kill_after, args.down_for)
        )
        backend = check_backend(shoppers, topology.database_url)
        trackers = check_trackers(shoppers, running)
    finally:
        running.stop()
    result = summarise(shoppers, samples, wall, backend, trackers, args)
    problems = verdict(result)
    var.mkdir(parents=True, exist_ok=True)
    (var / "result.json").write_text(json.dumps(result, indent=2))
    (var / "transcripts.json").write_text(json.dumps([asdict(s) for s in shoppers], indent=2))
    command = (
        "make loadtest"
        if not argv and len(sys.argv) == 1
        else "scripts/loadtest.py " + " ".join(argv if argv is not None else sys.argv[1:])
    )
    lines = markdown(result, problems, command)
    print("\n".join(lines))
    if args.write_doc:
        doc_path = ROOT / "docs" / "deploy.md"
        doc = doc_path.read_text() if doc_path.exists() else "# Deployment\n"
        doc = replace_block(doc, "loadtest" if args.kill_after >= 0 else "loadtest-baseline", lines)
        doc_path.write_text(doc if doc.endswith("\n") else doc + "\n")
        print(f"\nwritten into {doc_path.relative_to(ROOT)}")
    for shopper in shoppers:
        if shopper.outcome != "completed":
            print(
                f"\n--- shopper {shopper.index} ({shopper.outcome}) ---\n"
                + "\n".join(shopper.transcript[-12:])
            )
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
