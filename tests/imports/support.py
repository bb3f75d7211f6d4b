"""Helpers of the import tests: upload a file, run its dry run, commit it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.world import World

IMPORTS = "/api/v1/imports"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_of(head: list[str], rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    lines = [",".join(head)] + [",".join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes,
    ctype: str,
    kind: str = "cases",
) -> dict[str, Any]:
    r = await client.post(
        f"{IMPORTS}/{kind}",
        content=content,
        params={"filename": "台账.csv"},
        headers={**headers, "Content-Type": ctype},
    )
    assert r.status_code == 202, r.text
    assert r.headers["location"].startswith("/api/v1/jobs/")
    return {**r.json(), "location": r.headers["location"]}


async def validated(
    client: httpx.AsyncClient,
    world: World,
    run_worker: Any,
    content: bytes,
    ctype: str,
    kind: str = "cases",
) -> dict[str, Any]:
    h = await world.headers("dispatcher")
    imp = await upload(client, h, content, ctype, kind)
    await run_worker()
    job = (await client.get(imp["location"], headers=h)).json()
    assert job["status"] == "succeeded", job
    assert job["kind"] == "import_validate" and job["month"] is None
    r = await client.get(f"{IMPORTS}/{imp['id']}", headers=h)
    assert r.status_code == 200
    return r.json()


async def committed(
    client: httpx.AsyncClient, world: World, run_worker: Any, import_id: str
) -> dict[str, Any]:
    h = await world.headers("dispatcher")
    r = await client.post(f"{IMPORTS}/{import_id}/commit", headers=h)
    assert r.status_code == 202, r.text
    await run_worker()
    job = (await client.get(r.headers["location"], headers=h)).json()
    assert job["status"] == "succeeded", job
    assert job["import_result"]["status"] == "committed"
    return (await client.get(f"{IMPORTS}/{import_id}", headers=h)).json()
