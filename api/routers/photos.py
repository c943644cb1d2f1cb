from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Iterable
from typing import Annotated, Any, cast

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select

from api.deps import ServiceDep, SessionDep, is_service, merchant_user_from_token
from api.models import DamageAssessment, Photo, ReturnItem, ReturnRequest
from api.schemas import AssessmentIn, HeatmapIn
from api.services.images import ImageRejected, clean_image, sniff
from api.settings import get_settings
from api.storage import get_storage

router = APIRouter(prefix="/api/v1", tags=["photos"])

CHUNK = 1024 * 1024


def _read_limited(file: UploadFile, limit: int) -> bytes:
    """Read at most limit+1 bytes so a huge upload is refused without buffering all of it."""
    chunks: list[bytes] = []
    size = 0
    while chunk := file.file.read(CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


@router.post(
    "/uploads",
    status_code=201,
    summary="Upload a photo (JPEG, PNG or WebP, up to 10 MB)",
    responses={
        413: {"description": "Too large"},
        415: {"description": "Not an accepted image"},
        422: {"description": "Corrupt or unusable"},
    },
)
def upload(
    session: SessionDep,
    file: Annotated[UploadFile, File(description="the photo")],
    conversation_id: Annotated[str | None, Form(max_length=128)] = None,
) -> dict[str, Any]:
    settings = get_settings()
    # A plain `def` route: FastAPI runs it in a worker thread, so blocking database work never
    # stalls the event loop (on SQLite that deadlocked concurrent uploads).
    data = _read_limited(file, settings.upload_max_bytes)
    try:
        clean = clean_image(data, max_bytes=settings.upload_max_bytes, max_pixels=settings.upload_max_pixels)
    except ImageRejected as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
    storage = get_storage()
    if not storage.exists(clean.storage_key):
        storage.put(clean.storage_key, clean.data)
    photo = Photo(
        id="ph_" + secrets.token_urlsafe(12),
        storage_key=clean.storage_key,
        sha256=clean.sha256,
        content_type=clean.content_type,
        size_bytes=len(clean.data),
        width=clean.width,
        height=clean.height,
        conversation_id=conversation_id,
    )
    session.add(photo)
    session.flush()
    return {
        "photo_id": photo.id,
        "width": clean.width,
        "height": clean.height,
        "content_type": clean.content_type,
        "sha256": clean.sha256,
        "size_bytes": len(clean.data),
    }


def _visible_photo(session: SessionDep, request: Request, photo_id: str) -> Photo:
    """Service sees every photo; a merchant user only the photos of its own returns."""
    photo = session.get(Photo, photo_id)
    if is_service(request):
        if photo is None:
            raise HTTPException(404, "No such photo.")
        return photo
    header = request.headers.get("authorization", "")
    token = header.partition(" ")[2] or request.cookies.get("access_token")
    user = merchant_user_from_token(session, token)
    if user is None:
        raise HTTPException(401, "Authentication required.", headers={"WWW-Authenticate": "Bearer"})
    if photo is None or photo.merchant_id != user.merchant_id:
        raise HTTPException(404, "No such photo.")
    return photo


@router.get("/photos/{photo_id}", summary="The stored (cleaned) photo bytes", response_class=Response)
def get_photo(photo_id: str, request: Request, session: SessionDep) -> Response:
    photo = _visible_photo(session, request, photo_id)
    return Response(
        get_storage().get(photo.storage_key),
        media_type=photo.content_type,
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.get("/photos/{photo_id}/heatmap.png", summary="Damage heatmap overlay", response_class=Response)
def get_heatmap(photo_id: str, request: Request, session: SessionDep) -> Response:
    photo = _visible_photo(session, request, photo_id)
    assessment = photo.assessment
    if assessment is None or not assessment.heatmap_key:
        raise HTTPException(404, "This photo has no heatmap yet.")
    return Response(get_storage().get(assessment.heatmap_key), media_type="image/png")


@router.post("/photos/{photo_id}/assessment", status_code=201, summary="Store a damage assessment")
def store_assessment(photo_id: str, body: AssessmentIn, session: SessionDep, _: ServiceDep) -> dict[str, Any]:
    photo = session.get(Photo, photo_id)
    if photo is None:
        raise HTTPException(404, "No such photo.")
    heatmap_key = (
        _store_heatmap(photo, body.heatmap_png_b64, body.model_version) if body.heatmap_png_b64 else None
    )
    quality = body.quality or {}
    assessment = DamageAssessment(
        photo_id=photo.id,
        model_version=body.model_version,
        damage_probability=body.damage_probability,
        unusable_probability=body.unusable_probability,
        confidence=body.confidence,
        severity=body.severity,
        damage_type=body.damage_type,
        quality_ok=bool(quality.get("ok", True)),
        quality_issues=[str(i) for i in cast("Iterable[object]", quality.get("issues", []) or [])],
        quality_message=str(quality.get("message", "")),
        heatmap_key=heatmap_key,
        latency_ms=body.latency_ms,
    )
    session.add(assessment)
    session.flush()
    return {"assessment_id": assessment.id, "photo_id": photo.id, "heatmap": heatmap_key is not None}


def _store_heatmap(photo: Photo, heatmap_png_b64: str, model_version: str) -> str:
    try:
        png = base64.b64decode(heatmap_png_b64, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(422, "heatmap_png_b64 is not valid base64.") from None
    if sniff(png) != "png":
        raise HTTPException(422, "heatmap_png_b64 is not a PNG image.")
    key = f"heatmaps/{photo.sha256[:2]}/{photo.sha256}-{model_version}.png"
    get_storage().put(key, png)
    return key


@router.put("/photos/{photo_id}/heatmap", summary="Attach the damage heatmap to the photo's assessment")
def store_heatmap(photo_id: str, body: HeatmapIn, session: SessionDep, _: ServiceDep) -> dict[str, Any]:
    photo = session.get(Photo, photo_id)
    if photo is None:
        raise HTTPException(404, "No such photo.")
    assessment = next((a for a in reversed(photo.assessments) if a.model_version == body.model_version), None)
    if assessment is None:
        raise HTTPException(409, "Store the assessment of this photo first.")
    assessment.heatmap_key = _store_heatmap(photo, body.heatmap_png_b64, body.model_version)
    return {"photo_id": photo.id, "heatmap": True}


def photos_of_return(session: SessionDep, ret: ReturnRequest) -> list[Photo]:
    return list(
        session.scalars(
            select(Photo)
            .join(ReturnItem, Photo.return_item_id == ReturnItem.id)
            .where(ReturnItem.return_id == ret.id)
        )
    )
