"""The one settings class, read by every process that needs it (api, actions, seed, worker).

Values come from the environment (prefix-free names, e.g. DATABASE_URL) or from a `.env`
file in the repository root. Secrets have no usable default: `make run` generates them into
`var/secrets.env` on first start, outside git.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=(ROOT / ".env", ROOT / "var" / "secrets.env"),
        env_file_encoding="utf-8",
        extra="ignore",
    )

    environment: str = Field(default="development", description="development | test | production")
    var_dir: Path = ROOT / "var"
    database_url: str = ""  # empty: SQLite under var/
    public_base_url: str = "http://127.0.0.1:8000"
    api_base_url: str = "http://127.0.0.1:8000"  # how the action server reaches the API
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: SecretStr | None = None  # Rasa HTTP API token (production)
    # Rasa as the shopper's browser reaches it (the widget's data-server); empty: rasa_url.
    public_rasa_url: str = ""
    # Origins whose pages may embed the chat widget and call the uploads endpoint (CORS).
    # Comma-separated or a JSON list in the environment; the API's own origin is always allowed.
    cors_origins: Annotated[list[str], NoDecode] = ["http://127.0.0.1:8000", "http://localhost:8000"]

    # Secrets: no usable defaults.
    service_token: SecretStr = SecretStr("")  # action server -> API
    secret_key: SecretStr = SecretStr("")  # signs sessions, label links, JWTs
    carrier_webhook_secret: SecretStr = SecretStr("")

    # Storage
    storage_backend: str = "local"  # local | s3
    # S3-compatible bucket (storage_backend=s3; docs/storage.md)
    s3_bucket: str = ""
    s3_endpoint_url: str = ""  # empty: AWS; e.g. http://minio:9000
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""  # empty (with the secret): boto3's default credential chain
    s3_secret_access_key: SecretStr = SecretStr("")
    s3_prefix: str = ""  # key prefix inside the bucket, e.g. "returns/"
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_max_pixels: int = 40_000_000

    # Lookup rate limiting (per client address)
    lookup_max_failures: int = 5
    lookup_window_seconds: int = 600

    # Auth
    access_token_minutes: int = 60 * 8

    # Policy
    policy_file: Path | None = None  # merchant override YAML

    # Mail
    smtp_host: str = ""  # empty: local outbox only
    smtp_port: int = 25
    mail_from: str = "returns@acme-outfitters.example"
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False  # STARTTLS after connecting (port 587)
    smtp_ssl: bool = False  # implicit TLS (port 465)
    smtp_timeout: float = 10.0

    # Outbox worker (emails and chat notices; api/services/mailer.py, docs/after-chat.md).
    # None: runs as a thread inside the API, except when ENVIRONMENT=test.
    outbox_worker: bool | None = None
    outbox_poll_seconds: float = 2.0
    outbox_backoff_seconds: float = 30.0  # first retry; doubles each attempt
    outbox_backoff_max_seconds: float = 3600.0
    outbox_max_attempts: int = 12  # then the message is `failed` (the dashboard shows it)
    outbox_lease_seconds: float = 300.0  # a claimed message whose worker died is retried after this

    # Proactive chat notices (Rasa trigger_intent), only on channels that can push a message.
    chat_notice_channels: Annotated[list[str], NoDecode] = [
        "socketio",
        "telegram",
        "telegram_returns",
        "twilio",
        "twilio_whatsapp",
    ]
    chat_notice_timeout: float = 5.0

    # Payments: where refunds and store credit go (api/services/payments.py).
    payment_provider: str = "ledger"

    # Order source (api/orders_source/): database | shopify
    order_source: str = "database"
    shopify_shop_url: str = ""  # https://<shop>.myshopify.com
    shopify_access_token: SecretStr = SecretStr("")
    shopify_api_version: str = "2025-01"
    shopify_timeout: float = 10.0

    # Damage model
    damage_model_dir: Path = ROOT / "models" / "damage"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip().rstrip("/") for part in text.split(",") if part.strip()]
        return value

    @field_validator("chat_notice_channels", mode="before")
    @classmethod
    def _split_channels(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("storage_backend", mode="before")
    @classmethod
    def _storage_backend_known(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            if value not in ("local", "s3"):
                raise ValueError(f"STORAGE_BACKEND must be 'local' or 's3', not {value!r}")
        return value

    # A field validator, not a model one: a model validator's error would quote every input, secrets too.
    @field_validator("s3_bucket")
    @classmethod
    def _s3_needs_bucket(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if info.data.get("storage_backend") == "s3" and not value:
            raise ValueError("STORAGE_BACKEND=s3 needs S3_BUCKET (the bucket that holds the photos)")
        return value

    @property
    def outbox_worker_enabled(self) -> bool:
        if self.outbox_worker is None:
            return self.environment != "test"
        return self.outbox_worker

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"

    @property
    def widget_rasa_url(self) -> str:
        return (self.public_rasa_url or self.rasa_url).rstrip("/")

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            return url
        return f"sqlite:///{self.var_dir / 'returns.db'}"

    @property
    def upload_dir(self) -> Path:
        return self.var_dir / "uploads"


@lru_cache
def get_settings() -> Settings:
    return Settings()
