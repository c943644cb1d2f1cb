"""Where photo bytes live: local disk by default, or an S3-compatible bucket (AWS S3, MinIO, ...).

Both backends take the same keys (e.g. ``photos/ab/<sha256>.jpg``, ``heatmaps/...``), refuse keys
that try to escape (ValueError), and raise FileNotFoundError from ``get`` of a missing key.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from api.settings import Settings, get_settings

if TYPE_CHECKING:
    from botocore.client import BaseClient

log = logging.getLogger(__name__)


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...


class StorageError(RuntimeError):
    """The storage backend is misconfigured or unreachable (not: a key is missing)."""


class LocalStorage:
    """Writes atomically (temp file + rename) so a failed upload leaves nothing half-written."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("storage key escapes the storage root")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).exists()


def check_key(key: str) -> str:
    """A relative, slash-separated key with no `.`/`..`/empty segments; ValueError otherwise."""
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise ValueError("storage key escapes the storage root")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError("storage key escapes the storage root")
    return key


def _error_code(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class S3Storage:
    """Objects in an S3-compatible bucket, under an optional key prefix.

    The boto3 client is made on first use and shared by every thread (boto3 clients are
    thread-safe); ``get_storage()`` keeps one S3Storage per settings, so one client per process.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str = "",
        region: str = "us-east-1",
        access_key_id: str = "",
        secret_access_key: str = "",
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 4,
    ) -> None:
        if not bucket:
            raise StorageError("S3 storage needs a bucket: set S3_BUCKET")
        if bool(access_key_id) != bool(secret_access_key):
            raise StorageError(
                "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are set together (or both left "
                "empty for boto3's default credential chain)"
            )
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url or None
        self.region = region or "us-east-1"
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_attempts = max_attempts
        self._client: BaseClient | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        return cls(
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key.get_secret_value(),
        )

    def __repr__(self) -> str:  # never shows the credentials
        where = self.endpoint_url or "AWS"
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint={where!r})"

    @property
    def client(self) -> BaseClient:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self) -> BaseClient:
        import boto3
        from botocore.config import Config

        config = Config(
            region_name=self.region,
            connect_timeout=self._connect_timeout,
            read_timeout=self._read_timeout,
            retries={"max_attempts": self._max_attempts, "mode": "standard"},
            # MinIO and most S3-compatible servers want path-style URLs (endpoint/bucket/key).
            s3={"addressing_style": "path" if self.endpoint_url else "auto"},
        )
        credentials: dict[str, str] = {}
        if self._access_key_id:
            credentials = {
                "aws_access_key_id": self._access_key_id,
                "aws_secret_access_key": self._secret_access_key,
            }
        log.info(
            "S3 storage: bucket %s, prefix %r, endpoint %s, credentials %s",
            self.bucket,
            self.prefix,
            self.endpoint_url or "AWS",
            "from settings" if credentials else "boto3 default chain",
        )
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url, config=config, **credentials
        )

    def object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _bucket_error(self, exc: Exception) -> StorageError | None:
        code = _error_code(exc)
        if code == "NoSuchBucket":
            return StorageError(f"S3 bucket {self.bucket!r} does not exist (S3_BUCKET)")
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return StorageError(
                f"S3 refused access to bucket {self.bucket!r} ({code}): check the "
                "S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY credentials and bucket policy"
            )
        return None

    def put(self, key: str, data: bytes) -> None:
        from botocore.exceptions import ClientError

        # A single PutObject is atomic: readers see the whole object or none of it.
        name = self.object_key(key)
        try:
            self.client.put_object(Bucket=self.bucket, Key=name, Body=data)
        except ClientError as exc:
            raise (self._bucket_error(exc) or exc) from exc

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        name = self.object_key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:
            if _error_code(exc) in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"no stored object {key!r}") from exc
            raise (self._bucket_error(exc) or exc) from exc
        body = response["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        name = self.object_key(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:
            # HEAD answers carry no body, so a missing key and a missing bucket are both a bare 404.
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise (self._bucket_error(exc) or exc) from exc
        return True

    def check(self) -> str | None:
        """None when the bucket answers; otherwise a short reason (for /healthz and logs)."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = _error_code(exc)
            if code in ("404", "NoSuchBucket", "NotFound"):
                return f"bucket {self.bucket!r} does not exist"
            if code in ("403", "AccessDenied"):
                return f"access to bucket {self.bucket!r} denied"
            return f"bucket {self.bucket!r} answered {code or 'an error'}"
        except NoCredentialsError:
            return "no S3 credentials (set S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY or the AWS environment)"
        except BotoCoreError as exc:
            return f"S3 endpoint unreachable ({type(exc).__name__})"
        return None


_cache_lock = threading.Lock()
_cached: tuple[Settings, Storage] | None = None


def make_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        return S3Storage.from_settings(settings)
    if settings.storage_backend == "local":
        return LocalStorage(settings.upload_dir)
    raise StorageError(f"STORAGE_BACKEND={settings.storage_backend!r}: expected 'local' or 's3'")


def get_storage() -> Storage:
    """The storage of the current settings, made once per settings object (tests that change the
    environment clear get_settings' cache, which gives them a fresh storage and S3 client)."""
    global _cached
    settings = get_settings()
    cached = _cached
    if cached is not None and cached[0] is settings:
        return cached[1]
    with _cache_lock:
        if _cached is None or _cached[0] is not settings:
            _cached = (settings, make_storage(settings))
        return _cached[1]


def storage_problem() -> str | None:
    """For health checks: None when the configured storage is usable, else a short reason.

    Local disk is not probed (the upload folder is made on first write)."""
    storage = get_storage()
    if isinstance(storage, S3Storage):
        return storage.check()
    return None
