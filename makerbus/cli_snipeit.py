"""`makerbus snipeit sync [--dry-run]`: mirror Snipe-IT's hardware list into rental items, then
send the checkout and check-in reports that are due, as the handler service does every
MAKERBUS_SNIPEIT_SYNC_INTERVAL_S."""

from __future__ import annotations

from collections.abc import Iterator

import click

from core.clock import SystemClock
from core.db import async_session_factory, make_async_engine
from core.settings import Settings, get_settings
from core.snipeit import sync
from core.snipeit.client import SnipeItClient, Target
from core.snipeit.reports import Report
from makerbus.cli_common import run


@click.group()
def snipeit() -> None:
    """The Snipe-IT adapter (on when MAKERBUS_SNIPEIT_URL is set)."""


async def _sync(settings: Settings, *, dry_run: bool) -> sync.Synced:
    engine = make_async_engine(settings.database_url, pool_size=1)
    sessions = async_session_factory(engine)
    try:
        async with SnipeItClient.from_settings(settings) as client:
            if dry_run:
                return await sync.preview(sessions, client, clock=SystemClock())
            return await sync.sync(
                sessions,
                client,
                target=Target.parse(settings.snipeit_checkout_to),
                zone=settings.zone,
                clock=SystemClock(),
            )
    finally:
        await engine.dispose()


def _report(report: Report) -> str:
    return (
        f"{report.action:<8} rental {report.rental_id}, asset {report.asset_id} "
        f"{report.item_name} ({report.member_name})"
    )


def _lines(synced: sync.Synced, *, dry_run: bool) -> Iterator[str]:
    if synced.listing_error:
        yield f"Hardware list not read: {synced.listing_error}"
    if mirrored := synced.mirrored:
        yield (
            f"{'Would mirror' if dry_run else 'Mirrored'}: {len(mirrored.created)} created, "
            f"{len(mirrored.updated)} updated, {len(mirrored.deactivated)} deactivated, "
            f"{mirrored.unchanged} unchanged."
        )
        for verb, changes in (
            ("created", mirrored.created),
            ("updated", mirrored.updated),
            ("deactivated", mirrored.deactivated),
        ):
            for change in changes:
                what = "" if verb == "created" else f" ({change.what})"
                yield f"  {verb:<11} asset {change.asset_id} {change.tid} {change.name}{what}"
        for problem in mirrored.problems:
            yield f"  not mirrored: asset {problem.asset_id} {problem.name}: {problem.text}"
    if dry_run:
        yield f"Would send {len(synced.due)} reports."
        yield from (f"  {_report(report)}" for report in synced.due)
        return
    yield (
        f"Reports: {len(synced.done)} sent, {len(synced.failed)} failed, "
        f"{len(synced.waiting)} waiting."
    )
    yield from (f"  sent    {_report(report)}" for report in synced.done)
    yield from (f"  failed  {_report(report)}: {error}" for report, error in synced.failed)


@snipeit.command(name="sync")
@click.option(
    "--dry-run", is_flag=True, help="Show what would change and be sent; change and send nothing."
)
def sync_(dry_run: bool) -> None:
    """Mirror the hardware list into rental items, then send the reports due (exit status 1
    when the list could not be read or a report failed; it is tried again later)."""
    settings = get_settings()
    if not settings.snipeit_url:
        raise click.ClickException("Snipe-IT is off: MAKERBUS_SNIPEIT_URL is not set")
    synced = run(_sync(settings, dry_run=dry_run))
    for line in _lines(synced, dry_run=dry_run):
        click.echo(line)
    if synced.listing_error or synced.failed:
        raise SystemExit(1)
