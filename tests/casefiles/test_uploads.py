"""Attachments through the API: streamed upload, the type from the content, the limits, signed
download links in the access log, the owner's access rules, removal, and bad input that leaves
nothing behind."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from mediation.settings import Settings
from tests.casefiles.conftest import (
    ATTACHMENTS,
    LIMIT,
    UPLOADS,
    docm_bytes,
    docx_bytes,
    jpeg_bytes,
    mediating_case,
    mp3_bytes,
    new_case,
    pdf_bytes,
    plain_zip,
    png_bytes,
    spooled,
    stored_files,
    upload,
    wav_bytes,
)
from tests.cases.conftest import CASES, OTHER_GRID, act, case_body
from tests.support.world import World

PROBLEM = "application/problem+json"


async def _count(sql: Any) -> int:
    return (await sql("SELECT count(*) FROM attachments"))[0][0]


async def test_upload_list_link_download(
    client: httpx.AsyncClient, world: World, settings: Settings, sql: Any
) -> None:
    case = await mediating_case(client, world)
    med = await world.headers("mediator")
    content = pdf_bytes("Repair quote", pages=2)
    r = await upload(
        client,
        med,
        f"cases/{case['id']}",
        content,
        "维修报价单.pdf",
        "application/pdf",
        category="evidence",
        title="维修报价单",
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert r.headers["location"] == f"{ATTACHMENTS}/{a['id']}"
    assert r.headers["etag"] == f'"{a["id"]}-1"'
    assert a["file_type"] == "pdf" and a["media_type"] == "application/pdf"
    assert a["size_bytes"] == len(content)
    assert a["sha256"] == hashlib.sha256(content).hexdigest()
    assert a["owner_type"] == "case" and a["case_id"] == case["id"]
    assert a["category"] == "evidence" and a["title"] == "维修报价单"
    assert a["uploaded_by_name"] == "冯调解" and a["created_at"].endswith("+08:00")

    # The bytes are on disk under a key of the service's making, nothing left in the spool.
    files = stored_files(settings)
    assert len(files) == 1 and files[0].read_bytes() == content
    assert files[0].name == a["id"] and "维修" not in str(files[0])
    assert spooled(settings) == []
    row = (await sql("SELECT storage_backend, unit_path FROM attachments"))[0]
    assert row[0] == "local"
    assert row[1] == (await sql("SELECT unit_path FROM cases"))[0][0]

    # Every reader of the case sees it; the grid head may read the case too.
    grid = await world.headers("grid_head")
    listing = await client.get(f"{CASES}/{case['id']}/attachments", headers=grid)
    assert listing.status_code == 200
    assert [i["id"] for i in listing.json()["items"]] == [a["id"]]
    got = await client.get(f"{ATTACHMENTS}/{a['id']}", headers=grid)
    assert got.status_code == 200 and got.json()["sha256"] == a["sha256"]

    # A signed link: no token needed, logged as the person it was issued to.
    r = await client.post(f"{ATTACHMENTS}/{a['id']}/link", headers=grid)
    assert r.status_code == 200, r.text
    link = r.json()
    assert link["url"].startswith(f"{ATTACHMENTS}/{a['id']}/content?token=")
    assert link["expires_at"] == "2026-11-26T10:05:00+08:00"
    before = (await sql("SELECT count(*) FROM access_log"))[0][0]
    d = await client.get(link["url"])
    assert d.status_code == 200
    assert d.content == content
    assert d.headers["content-type"] == "application/pdf"
    assert d.headers["x-content-type-options"] == "nosniff"
    assert "filename*=UTF-8''%E7%BB%B4%E4%BF%AE" in d.headers["content-disposition"]
    # Clients reading only `filename` get a name, not what is left of the Chinese one (".pdf").
    assert f'filename="evidence-{a["id"]}.pdf"' in d.headers["content-disposition"]
    log = await sql(
        "SELECT actor_name, action, record_type, record_id, detail FROM access_log ORDER BY at"
    )
    assert len(log) == before + 1
    name, action, record_type, record_id, detail = log[-1]
    assert (name, action, record_type, str(record_id)) == (
        "孙网格",
        "attachment_download",
        "case",
        case["id"],
    )
    assert detail["attachment_id"] == a["id"] and detail["sha256"] == a["sha256"]

    # Ranges work on the local store (audio players seek).
    part = await client.get(link["url"], headers={"Range": "bytes=0-4"})
    assert part.status_code == 206 and part.content == b"%PDF-"

    # The case's timeline says who added what.
    timeline = await client.get(f"{CASES}/{case['id']}/timeline", headers=med)
    last = timeline.json()["items"][-1]
    assert last["type"] == "updated" and last["body"] == "上传附件：证据材料《维修报价单》"
    assert last["data"]["attachment"]["id"] == a["id"]


async def test_signed_links_expire_and_cannot_be_altered(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await mediating_case(client, world)
    med = await world.headers("mediator")
    a = (
        await upload(client, med, f"cases/{case['id']}", png_bytes(), "现场.png", "image/png")
    ).json()
    url = (await client.post(f"{ATTACHMENTS}/{a['id']}/link", headers=med)).json()["url"]
    token = parse_qs(urlparse(url).query)["token"][0]
    other = await upload(client, med, f"cases/{case['id']}", jpeg_bytes(), "b.jpg", "image/jpeg")
    before = (await sql("SELECT count(*) FROM access_log"))[0][0]

    # The token of one attachment does not open another.
    r = await client.get(f"{ATTACHMENTS}/{other.json()['id']}/content", params={"token": token})
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    r = await client.get(f"{ATTACHMENTS}/{a['id']}/content", params={"token": tampered})
    assert r.status_code == 403
    world.clock.advance(timedelta(minutes=5))
    r = await client.get(url)
    assert r.status_code == 403 and "expired" in r.json()["detail"]
    r = await client.get(f"{ATTACHMENTS}/{a['id']}/content")
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert (await sql("SELECT count(*) FROM access_log"))[0][0] == before


async def test_type_is_taken_from_the_content(
    client: httpx.AsyncClient, world: World, settings: Settings, sql: Any
) -> None:
    case = await mediating_case(client, world)
    med = await world.headers("mediator")
    path = f"cases/{case['id']}"

    # A JPEG named .pdf and sent as octet-stream is a JPEG, saved with a .jpg name.
    r = await upload(client, med, path, jpeg_bytes(), "照片.pdf", "application/octet-stream")
    assert r.status_code == 201, r.text
    assert r.json()["file_type"] == "jpeg" and r.json()["file_name"] == "照片.jpg"
    r = await upload(client, med, path, docx_bytes(), "说明.docx", "application/zip")
    assert r.status_code == 201 and r.json()["file_type"] == "docx"

    refused = [
        ("not an allowed type", "纯文本".encode(), "a.txt", "text/plain"),
        ("not an allowed type", b"<svg onload=alert(1)>", "a.svg", "image/svg+xml"),
        ("not a Word document", plain_zip(), "a.docx", "application/zip"),
        ("macros", docm_bytes(), "a.docx", "application/octet-stream"),
        ("contradicts", png_bytes(), "a.pdf", "application/pdf"),
        ("empty", b"", "a.pdf", "application/pdf"),
    ]
    before = await _count(sql)
    for expect, content, name, ctype in refused:
        r = await upload(client, med, path, content, name, ctype)
        assert r.status_code == 415, (name, r.text)
        assert r.headers["content-type"] == PROBLEM
        body = r.json()
        assert body["type"].endswith("/unsupported-media-type")
        assert body["instance"] == f"{UPLOADS}/{path}"
        if expect != "contradicts":
            assert expect.lower() in body["detail"].lower(), body
        else:
            assert body["detected"] == "png" and "image/png" in body["detail"]
    assert await _count(sql) == before
    assert len(stored_files(settings)) == 2 and spooled(settings) == []

    # Not multipart at all.
    r = await client.post(f"{UPLOADS}/{path}", headers=med, content=pdf_bytes())
    assert r.status_code == 415 and r.headers["content-type"] == PROBLEM


async def test_audio_needs_recording_consent(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await mediating_case(client, world)
    med = await world.headers("mediator")
    path = f"cases/{case['id']}"
    r = await upload(client, med, path, mp3_bytes(), "录音.mp3", "audio/mpeg")
    assert r.status_code == 415
    assert r.json()["errors"][0]["field"] == "body.recording_consent"
    assert await _count(sql) == 0
    r = await upload(
        client,
        med,
        path,
        wav_bytes(),
        "调解录音.wav",
        "audio/wav",
        recording_consent="true",
        consent_note="双方当事人口头同意录音，已记入笔录",
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["file_type"] == "wav" and a["category"] == "recording"
    assert a["recording_consent"] is True and a["consent_note"].startswith("双方当事人")
    # Consent says nothing for a document: not kept.
    r = await upload(client, med, path, pdf_bytes(), recording_consent="true")
    assert r.json()["recording_consent"] is False


async def test_size_limit(
    client: httpx.AsyncClient, world: World, settings: Settings, sql: Any
) -> None:
    case = await mediating_case(client, world)
    med = await world.headers("mediator")
    path = f"cases/{case['id']}"
    just = b"%PDF-1.4\n" + b"0" * (LIMIT - 9)
    r = await upload(client, med, path, just)
    assert r.status_code == 201, r.text

    # Over the file limit but within the middleware's: refused while streaming.
    r = await upload(client, med, path, just + b"0")
    assert r.status_code == 413 and r.headers["content-type"] == PROBLEM
    assert r.json()["type"].endswith("/payload-too-large")
    assert f"larger than {LIMIT} bytes" in r.json()["detail"]
    # Far over: refused from Content-Length before the body is read.
    r = await upload(client, med, path, b"%PDF-1.4\n" + b"0" * (2 * LIMIT))
    assert r.status_code == 413 and r.headers["content-type"] == PROBLEM
    assert await _count(sql) == 1
    assert len(stored_files(settings)) == 1 and spooled(settings) == []

    # Other routes keep the ordinary body limit.
    r = await client.post(
        f"{CASES}/{case['id']}/comments",
        headers={**med, "Content-Type": "application/json"},
        content=b'{"body": "' + b"x" * (settings.max_body_bytes + 10) + b'"}',
    )
    assert r.status_code == 413


def _multipart(boundary: str, content: bytes, close: bool = True) -> bytes:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="category"\r\n\r\nevidence\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    return head + content + (f"\r\n--{boundary}--\r\n".encode() if close else b"")


async def test_a_slow_upload_holds_no_transaction_while_its_body_arrives(
    client: httpx.AsyncClient, world: World, settings: Settings, sql: Any
) -> None:
    """A photo sent over a slow field connection takes minutes: while its body arrives the
    request holds no database connection in a transaction (a pool of them would run out, and
    the center's other requests wait), and the file is stored once it is in."""
    case = await mediating_case(client, world)
    med = await world.headers("mediator")
    boundary = "b0undary" + uuid.uuid4().hex
    content = pdf_bytes() * 20  # once: a PDF carries the time it was made
    full = _multipart(boundary, content)
    half_sent, rest = asyncio.Event(), asyncio.Event()

    async def slow_body() -> Any:
        yield full[: len(full) // 2]
        half_sent.set()
        await rest.wait()
        yield full[len(full) // 2 :]

    sending = asyncio.create_task(
        client.post(
            f"{UPLOADS}/cases/{case['id']}",
            headers={**med, "Content-Type": f"multipart/form-data; boundary={boundary}"},
            content=slow_body(),
        )
    )
    await asyncio.wait_for(half_sent.wait(), 10)
    for _ in range(100):  # the server is writing the file's first half to its spool
        if spooled(settings):
            break
        await asyncio.sleep(0.05)
    assert spooled(settings), "the upload did not start"
    waiting = await sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
    )
    rest.set()
    r = await asyncio.wait_for(sending, 30)
    assert waiting[0][0] == 0
    assert r.status_code == 201, r.text
    got = await client.get(
        (await client.post(f"{ATTACHMENTS}/{r.json()['id']}/link", headers=med)).json()["url"]
    )
    assert got.content == content


async def test_an_upload_cut_off_halfway_leaves_nothing(
    client: httpx.AsyncClient, world: World, settings: Settings, sql: Any, app: Any
) -> None:
    case = await mediating_case(client, world)
    med = await world.headers("mediator")
    url = f"{UPLOADS}/cases/{case['id']}"
    events_before = (await sql("SELECT count(*) FROM case_events"))[0][0]

    # 1. The body ends before the closing boundary (the sender died after half the file).
    boundary = "b0undary" + uuid.uuid4().hex
    body = _multipart(boundary, pdf_bytes() * 20, close=False)[:-500]
    r = await client.post(
        url,
        headers={**med, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=body,
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"].endswith("/upload-incomplete")

    # 2. The connection drops mid-body: the server sees http.disconnect.
    full = _multipart(boundary, pdf_bytes() * 20)
    chunks = [full[: len(full) // 2]]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(), "more_body": True}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    token = med["Authorization"]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", token.encode()),
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"content-length", str(len(full)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400

    assert await _count(sql) == 0
    assert stored_files(settings) == [] and spooled(settings) == []
    assert (await sql("SELECT count(*) FROM case_events"))[0][0] == events_before

    # And the same upload, whole, goes through.
    r = await client.post(
        url,
        headers={**med, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=full,
    )
    assert r.status_code == 201, r.text


async def test_idempotent_upload(client: httpx.AsyncClient, world: World, sql: Any) -> None:
    case = await mediating_case(client, world)
    med = {**await world.headers("mediator"), "Idempotency-Key": "upload-1"}
    path = f"cases/{case['id']}"
    content = pdf_bytes("same")
    first = await upload(client, med, path, content)
    again = await upload(client, med, path, content)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await _count(sql) == 1
    other = await upload(client, med, path, pdf_bytes("another"))
    assert other.status_code == 422 and other.headers["content-type"] == PROBLEM


async def test_who_may_add_and_see(client: httpx.AsyncClient, world: World, sql: Any) -> None:
    case = await mediating_case(client, world)
    path = f"cases/{case['id']}"
    # A grid head who did not report this case (the dispatcher did) does not change it.
    r = await upload(client, await world.headers("grid_head"), path, pdf_bytes())
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
    # A handler-capable role that does not handle this case.
    r = await upload(client, await world.headers("police"), path, pdf_bytes())
    assert r.status_code == 403
    # Unknown case, and a case outside the caller's subtree: it does not exist.
    r = await upload(client, await world.headers("mediator"), f"cases/{uuid.uuid4()}", pdf_bytes())
    assert r.status_code == 404
    elsewhere = await new_case(client, world, unit_id=str(world.unit(OTHER_GRID).id))
    r = await upload(
        client, await world.headers("dispatcher"), f"cases/{elsewhere['id']}", pdf_bytes()
    )
    assert r.status_code == 201  # the dispatcher's subtree is the district
    a = r.json()
    # The building head of 先锋社区 1号楼 sees neither the case nor its attachment.
    building = await world.headers("building_head")
    assert (await client.get(f"{ATTACHMENTS}/{a['id']}", headers=building)).status_code == 404
    assert (await client.post(f"{ATTACHMENTS}/{a['id']}/link", headers=building)).status_code == 404
    assert await _count(sql) == 1


async def test_follow_up_attachments_and_removal(
    client: httpx.AsyncClient, world: World, settings: Settings, sql: Any
) -> None:
    from tests.casefiles.conftest import AGREEMENT

    case = await mediating_case(client, world)
    med = await world.headers("mediator")
    case = await act(client, med, case, "resolve", {"agreement": AGREEMENT})
    case = await act(
        client,
        med,
        case,
        "follow-ups",
        {
            "method": "visit",
            "performance": "full",
            "satisfaction": "satisfied",
            "flare_up_risk": "low",
            "notes": "已履行",
        },
    )
    fu = (await client.get(f"{CASES}/{case['id']}/follow-ups", headers=med)).json()[0]
    r = await upload(
        client,
        med,
        f"follow-ups/{fu['id']}",
        jpeg_bytes(),
        "收据.jpg",
        "image/jpeg",
        category="performance_proof",
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["owner_type"] == "follow_up" and a["case_id"] == case["id"]
    r = await client.get(f"{CASES}/{case['id']}/follow-ups/{fu['id']}/attachments", headers=med)
    assert [i["id"] for i in r.json()["items"]] == [a["id"]]
    r = await client.get(
        f"{CASES}/{case['id']}/attachments", headers=med, params={"owner_type": "follow_up"}
    )
    assert [i["id"] for i in r.json()["items"]] == [a["id"]]
    r = await client.get(f"{CASES}/{uuid.uuid4()}/follow-ups/{fu['id']}/attachments", headers=med)
    assert r.status_code == 404

    # Removal: If-Match; the bytes go, the record stays with who and why.
    url = f"{ATTACHMENTS}/{a['id']}"
    r = await client.delete(url, headers=med, params={"reason": "误传"})
    assert r.status_code == 428
    r = await client.delete(url, headers={**med, "If-Match": '"x-1"'}, params={"reason": "误传"})
    assert r.status_code == 412
    r = await client.delete(
        url, headers={**med, "If-Match": f'"{a["id"]}-1"'}, params={"reason": "误传"}
    )
    assert r.status_code == 204
    assert stored_files(settings) == []
    assert (await client.get(url, headers=med)).status_code == 404
    row = (await sql("SELECT deleted_by_name, delete_reason FROM attachments"))[0]
    assert tuple(row) == ("冯调解", "误传")
    last = (await client.get(f"{CASES}/{case['id']}/timeline", headers=med)).json()["items"][-1]
    assert last["body"] == "删除附件：履行凭证《收据.jpg》"

    # A closed case's file is archived.
    dispatcher = await world.headers("dispatcher")
    case = (await client.get(f"{CASES}/{case['id']}", headers=dispatcher)).json()
    await act(client, dispatcher, case, "close", {"note": "结案"})
    r = await upload(client, dispatcher, f"cases/{case['id']}", pdf_bytes())
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM


async def test_a_failed_commit_removes_the_stored_file(
    client: httpx.AsyncClient, world: World, settings: Settings, sql: Any, monkeypatch: Any
) -> None:
    """The file is stored before the transaction commits; if the commit fails, the request's
    janitor deletes it: no file without its row."""
    from sqlalchemy.ext.asyncio import AsyncSession

    case = await mediating_case(client, world)
    med = await world.headers("mediator")
    original = AsyncSession.commit

    async def failing_commit(self: AsyncSession) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(AsyncSession, "commit", failing_commit)
    from sqlalchemy.ext.asyncio import AsyncSessionTransaction

    original_exit = AsyncSessionTransaction.__aexit__

    async def failing_exit(self: Any, type_: Any, value: Any, tb: Any) -> None:
        if type_ is None:
            await self.rollback()
            raise RuntimeError("commit failed")
        await original_exit(self, type_, value, tb)

    monkeypatch.setattr(AsyncSessionTransaction, "__aexit__", failing_exit)
    r = await upload(client, med, f"cases/{case['id']}", pdf_bytes())
    monkeypatch.setattr(AsyncSessionTransaction, "__aexit__", original_exit)
    monkeypatch.setattr(AsyncSession, "commit", original)
    assert r.status_code == 500 and r.headers["content-type"] == PROBLEM
    assert await _count(sql) == 0
    assert stored_files(settings) == [] and spooled(settings) == []


async def test_io_buffers_are_bounded(client: httpx.AsyncClient, world: World) -> None:
    """The upload path never reads the whole body at once: a large file passes through a
    streaming request body (httpx sends it in chunks) and is stored intact."""
    case = await mediating_case(client, world)
    med = await world.headers("mediator")
    content = b"%PDF-1.4\n" + bytes(range(256)) * 1000  # 256 KB
    r = await upload(client, med, f"cases/{case['id']}", content)
    assert r.status_code == 201
    url = (await client.post(f"{ATTACHMENTS}/{r.json()['id']}/link", headers=med)).json()["url"]
    got = await client.get(url)
    assert hashlib.sha256(got.content).hexdigest() == r.json()["sha256"]
    assert io.BytesIO(got.content).getvalue() == content


async def test_reporters_add_evidence_while_the_case_is_open(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """The grid head who reported a dispute attaches the photo they took; the owners'
    committee (业委会) reports in its grid; neither changes what others added or a case that
    is no longer open."""
    grid_head = await world.headers("grid_head")
    r = await client.post(CASES, headers=grid_head, json=case_body(world))
    assert r.status_code == 201, r.text
    case = r.json()
    photo = await upload(
        client,
        grid_head,
        f"cases/{case['id']}",
        jpeg_bytes(),
        "现场照片.jpg",
        "image/jpeg",
        category="evidence",
    )
    assert photo.status_code == 201, photo.text
    assert photo.json()["uploaded_by_name"] == "孙网格"
    timeline = (await client.get(f"{CASES}/{case['id']}/timeline", headers=grid_head)).json()
    assert timeline["items"][-1]["body"] == "上传附件：证据材料《现场照片.jpg》"
    # Not the follow-ups or sessions of the case: those belong to its handlers.
    dispatcher = await world.headers("dispatcher")
    case = await act(client, dispatcher, case, "accept", {"note": "符合受理条件"})
    by_dispatcher = await upload(client, dispatcher, f"cases/{case['id']}", pdf_bytes())
    assert by_dispatcher.status_code == 201
    # Others' attachments stay; their own goes (while open).
    r = await client.delete(
        f"{ATTACHMENTS}/{by_dispatcher.json()['id']}",
        headers={**grid_head, "If-Match": by_dispatcher.headers["ETag"]},
        params={"reason": "不是我传的"},
    )
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
    # Another reporter-capable role who did not report it.
    r = await upload(
        client, await world.headers("owners_committee"), f"cases/{case['id']}", pdf_bytes()
    )
    assert r.status_code == 403

    # The owners' committee reports within its grid, and adds to its own report ...
    committee = await world.headers("owners_committee")
    r = await client.post(CASES, headers=committee, json=case_body(world, source="grid_report"))
    assert r.status_code == 201, r.text
    own = r.json()
    assert own["reported_by"]["name"] == "吴业委"
    r = await upload(client, committee, f"cases/{own['id']}", pdf_bytes())
    assert r.status_code == 201, r.text
    # ... but not outside it.
    before = await sql("SELECT count(*) FROM cases")
    r = await client.post(
        CASES, headers=committee, json=case_body(world, unit_id=str(world.unit(OTHER_GRID).id))
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.unit_id"
    assert await sql("SELECT count(*) FROM cases") == before

    # Once the case is no longer open (withdrawn here), the reporter adds nothing: 409.
    case = await act(client, dispatcher, case, "withdraw", {"reason": "当事人已自行和解"})
    before = await _count(sql)
    r = await upload(client, grid_head, f"cases/{case['id']}", pdf_bytes())
    assert r.status_code == 409 and "open" in r.json()["detail"]
    r = await client.delete(
        f"{ATTACHMENTS}/{photo.json()['id']}",
        headers={**grid_head, "If-Match": photo.headers["ETag"]},
        params={"reason": "误传"},
    )
    assert r.status_code == 409
    assert await _count(sql) == before
