"""Custom actions of the returns assistant (rasa-sdk), one module per feature.

Run with `python -m rasa_sdk --actions actions --port 5055`. One thing happens at import time:
`actions.photos` starts loading the damage model in a background thread, so the first photo does
not wait for it (DAMAGE_MODEL_PRELOAD=0 turns that off; the unit tests do). The HTTP client is
created inside the actions that need it.
"""
