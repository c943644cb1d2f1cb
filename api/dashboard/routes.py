"""Dashboard pages and actions under /merchant. Handlers parse, call a service, render or redirect.

Access: every route but the sign-in form depends on `DashUser` (signed in), `FormUser` (signed in
and the form's CSRF token), or their admin variants. Records are always looked up through the
signed-in merchant's id, so another shop's RMA, photo, ticket or message is a 404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, NoReturn
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.dashboard import charts, listing, policy_edit, team
from api.dashboard.auth import (
    AdminFormUser,
    AdminUser,
    DashboardError,
    DashUser,
    FormUser,
    check_login_csrf,
    clear_flash,
    end_session,
    load_session,
    login_csrf_value,
    read_flash,
    set_flash,
    set_login_csrf,
    start_session,
    users_of,
)
from api.deps import SessionDep
from api.models import Merchant, MerchantUser
from api.routers.auth import authenticate
from api.services import analytics, audit, lifecycle, review, training_export
from api.services.review import ReviewError
from api.storage import get_storage
from policy import REASON_CODES

router = APIRouter(prefix="/merchant", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))

NoteField = Annotated[str, Form(max_length=review.NOTE_MAX)]


# --- rendering helpers --------------------------------------------------------------------------


def _money(value: Any, currency: str = "USD") -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, "")
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {currency}"


def _ago(delta: Any) -> str:
    seconds = int(delta.total_seconds()) if delta is not None else 0
    if seconds < 3600:
        return f"{max(seconds // 60, 1)} min"
    if seconds < 86400 * 2:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC") if moment else ""


def _since(moment: datetime | None) -> str:
    return _ago(datetime.now(UTC) - moment) + " ago" if moment else ""


templates.env.filters.update(
    money=_money,
    ago=_ago,
    when=_when,
    since=_since,
    percent=charts.percent,
    label=lambda s: str(s or "").replace("_", " "),
)


def page(request: Request, db: SessionDep, name: str, status_code: int = 200, **context: Any) -> Response:
    user: MerchantUser = request.state.dash_user
    merchant_id = user.merchant_id
    base = {
        "user": user,
        "merchant": request.state.dash_merchant,
        "csrf_token": request.state.dash_session.csrf_token,
        "queue_count": review.queue_count(db, merchant_id),
        "open_handoffs": listing.open_handoff_count(db, merchant_id),
        "path": request.url.path,
    }
    response = templates.TemplateResponse(
        request, name, {**base, "flash": read_flash(request), **context}, status_code=status_code
    )
    clear_flash(request, response)
    return response


def redirect(request: Request, url: str, *, flash: tuple[str, str] | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if flash:
        set_flash(request, response, *flash)
    return response


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/merchant") and "//" not in target and "\\" not in target:
        return target
    return "/merchant/queue"


def _raise(exc: ReviewError) -> NoReturn:
    raise DashboardError(exc.status_code, exc.message) from exc


def _return_or_404(db: SessionDep, user: MerchantUser, rma: str) -> Any:
    try:
        return review.owned_return(db, user.merchant_id, rma)
    except ReviewError as exc:
        _raise(exc)


# --- sign in / out ------------------------------------------------------------------------------


@router.get("")
def home(request: Request, db: SessionDep) -> Response:
    target = "/merchant/queue" if load_session(db, request) else "/merchant/login"
    return RedirectResponse(target, status_code=303)


def _login_page(
    request: Request,
    *,
    error: str = "",
    email: str = "",
    next_url: str = "",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    token = login_csrf_value(request)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"csrf_token": token, "error": error, "email": email, "next": _safe_next(next_url)},
        status_code=status_code,
        headers=headers,
    )
    set_login_csrf(request, response, token)
    return response


@router.get("/login")
def login_form(request: Request, db: SessionDep, next: str = "") -> Response:
    if load_session(db, request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next_url=next)


@router.post("/login", dependencies=[Depends(check_login_csrf)])
def login(
    request: Request,
    db: SessionDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        user = authenticate(db, email, password)
    except HTTPException as exc:
        return _login_page(
            request,
            error=str(exc.detail),
            email=email,
            next_url=next,
            status_code=exc.status_code,
            headers={k: v for k, v in (exc.headers or {}).items() if k == "Retry-After"},
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    start_session(db, request, response, user)
    audit.record(
        db,
        merchant_id=user.merchant_id,
        entity_type="user",
        entity_id=user.id,
        action="signed_in",
        actor=f"user:{user.id}",
    )
    db.commit()
    return response


@router.post("/logout")
def logout(request: Request, db: SessionDep, user: FormUser) -> Response:
    response = RedirectResponse("/merchant/login", status_code=303)
    end_session(db, request, response)
    audit.record(
        db,
        merchant_id=user.merchant_id,
        entity_type="user",
        entity_id=user.id,
        action="signed_out",
        actor=f"user:{user.id}",
    )
    db.commit()
    return response


# --- review queue -------------------------------------------------------------------------------


@router.get("/queue")
def queue_page(request: Request, db: SessionDep, user: DashUser, sort: str = "oldest") -> Response:
    sort = "value" if sort == "value" else "oldest"
    queue = review.review_queue(db, user.merchant_id, sort=sort)
    return page(request, db, "queue.html", queue=queue, sort=sort, review_hours=review.REVIEW_HOURS)


@router.post("/queue/approve")
def bulk_approve(
    request: Request,
    db: SessionDep,
    user: FormUser,
    background: BackgroundTasks,
    rma: Annotated[list[str] | None, Form()] = None,
    note: NoteField = "",
) -> Response:
    if not rma:
        return redirect(request, "/merchant/queue", flash=("error", "Tick the returns to approve first."))
    result = review.bulk_approve(db, user, rma[:200], note)
    db.commit()
    for notice in result.notices:
        background.add_task(review.tell_shopper_in_chat, notice)
    text = f"Approved {len(result.approved)} return(s); the shoppers are emailed."
    if result.skipped:
        text += f" Skipped (not under review or not found): {', '.join(result.skipped)}."
    response = redirect(request, "/merchant/queue", flash=("success" if result.approved else "error", text))
    response.background = background
    return response


# --- returns ------------------------------------------------------------------------------------


@router.get("/returns")
def returns_page(
    request: Request,
    db: SessionDep,
    user: DashUser,
    q: str = "",
    status: str = "",
    reason: str = "",
    start: str = "",
    end: str = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    filters = listing.ReturnFilters.parse(q, status, reason, start, end)
    results = listing.search_returns(db, user.merchant_id, filters, page_no)
    return page(
        request,
        db,
        "returns.html",
        filters=filters,
        results=results,
        statuses=listing.STATUSES,
        reasons=REASON_CODES,
        query=filters.query(),
        csv_url="/merchant/returns.csv?" + urlencode(filters.query()),
        value=review.item_value,
    )


@router.get("/returns.csv")
def returns_csv(
    db: SessionDep,
    user: DashUser,
    q: str = "",
    status: str = "",
    reason: str = "",
    start: str = "",
    end: str = "",
) -> Response:
    filters = listing.ReturnFilters.parse(q, status, reason, start, end)
    body = listing.returns_csv(db, user.merchant_id, filters)
    name = f"returns-{datetime.now(UTC):%Y-%m-%d}.csv"
    return Response(
        "\ufeff" + body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/returns/{rma}")
def return_page(request: Request, db: SessionDep, user: DashUser, rma: str) -> Response:
    try:
        case = review.case_view(db, user.merchant_id, rma)
    except ReviewError as exc:
        _raise(exc)
    transcript = review.chat_transcript(case.ret.conversation_id)
    return page(
        request,
        db,
        "return.html",
        case=case,
        transcript=transcript,
        emails=listing.messages_for_return(db, user.merchant_id, case.ret.rma),
        severities=review.SEVERITIES,
        damage_types=review.DAMAGE_TYPES,
        review_hours=review.REVIEW_HOURS,
        receivable=_receivable(case.ret),
        conditions=lifecycle.CONDITIONS,
    )


def _receivable(ret: Any) -> bool:
    """The warehouse can record the receipt: the parcel is on its way back (or the shopper keeps
    the item and only the refund is left), as api/services/lifecycle.py `receive` accepts."""
    if ret.status in ("pickup_scheduled", "picked_up", "received"):
        return True
    return bool(ret.status == "approved" and ret.keep_item)


def _amount(text: str) -> Decimal | None:
    """`49.90`, `$1,049.90`, `49,90`, `1.049,90` -> Decimal; None when it is not an amount."""
    value = text.strip().lstrip("$€£").strip().replace(" ", "")
    if "," in value and value.rfind(",") > value.rfind("."):
        value = value.replace(".", "").replace(",", ".")  # a decimal comma
    else:
        value = value.replace(",", "")  # thousands separators
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


@router.post("/returns/{rma}/receive")
def receive(
    request: Request,
    db: SessionDep,
    user: FormUser,
    rma: str,
    condition: Annotated[str, Form(max_length=32)] = "as_expected",
    item: Annotated[list[int] | None, Form()] = None,
    item_condition: Annotated[list[str] | None, Form()] = None,
    refund_amount: Annotated[str, Form(max_length=32)] = "",
    note: NoteField = "",
) -> Response:
    """The warehouse receipt (same service as POST /api/v1/returns/{rma}/receive): the condition
    found, per item where they differ, then the refund / exchange / store credit at once."""
    ret = _return_or_404(db, user, rma)
    url = f"/merchant/returns/{ret.rma}"
    per_item = {
        int(item_id): value
        for item_id, value in zip(item or [], item_condition or [], strict=False)
        if value and value != condition
    }
    amount: Decimal | None = None
    if refund_amount.strip():
        amount = _amount(refund_amount)
        if amount is None:
            return redirect(request, url, flash=("error", "The amount must be a number such as 49.90."))
    try:
        result = lifecycle.receive(
            db,
            ret,
            actor=f"user:{user.id}",
            condition=condition,
            item_conditions=per_item,
            note=note.strip(),
            refund_amount=amount,
        )
    except lifecycle.LifecycleError as exc:
        db.rollback()
        return redirect(request, url, flash=("error", exc.detail))
    db.commit()
    if not result.get("changed"):
        return redirect(request, url, flash=("error", f"{ret.rma} was already settled; nothing changed."))
    done = {
        "refunded": "refund issued",
        "credited": "store credit issued",
        "exchanged": "exchange sent",
    }.get(ret.status, ret.status.replace("_", " "))
    return redirect(
        request,
        url,
        flash=(
            "success",
            f"Received {ret.rma} ({condition.replace('_', ' ')}): {done}. The shopper is emailed.",
        ),
    )


def _decide(
    request: Request,
    db: SessionDep,
    user: MerchantUser,
    rma: str,
    background: BackgroundTasks,
    action: Any,
    done: str,
    note: str,
) -> Response:
    ret = _return_or_404(db, user, rma)
    url = f"/merchant/returns/{ret.rma}"
    try:
        notice = action(db, user, ret, note)
    except ReviewError as exc:
        if exc.status_code == 404:
            _raise(exc)
        db.rollback()
        return redirect(request, url, flash=("error", exc.message))
    db.commit()
    background.add_task(review.tell_shopper_in_chat, notice)
    response = redirect(request, url, flash=("success", done.format(rma=ret.rma)))
    response.background = background
    return response


@router.post("/returns/{rma}/approve")
def approve(
    request: Request,
    db: SessionDep,
    user: FormUser,
    background: BackgroundTasks,
    rma: str,
    note: NoteField = "",
) -> Response:
    return _decide(
        request, db, user, rma, background, review.approve, "Approved {rma}. The shopper is emailed.", note
    )


@router.post("/returns/{rma}/reject")
def reject(
    request: Request,
    db: SessionDep,
    user: FormUser,
    background: BackgroundTasks,
    rma: str,
    note: NoteField = "",
) -> Response:
    return _decide(
        request,
        db,
        user,
        rma,
        background,
        review.reject,
        "Rejected {rma}. The shopper is emailed with your note.",
        note,
    )


@router.post("/returns/{rma}/request-photos")
def request_photos(
    request: Request,
    db: SessionDep,
    user: FormUser,
    background: BackgroundTasks,
    rma: str,
    note: NoteField = "",
) -> Response:
    return _decide(
        request,
        db,
        user,
        rma,
        background,
        review.request_photos,
        "Asked the shopper for more photos of {rma}.",
        note,
    )


# --- photos -------------------------------------------------------------------------------------


def _photo(db: SessionDep, user: MerchantUser, photo_id: str) -> Any:
    try:
        return review.owned_photo(db, user.merchant_id, photo_id)
    except ReviewError as exc:
        _raise(exc)


@router.get("/photos/{photo_id}")
def photo_bytes(db: SessionDep, user: DashUser, photo_id: str) -> Response:
    photo = _photo(db, user, photo_id)
    return Response(
        get_storage().get(photo.storage_key),
        media_type=photo.content_type,
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.get("/photos/{photo_id}/heatmap.png")
def heatmap_bytes(db: SessionDep, user: DashUser, photo_id: str) -> Response:
    photo = _photo(db, user, photo_id)
    assessment = photo.assessment
    if assessment is None or not assessment.heatmap_key:
        raise DashboardError(404, "This photo has no heatmap.")
    return Response(
        get_storage().get(assessment.heatmap_key),
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.post("/photos/{photo_id}/verdict")
def photo_verdict(
    request: Request,
    db: SessionDep,
    user: FormUser,
    photo_id: str,
    label: Annotated[str, Form(max_length=16)],
    severity: Annotated[str, Form(max_length=16)] = "",
    damage_type: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    photo = _photo(db, user, photo_id)
    rma = photo.return_item.return_request.rma if photo.return_item else ""
    try:
        review.record_verdict(db, user, photo, label=label, severity=severity, damage_type=damage_type)
    except ReviewError as exc:
        db.rollback()
        return redirect(request, f"/merchant/returns/{rma}#photo-{photo.id}", flash=("error", exc.message))
    db.commit()
    return redirect(
        request,
        f"/merchant/returns/{rma}#photo-{photo.id}",
        flash=("success", f"Saved: this photo is {label}. The model will learn from it."),
    )


# --- handoffs, outbox ---------------------------------------------------------------------------


@router.get("/handoffs")
def handoffs_page(request: Request, db: SessionDep, user: DashUser, status: str = "open") -> Response:
    status = status if status in ("open", "closed", "all") else "open"
    return page(
        request,
        db,
        "handoffs.html",
        tickets=listing.handoffs(db, user.merchant_id, status),
        status=status,
        counts=listing.handoff_counts(db, user.merchant_id),
    )


@router.post("/handoffs/{ticket_id}/close")
def close_handoff(
    request: Request, db: SessionDep, user: FormUser, ticket_id: int, note: NoteField = ""
) -> Response:
    try:
        listing.close_handoff(db, user.merchant_id, ticket_id, actor=f"user:{user.id}", note=note)
    except ReviewError as exc:
        if exc.status_code == 404:
            _raise(exc)
        return redirect(request, "/merchant/handoffs", flash=("error", exc.message))
    db.commit()
    return redirect(request, "/merchant/handoffs", flash=("success", f"Ticket {ticket_id} is closed."))


@router.get("/outbox")
def outbox_page(
    request: Request,
    db: SessionDep,
    user: DashUser,
    q: str = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    return page(request, db, "outbox.html", results=listing.outbox(db, user.merchant_id, q, page_no), q=q)


@router.get("/outbox/{message_id}")
def outbox_message(request: Request, db: SessionDep, user: DashUser, message_id: int) -> Response:
    try:
        message = listing.outbox_message(db, user.merchant_id, message_id)
    except ReviewError as exc:
        _raise(exc)
    return page(request, db, "message.html", message=message)


# --- analytics ----------------------------------------------------------------------------------


@router.get("/analytics")
def analytics_page(
    request: Request, db: SessionDep, user: DashUser, start: str = "", end: str = ""
) -> Response:
    period = analytics.DateRange.parse(start, end)
    data = analytics.compute(db, user.merchant_id, period)
    return page(request, db, "analytics.html", a=data, figures=_figures(data))


def _figures(a: analytics.Analytics) -> dict[str, Any]:
    fmt_day = "%d %b" if not a.range.weekly else "wk %d %b"
    rate_points = [(b.strftime(fmt_day), r.value) for b, r in a.return_rate_series]
    top = max([v for _, v in rate_points if v is not None] + [0.05])
    return {
        "return_rate": charts.columns(
            rate_points,
            title="Return rate by delivery date",
            fmt=charts.percent,
            max_value=charts._nice_max(top),
            css="c1",
        ),
        "returns": charts.columns(
            [(b.strftime(fmt_day), float(n)) for b, n in a.returns_series],
            title="Returns requested",
            css="c3",
            counts=True,
        ),
        "reasons": charts.bars(
            [(label, float(n)) for _, label, n in a.reasons],
            title="Returned items by reason",
            fmt=lambda v: f"{v:.0f}",
        ),
        "decided": charts.donut(
            [
                ("Decided automatically", a.decided["automatic"], "c1"),
                ("Decided by a person", a.decided["person"], "c2"),
                ("Waiting for review", a.decided["waiting"], "c4"),
                ("Cancelled before a decision", a.decided["cancelled"], "c5"),
            ],
            title="How returns were decided",
            center=charts.percent(a.automatic_share.value),
        ),
        "damage": charts.donut(
            [
                ("Approved", a.damage_outcomes.get("approved", 0), "c1"),
                ("Rejected", a.damage_outcomes.get("rejected", 0), "c6"),
                ("Waiting", a.damage_outcomes.get("waiting", 0), "c4"),
                ("Cancelled", a.damage_outcomes.get("cancelled", 0), "c5"),
            ],
            title="Damage claims by outcome",
            center=charts.percent(a.damage_claims.value),
        ),
        "time": charts.columns(
            [(name, float(n)) for name, n in a.time_to_decision],
            title="Time from request to a reviewer's decision",
            css="c2",
            counts=True,
        ),
        "agreement": charts.meter(a.agreement.value, title="Reviewers agree with the model"),
        "matrix_max": max((n for row in a.matrix.values() for n in row.values()), default=0),
    }


# --- policy -------------------------------------------------------------------------------------


@router.get("/policy")
def policy_page(request: Request, db: SessionDep, user: DashUser) -> Response:
    merchant: Merchant = request.state.dash_merchant
    return page(
        request,
        db,
        "policy.html",
        view=policy_edit.policy_view(db, merchant),
        draft=None,
        issues=[],
        names=review.user_names(db, user.merchant_id),
    )


@router.post("/policy")
def save_policy(
    request: Request,
    db: SessionDep,
    user: AdminFormUser,
    policy_yaml: Annotated[str, Form(max_length=policy_edit.MAX_YAML)] = "",
) -> Response:
    merchant: Merchant = request.state.dash_merchant
    try:
        policy = policy_edit.save_override(db, merchant, user, policy_yaml)
    except policy_edit.PolicyRefused as exc:
        db.rollback()
        db.refresh(merchant)
        return page(
            request,
            db,
            "policy.html",
            status_code=422,
            view=policy_edit.policy_view(db, merchant),
            draft=policy_yaml,
            issues=exc.issues,
            names=review.user_names(db, user.merchant_id),
        )
    db.commit()
    return redirect(
        request,
        "/merchant/policy",
        flash=("success", f"Saved. Policy version {policy.version} is now active for new returns."),
    )


# --- teaching the model -------------------------------------------------------------------------


@router.get("/training")
def training_page(request: Request, db: SessionDep, user: DashUser) -> Response:
    status = training_export.model_status()
    photos = training_export.labelled_photos(db, user.merchant_id)
    counts: dict[str, int] = {}
    for photo in photos:
        counts[photo.verdict.label] = counts.get(photo.verdict.label, 0) + 1
    return page(
        request,
        db,
        "training.html",
        status=status,
        reviewed=len(photos),
        counts=counts,
        new_since=training_export.verdicts_since(db, user.merchant_id, status.trained_at),
    )


@router.get("/training/export.zip")
def training_zip(request: Request, db: SessionDep, user: AdminUser) -> Response:
    merchant: Merchant = request.state.dash_merchant
    name, data, count = training_export.export_zip(db, merchant_id=merchant.id, merchant_slug=merchant.slug)
    audit.record(
        db,
        merchant_id=merchant.id,
        entity_type="training",
        entity_id=name,
        action="exported",
        actor=f"user:{user.id}",
        data={"photos": count},
    )
    db.commit()
    return Response(
        data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# --- team and audit log (admins) ----------------------------------------------------------------


@router.get("/team")
def team_page(request: Request, db: SessionDep, user: AdminUser) -> Response:
    return page(
        request,
        db,
        "team.html",
        users=users_of(db, user.merchant_id),
        roles=team.ROLES,
        now=datetime.now(UTC),
    )


@router.post("/team")
def add_member(
    request: Request,
    db: SessionDep,
    user: AdminFormUser,
    email: Annotated[str, Form(max_length=254)],
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=16)] = "reviewer",
) -> Response:
    try:
        member, password = team.add_user(db, user, email=email, name=name, role=role)
    except ReviewError as exc:
        db.rollback()
        return redirect(request, "/merchant/team", flash=("error", exc.message))
    db.commit()
    # The password is shown once, in this response (never in a cookie, a URL or the log).
    return page(
        request,
        db,
        "team.html",
        status_code=201,
        users=users_of(db, user.merchant_id),
        roles=team.ROLES,
        now=datetime.now(UTC),
        created=(member, password),
    )


@router.post("/team/{user_id}/unlock")
def unlock_member(request: Request, db: SessionDep, user: AdminFormUser, user_id: int) -> Response:
    try:
        member = team.unlock(db, user, user_id)
    except ReviewError as exc:
        _raise(exc)
    db.commit()
    return redirect(request, "/merchant/team", flash=("success", f"{member.email} can sign in again."))


@router.post("/team/{user_id}/reset-password")
def reset_member_password(request: Request, db: SessionDep, user: AdminFormUser, user_id: int) -> Response:
    if user_id == user.id:
        return redirect(
            request, "/merchant/team", flash=("error", "Ask another admin to reset your password.")
        )
    try:
        member, password = team.reset_password(db, user, user_id)
    except ReviewError as exc:
        _raise(exc)
    db.commit()
    return page(
        request,
        db,
        "team.html",
        users=users_of(db, user.merchant_id),
        roles=team.ROLES,
        now=datetime.now(UTC),
        created=(member, password),
    )


@router.get("/audit")
def audit_page(
    request: Request,
    db: SessionDep,
    user: AdminUser,
    entity: str = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    return page(
        request,
        db,
        "audit.html",
        results=listing.audit_log(db, user.merchant_id, page_no, entity),
        entity=entity,
        names=review.user_names(db, user.merchant_id),
    )


__all__ = ["router", "templates"]
