from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from api.deps import CurrentUser, ServiceDep, SessionDep, client_key, is_service
from api.models import Merchant, Order, ReturnRequest
from api.schemas import Proof, Reschedule, ReturnCreate, ReturnDraft, ReturnLookup
from api.security import constant_time_equals
from api.services import returns as service
from api.services.labels import label_pdf
from api.services.orders import normalise_order_number, note_failure, retry_after_seconds

router = APIRouter(prefix="/api/v1/returns", tags=["returns"])


def _error(exc: service.ReturnError) -> JSONResponse:
    return JSONResponse({"detail": exc.detail, **exc.extra}, status_code=exc.status_code)


@router.post("/quote", summary="The decision the policy would take now (writes nothing)")
def quote(body: ReturnDraft, session: SessionDep, _: ServiceDep) -> Any:
    try:
        return service.quote(session, body)
    except service.ReturnError as exc:
        return _error(exc)


@router.post(
    "",
    status_code=201,
    summary="Create a return (idempotent per Idempotency-Key)",
    responses={
        409: {"description": "Key reused with another body, or slot full"},
        422: {"description": "Not returnable as asked"},
    },
)
def create_return(
    body: ReturnCreate,
    session: SessionDep,
    _: ServiceDep,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=128)],
) -> Any:
    actor = f"shopper:{body.conversation_id or 'unknown'}"
    try:
        code, payload = service.create(session, body, idempotency_key=idempotency_key, actor=actor)
    except service.ReturnError as exc:
        session.rollback()
        return _error(exc)
    return JSONResponse(payload, status_code=code)


@router.get("", summary="The signed-in merchant's returns")
def list_returns(
    session: SessionDep,
    user: CurrentUser,
    order_number: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    stmt = (
        select(ReturnRequest)
        .where(ReturnRequest.merchant_id == user.merchant_id)
        .order_by(ReturnRequest.id.desc())
        .limit(limit)
    )
    if order_number:
        stmt = stmt.join(Order, ReturnRequest.order_id == Order.id).where(
            Order.number == normalise_order_number(order_number)
        )
    if status:
        stmt = stmt.where(ReturnRequest.status == status)
    return [service.serialize(r) for r in session.scalars(stmt)]


@router.post(
    "/lookup",
    summary="A shopper's returns, behind ownership proof",
    responses={429: {"description": "Too many failed attempts"}},
)
def lookup(body: ReturnLookup, request: Request, session: SessionDep) -> Any:
    # The same per-client throttle as the order lookup: otherwise this is an unthrottled way
    # to test guessed emails/postcodes against an order number.
    key = client_key(request)
    wait = retry_after_seconds(session, key)
    if wait is not None:
        raise HTTPException(
            429,
            "Too many attempts. Please wait a few minutes and try again.",
            headers={"Retry-After": str(wait)},
        )
    try:
        return service.lookup(session, body)
    except service.ReturnError as exc:
        if exc.status_code == 404:
            note_failure(session, key)
        return _error(exc)


def _proof_or_service(request: Request, body: Proof | None) -> Proof | None:
    if is_service(request) and body is not None and not (body.email or body.postcode):
        return None
    if body is None:
        if is_service(request):
            return None
        raise HTTPException(422, "Give the email address or the postcode on the order.")
    return body


@router.post("/{rma}/cancel", summary="Cancel a return (until it is picked up)")
def cancel(rma: str, body: Proof, request: Request, session: SessionDep) -> Any:
    try:
        return service.cancel(session, rma, _proof_or_service(request, body), actor="shopper")
    except service.ReturnError as exc:
        return _error(exc)


@router.post("/{rma}/reschedule", summary="Move the pickup to another slot")
def reschedule(rma: str, body: Reschedule, request: Request, session: SessionDep) -> Any:
    try:
        return service.reschedule(session, rma, body, body.date, body.window, actor="shopper")
    except service.ReturnError as exc:
        session.rollback()  # the old pickup was already marked cancelled: keep it when the move fails
        return _error(exc)


@router.post("/{rma}/history", summary="Status history of a return, behind ownership proof")
def history(rma: str, body: Proof, session: SessionDep) -> Any:
    try:
        return service.history(session, rma, body)
    except service.ReturnError as exc:
        return _error(exc)


@router.get(
    "/{rma}/label.pdf",
    summary="The return label with QR code (link from the chat/email)",
    response_class=Response,
)
def label(rma: str, token: str, session: SessionDep) -> Response:
    ret = session.scalar(select(ReturnRequest).where(ReturnRequest.rma == rma.upper()))
    if ret is None or not constant_time_equals(ret.label_token, token):
        raise HTTPException(404, "No such label.")
    if ret.pickup is None:
        raise HTTPException(409, "This return has no pickup, so it needs no label.")
    merchant = session.get(Merchant, ret.merchant_id)
    assert merchant is not None
    return Response(
        label_pdf(ret, merchant),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{ret.rma}-label.pdf"'},
    )
