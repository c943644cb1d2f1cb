"""Custom actions of the returns assistant (rasa-sdk), one module per feature.

Run with `python -m rasa_sdk --actions actions --port 5055`. Nothing happens at import time:
the HTTP client and the damage model are created inside the actions that need them.
"""
