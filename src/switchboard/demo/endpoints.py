from __future__ import annotations

from fastapi import APIRouter

from switchboard.auth.dependencies import PrincipalDep, SessionDep
from switchboard.demo.schemas import OrderView
from switchboard.demo.service import OrderService
from switchboard.kit.errors import API_ERRORS

router = APIRouter(prefix="/demo", tags=["demo shop"], responses=API_ERRORS)


@router.get("/orders", summary="Your orders in the demo shop (to see what the support agent's tools changed)")
async def my_orders(user: PrincipalDep, session: SessionDep) -> list[OrderView]:
    return await OrderService(session).list_orders(user)
