"""Routes of opening balances: list them, and enter one by hand (importing a sheet of them
is `POST /imports/opening_balances`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.stats.balance_contracts import OpeningBalanceCreate, OpeningBalanceOut
from mediation_api.actions import ActionCall, action_route
from mediation_api.deps import ClockDep, Session, require
from mediation_api.plain_routes import list_route
from mediation_api.problems import responses
from mediation_api.stats.balances import BalanceService, balance_out

router = APIRouter(tags=["statistics"])
Reader = Annotated[Principal, Depends(require(Permission.stats_read))]
Importer = Annotated[Principal, Depends(require(Permission.imports_write))]
PATH = "/stats/opening-balances"


list_route(
    router,
    PATH,
    params=[
        ("session", Session),
        ("clock", ClockDep),
        ("principal", Reader),
        (
            "unit_id",
            Annotated[
                uuid.UUID | None, Query(description="Only this unit and the units below it.")
            ],
            None,
        ),
    ],
    fetch=lambda a, limit, cursor: BalanceService(a["session"], a["clock"], a["principal"]).page(
        a["unit_id"], limit, cursor
    ),
    out=OpeningBalanceOut,
    show=lambda balance, _: balance_out(balance),
    operation_id="stats-opening-balances-list",
    summary="List opening balances",
    description="The totals of months kept only as totals (期初汇总数), in your jurisdiction, "
    "oldest recorded first: entered by hand or imported (`source`). The monthly statistics "
    "add them; reports that include any say 含期初汇总数.",
    responses=responses(401, 403, 422),
)


async def _create(call: ActionCall) -> Response:
    d = call.deps
    balance, job = await BalanceService(d["session"], d["clock"], d["principal"]).create(call.body)
    return await call.answer(balance_out(balance, job), 201)


action_route(
    router,
    PATH,
    body=OpeningBalanceCreate,
    precondition=False,
    deps=[("principal", Importer), ("session", Session), ("clock", ClockDep)],
    handle=_create,
    operation_id="stats-opening-balances-create",
    summary="Enter an opening balance",
    description="For a unit of your jurisdiction and a month before this one whose records "
    "were never kept one by one: its totals (at least one above 0; the cases by category add "
    "up to at most `received`). One per unit and month (409). When the month's report "
    "exists it is recomputed (`recompute_job_id`). Supports `Idempotency-Key`.",
    status_code=201,
    response_model=OpeningBalanceOut,
    responses=responses(401, 403, 409, 422),
)
