"""The handler service's Snipe-IT job: in the first worker only, in the background, and its log
lines say what went wrong without the token."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.settings import Settings
from handlers import jobs
from tests.secrets_for_tests import production_settings
from tests.snipeit_standin import TOKEN, SnipeItStandIn, StandInAsset, unique_asset_id


def snipeit_settings(database_url: str, url: str, *, slot: int = 1) -> Settings:
    return production_settings(
        database_url=database_url,
        snipeit_url=url,
        snipeit_token=TOKEN,
        snipeit_checkout_to="location:12",
        handler_slot=slot,
    )


def test_only_the_first_worker_syncs_and_only_when_snipeit_is_set(
    database_url: str, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    url = "https://snipeit.example.org"

    first = jobs.snipeit_job(snipeit_settings(database_url, url), sessions, clock)
    second = jobs.snipeit_job(snipeit_settings(database_url, url, slot=2), sessions, clock)
    off = jobs.snipeit_job(production_settings(database_url=database_url), sessions, clock)

    assert isinstance(first, jobs.Periodic)
    assert (second, off) == (None, None)


async def test_a_periodic_job_never_runs_twice_at_once_and_keeps_its_interval() -> None:
    started: list[int] = []
    release = asyncio.Event()

    async def work() -> None:
        started.append(len(started))
        await release.wait()

    job = jobs.Periodic("test", work, interval_s=3600)
    job.poke()
    await asyncio.sleep(0)
    job.poke()  # still running
    release.set()
    await asyncio.sleep(0)
    job.poke()  # done, but its interval has not passed

    assert started == [0]
    job.cancel()


async def test_the_sync_logs_what_it_could_not_mirror_and_never_the_token(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with SnipeItStandIn(TOKEN) as snipe:
        ladder = snipe.add(StandInAsset(unique_asset_id(), "Ladder", None))

        await jobs.sync_snipeit(sessions, clock, snipeit_settings(database_url, snipe.url))

    [problem] = [r for r in caplog.records if r.getMessage() == "snipeit asset not mirrored"]
    assert (vars(problem)["asset_id"], vars(problem)["problem"]) == (
        ladder.id,
        "no TID in its tag field",
    )
    [summary] = [r for r in caplog.records if r.getMessage() == "snipeit synced"]
    assert vars(summary)["items_created"] == 0
    assert TOKEN not in caplog.text
    assert all(TOKEN not in repr(vars(record)) for record in caplog.records)
