"""The action server as `python -m rasa_sdk --actions actions` builds it: every Action subclass in
the package is instantiated and registered by name, so a helper base class that is an Action would
break the server's start. Every custom action the domain names must be there."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from tests.actions.helpers import load_domain


def test_the_action_server_registers_every_action_the_domain_names() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    registered = set(executor.actions)
    domain = load_domain()
    custom = {name for name in domain["actions"] if name.startswith(("action_", "validate_"))}
    assert custom, "the domain names no custom action"
    assert custom <= registered, sorted(custom - registered)
