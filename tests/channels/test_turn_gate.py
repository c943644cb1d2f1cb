"""bot/channels/turn_gate.py, the scheduler alone (standard library; the Rasa side is in
tests/bot/test_speedups.py): how many turns run at once, which waiting turn goes next, and what
a cancelled turn leaves behind."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.turn_gate import (
    ENV_LIMIT,
    ENV_PHOTO_SLOTS,
    PHOTO_ALLOWANCE_S,
    TEXT_ALLOWANCE_S,
    TurnGate,
    allowance,
    is_photo,
    limit_from_env,
    photo_slots_from_env,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


class Turns:
    """Turns that run until the test ends them, recording the order they started in."""

    def __init__(self, gate: TurnGate) -> None:
        self.gate = gate
        self.started: list[str] = []
        self.ends: dict[str, asyncio.Event] = {}
        self.tasks: dict[str, asyncio.Task[str]] = {}
        self.most_at_once = 0
        self.most_text_at_once = 0
        self._now = 0
        self._text_now = 0

    async def send(self, name: str, allowance_s: float) -> None:
        """The turn arrives now: it is queued (or started) before this returns. A photo turn is one
        with the photo allowance, as `turn_gate.apply` gives them."""
        self.ends[name] = asyncio.Event()
        photo = allowance_s == PHOTO_ALLOWANCE_S

        async def turn() -> str:
            self.started.append(name)
            self._now += 1
            self._text_now += not photo
            self.most_at_once = max(self.most_at_once, self._now)
            self.most_text_at_once = max(self.most_text_at_once, self._text_now)
            try:
                await self.ends[name].wait()
            finally:
                self._now -= 1
                self._text_now -= not photo
            return name

        self.tasks[name] = asyncio.create_task(self.gate.run(allowance_s, turn, photo=photo))
        await settle()

    async def finish(self, name: str) -> str:
        self.ends[name].set()
        result = await self.tasks[name]
        await settle()
        return result


def test_photo_turns_go_first_and_text_is_never_held_more_than_its_allowance() -> None:
    assert allowance('/photo_uploaded{"photo_ids": ["p1"]}') == PHOTO_ALLOWANCE_S
    assert allowance('  /photo_uploaded{"photo_ids": ["p1", "p2"]}') == PHOTO_ALLOWANCE_S
    assert allowance("i want to return a photo frame") == TEXT_ALLOWANCE_S
    assert allowance("/affirm") == TEXT_ALLOWANCE_S
    assert allowance(None) == TEXT_ALLOWANCE_S
    assert pytest.approx(5.0) == TEXT_ALLOWANCE_S - PHOTO_ALLOWANCE_S

    async def scenario() -> None:
        clock = Clock()
        turns = Turns(TurnGate(2, clock=clock))
        await turns.send("t1", TEXT_ALLOWANCE_S)
        await turns.send("t2", TEXT_ALLOWANCE_S)
        await settle()
        assert turns.started == ["t1", "t2"]  # below the limit nothing waits
        clock.now += 0.1
        await turns.send("old-text", TEXT_ALLOWANCE_S)  # deadline 105.1
        clock.now += TEXT_ALLOWANCE_S + 0.5
        await turns.send("new-text", TEXT_ALLOWANCE_S)  # deadline 110.6
        clock.now += 0.2
        await turns.send("photo", PHOTO_ALLOWANCE_S)  # deadline 105.8: ahead of new-text only
        await turns.send("photo-2", PHOTO_ALLOWANCE_S)  # same deadline: arrival order
        await settle()
        assert turns.started == ["t1", "t2"] and turns.gate.waiting == 4

        order = []
        for running in ["t1", "t2", "old-text", "photo", "photo-2", "new-text"]:
            order.append(await turns.finish(running))
        assert turns.started == ["t1", "t2", "old-text", "photo", "photo-2", "new-text"]
        assert order == turns.started
        assert turns.most_at_once == 2
        assert (turns.gate.running, turns.gate.waiting) == (0, 0)

    asyncio.run(scenario())


def test_a_photo_slot_starts_a_photo_at_once_when_text_turns_fill_the_limit() -> None:
    assert is_photo('/photo_uploaded{"photo_ids": ["p1"]}') and not is_photo("photo of my vase")

    async def scenario() -> None:
        clock = Clock()
        turns = Turns(TurnGate(2, clock=clock, photo_slots=1))
        await turns.send("t1", TEXT_ALLOWANCE_S)
        await turns.send("t2", TEXT_ALLOWANCE_S)
        await turns.send("t3", TEXT_ALLOWANCE_S)  # the limit is full: t3 waits
        await turns.send("photo", PHOTO_ALLOWANCE_S)  # the photo slot: starts at once
        await turns.send("photo-2", PHOTO_ALLOWANCE_S)  # every slot taken: waits
        assert turns.started == ["t1", "t2", "photo"] and turns.gate.waiting == 2

        await turns.finish("photo")  # frees the photo slot: only a photo may take it
        assert turns.started == ["t1", "t2", "photo", "photo-2"]
        await turns.finish("t1")  # a regular slot, with photo-2 in the photo slot: t3 still waits
        assert turns.started[-1] == "photo-2" and turns.gate.waiting == 1
        await turns.finish("photo-2")
        assert turns.started[-1] == "t3"
        for name in ("t2", "t3"):
            await turns.finish(name)
        assert turns.most_at_once == 3 and turns.most_text_at_once == 2
        assert (turns.gate.running, turns.gate.waiting) == (0, 0)

    asyncio.run(scenario())


def test_without_photo_slots_a_photo_waits_for_a_regular_slot() -> None:
    async def scenario() -> None:
        turns = Turns(TurnGate(2, photo_slots=0))
        for name in ("t1", "t2"):
            await turns.send(name, TEXT_ALLOWANCE_S)
        await turns.send("photo", PHOTO_ALLOWANCE_S)
        assert turns.started == ["t1", "t2"]
        await turns.finish("t1")
        assert turns.started == ["t1", "t2", "photo"] and turns.most_at_once == 2
        for name in ("t2", "photo"):
            await turns.finish(name)

    asyncio.run(scenario())


def test_a_steady_stream_of_photos_does_not_starve_a_text_turn() -> None:
    async def scenario() -> None:
        clock = Clock()
        turns = Turns(TurnGate(1, clock=clock))
        await turns.send("busy", TEXT_ALLOWANCE_S)
        await turns.send("text", TEXT_ALLOWANCE_S)  # deadline 105.0
        current = "busy"
        for n in range(6):  # a photo every 1.5 s
            clock.now += 0.3 * TEXT_ALLOWANCE_S
            await turns.send(f"photo-{n}", PHOTO_ALLOWANCE_S)
            await settle()
            await turns.finish(current)
            current = turns.started[-1]
        # photos with deadlines 101.5, 103, 104.5 went ahead; the text turn's 105 beat 106
        assert turns.started[:5] == ["busy", "photo-0", "photo-1", "photo-2", "text"]
        for name in list(turns.tasks):
            turns.ends[name].set()
        await asyncio.gather(*turns.tasks.values())
        assert turns.gate.running == 0

    asyncio.run(scenario())


def test_a_turn_cancelled_in_the_queue_leaves_it_and_a_running_one_frees_its_slot() -> None:
    async def scenario() -> None:
        turns = Turns(TurnGate(1))
        await turns.send("a", TEXT_ALLOWANCE_S)
        await turns.send("gone", PHOTO_ALLOWANCE_S)
        await turns.send("b", TEXT_ALLOWANCE_S)
        await settle()
        turns.tasks["gone"].cancel()  # the shopper's client went away while queued
        await settle()
        assert turns.tasks["gone"].cancelled() and turns.gate.waiting == 1
        await turns.finish("a")
        assert turns.started == ["a", "b"]

        turns.tasks["b"].cancel()  # cancelled while running: its slot is free again
        await settle()
        assert turns.gate.running == 0
        await turns.send("c", TEXT_ALLOWANCE_S)
        await settle()
        assert turns.started == ["a", "b", "c"]
        await turns.finish("c")
        assert (turns.gate.running, turns.gate.waiting) == (0, 0)

    asyncio.run(scenario())


def test_a_turn_admitted_and_cancelled_before_it_ran_passes_its_slot_on() -> None:
    async def scenario() -> None:
        gate = TurnGate(1)
        await gate.acquire()
        admitted = asyncio.create_task(gate.acquire())
        following = asyncio.create_task(gate.acquire())
        await settle()
        assert gate.waiting == 2
        gate.release()  # the slot goes to `admitted`...
        admitted.cancel()  # ...which is cancelled before it resumes
        await settle()
        assert admitted.cancelled() and following.done() and not following.cancelled()
        assert (gate.running, gate.waiting) == (1, 0)
        gate.release()
        assert gate.running == 0

    asyncio.run(scenario())


def test_a_turn_that_fails_frees_its_slot_and_its_error_reaches_the_caller() -> None:
    async def scenario() -> None:
        gate = TurnGate(1)

        async def broken() -> None:
            raise RuntimeError("action server down")

        with pytest.raises(RuntimeError, match="action server down"):
            await gate.run(TEXT_ALLOWANCE_S, broken)
        assert gate.running == 0

        async def fine() -> str:
            return "answered"

        assert await gate.run(TEXT_ALLOWANCE_S, fine) == "answered"

    asyncio.run(scenario())


def test_limit_zero_lets_every_turn_run_at_once() -> None:
    async def scenario() -> None:
        turns = Turns(TurnGate(0))
        for n in range(10):
            await turns.send(f"t{n}", TEXT_ALLOWANCE_S)
        await settle()
        assert len(turns.started) == 10 and turns.gate.waiting == 0
        for n in range(10):
            await turns.finish(f"t{n}")
        assert turns.gate.running == 0

    asyncio.run(scenario())


def test_the_photo_slots_come_from_the_environment_and_a_bad_value_says_why() -> None:
    assert photo_slots_from_env({}) == 1
    assert photo_slots_from_env({ENV_PHOTO_SLOTS: "0"}) == 0
    assert photo_slots_from_env({ENV_PHOTO_SLOTS: " 2"}) == 2
    with pytest.raises(ValueError, match=r"RASA_PHOTO_TURN_SLOTS must be a whole number of photo turns"):
        photo_slots_from_env({ENV_PHOTO_SLOTS: "one"})
    with pytest.raises(ValueError, match=r"RASA_PHOTO_TURN_SLOTS must be 0 or more, not -2"):
        photo_slots_from_env({ENV_PHOTO_SLOTS: "-2"})


def test_the_limit_comes_from_the_environment_and_a_bad_value_says_why() -> None:
    assert limit_from_env({}) == 3
    assert limit_from_env({ENV_LIMIT: " 6 "}) == 6
    assert limit_from_env({ENV_LIMIT: "0"}) == 0
    with pytest.raises(ValueError, match=r"RASA_TURNS_IN_FLIGHT must be a whole number.*'four'"):
        limit_from_env({ENV_LIMIT: "four"})
    with pytest.raises(ValueError, match=r"RASA_TURNS_IN_FLIGHT must be 0 .* not -1"):
        limit_from_env({ENV_LIMIT: "-1"})
