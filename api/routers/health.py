import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.db import get_engine
from api.settings import get_settings
from api.storage import storage_problem

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


@router.get("/healthz", summary="200 when the database (and, with STORAGE_BACKEND=s3, the bucket) answers")
def healthz() -> JSONResponse:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    body = {"status": "ok", "database": "ok"}
    if get_settings().storage_backend == "s3":
        problem = storage_problem()
        if problem:
            log.warning("healthz: photo storage unusable: %s", problem)
            return JSONResponse({**body, "status": "error", "storage": problem}, status_code=503)
        body["storage"] = "ok"
    return JSONResponse(body)
