"""Dependencies the routes share: settings, one database session per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One session and transaction per request, committed when the route returns and before
    the answer is sent (`scope="function"`): a failed commit becomes a 500, never a success
    answer for a change that was lost."""
    async with request.app.state.sessions() as db, db.begin():
        yield db


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[AsyncSession, Depends(get_db, scope="function")]
