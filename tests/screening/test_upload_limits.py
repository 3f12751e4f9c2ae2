"""Uploads are capped before they are read (issue 10, "XLSX zip bomb"): a row cap for CSV and
XLSX, an unpacked-size cap for XLSX, a clear 400 that names no server path, and a large file is
imported by the worker while its dataset shows the progress."""

from __future__ import annotations

import io
import tempfile
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from screening import services
from screening.models import Dataset, DatasetStatus

pytestmark = pytest.mark.django_db


def xlsx_bomb(rows: int) -> bytes:
    """A real workbook (made by openpyxl) whose sheet is swapped for `rows` identical rows: a few
    hundred KiB that unpack to tens of MB and to millions of rows."""
    wb = Workbook()
    wb.active.append(["金额"])
    wb.active.append([1])
    plain = io.BytesIO()
    wb.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(info, src.read(info))
                continue
            with dst.open("xl/worksheets/sheet1.xml", "w") as sheet:
                sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
                            b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                            b'<row><c t="inlineStr"><is><t>amount</t></is></c></row>')
                block = b"<row><c><v>1</v></c></row>" * 10_000
                for _ in range(rows // 10_000):
                    sheet.write(block)
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def upload(client, data: bytes, filename: str):
    f = SimpleUploadedFile(filename, data)
    return client.post("/api/v1/datasets/", {"name": "炸弹", "file": f, "org_unit": "kunshan"}, format="multipart")


def test_an_xlsx_zip_bomb_of_millions_of_rows_is_a_400_before_it_is_read(api, people):
    bomb = xlsx_bomb(2_500_000)
    assert len(bomb) < 1024 * 1024  # a small upload…
    r = upload(api(people.kunshan_supervisor), bomb, "合同.xlsx")
    assert r.status_code == 400, r.content  # …refused, not a 500 after a minute
    message = r.json()["file"][0]
    assert "more than 2,000,000 rows" in message
    assert tempfile.gettempdir() not in message and "huoyan-ds" not in message
    assert not Dataset.objects.exists()


def test_an_xlsx_that_unpacks_past_the_size_cap_is_refused_from_its_directory(api, people, settings):
    settings.HUOYAN_XLSX_MAX_UNPACKED_BYTES = 1024 * 1024
    bomb = xlsx_bomb(60_000)  # ~1.6 MB of XML
    r = upload(api(people.kunshan_supervisor), bomb, "a.xlsx")
    assert r.status_code == 400
    assert r.json()["file"] == ["The workbook unpacks to more than 1 MB; save it as CSV or split it."]


def test_a_csv_over_the_row_cap_is_refused_before_it_is_parsed(api, people, settings):
    settings.HUOYAN_DATASET_MAX_ROWS = 5
    text = "a,b\n" + "".join(f"{i},{i}\n" for i in range(6))
    r = upload(api(people.kunshan_supervisor), text.encode(), "a.csv")
    assert r.status_code == 400
    assert r.json()["file"] == ["The file has more than 5 rows; split it into smaller files (at most 5 rows each)."]
    ok = upload(api(people.kunshan_supervisor), text.rsplit("5,5\n", 1)[0].encode(), "a.csv")
    assert ok.status_code == 201 and ok.json()["row_count"] == 5


def test_an_unreadable_workbook_says_so_without_a_server_path(api, people):
    r = upload(api(people.kunshan_supervisor), b"PK\x03\x04" + b"\x00" * 200, "a.xlsx")
    assert r.status_code == 400
    message = r.json()["file"][0]
    assert message == "The file is not a readable XLSX workbook."


def test_import_errors_never_show_the_servers_temporary_path(tmp_path):
    from screening.importing import scrub_paths

    work = tmp_path / "huoyan-ds-abc"
    text = f'Error when sniffing file "{work}/xlsx.csv": bad; also {tempfile.gettempdir()}/other.csv'
    clean = scrub_paths(text, work / "upload.bin", work, "合同.xlsx")
    assert str(tmp_path) not in clean and tempfile.gettempdir() not in clean and "合同.xlsx" in clean


def test_a_large_file_is_imported_by_the_worker_with_progress(api, people, settings,
                                                              django_capture_on_commit_callbacks):
    settings.HUOYAN_DATASET_INLINE_ROWS = 5
    text = "单位,金额\n" + "".join(f"教育局,{i}\n" for i in range(40))
    client = api(people.kunshan_supervisor)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        r = upload(client, text.encode(), "big.csv")
    assert r.status_code == 202, r.content
    body = r.json()
    assert body["status"] == "importing" and body["progress"] == 0 and body["columns"] == []
    ds = Dataset.objects.get(pk=body["id"])
    # Not usable until it is ready: a preview says so in words.
    spec = {"steps": [{"id": "s", "type": "source", "dataset": "d"}]}
    r = client.post("/api/v1/screening-specs/preview/", {"spec": spec, "datasets": {"d": ds.pk}}, format="json")
    assert r.status_code == 400 and "not ready" in str(r.json())
    assert len(queued) == 1
    queued[0]()  # the worker's task (inline without a broker)
    got = client.get(f"/api/v1/datasets/{ds.pk}/").json()
    assert got["status"] == "ready" and got["progress"] == 100 and got["row_count"] == 40
    ds.refresh_from_db()
    assert ds.upload == "" and ds.file.name


def test_a_large_file_that_fails_in_the_worker_records_why(people, settings, django_capture_on_commit_callbacks):
    settings.HUOYAN_DATASET_INLINE_ROWS = 2
    bad = "a,b\n1,2\n3,4\n5,6,7\n"
    with django_capture_on_commit_callbacks(execute=True):
        ds = services.dataset_create(name="坏", org_unit=people.kunshan_supervisor.org_unit,
                                     upload=SimpleUploadedFile("b.csv", bad.encode()), by=people.kunshan_supervisor)
    ds.refresh_from_db()
    assert ds.status == DatasetStatus.FAILED and "Line 4" in ds.error and ds.upload == ""


def test_the_dataset_page_polls_the_progress_while_importing(client, people, settings,
                                                             django_capture_on_commit_callbacks):
    settings.HUOYAN_DATASET_INLINE_ROWS = 5
    client.force_login(people.kunshan_supervisor)
    text = "单位,金额\n" + "".join(f"教育局,{i}\n" for i in range(40))
    with django_capture_on_commit_callbacks(execute=False) as queued:
        r = client.post("/screening/datasets/", {"name": "大", "org_unit": "kunshan",
                                                 "file": SimpleUploadedFile("big.csv", text.encode())})
    ds = Dataset.objects.get()
    assert r.status_code == 302 and r.url == f"/screening/datasets/{ds.pk}/"
    page = client.get(r.url).content.decode()
    assert 'data-testid="dataset-progress"' in page and f"/screening/datasets/{ds.pk}/progress/" in page
    assert 'hx-trigger="every 2s"' in page
    poll = client.get(f"/screening/datasets/{ds.pk}/progress/", HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and "HX-Refresh" not in poll
    queued[0]()
    poll = client.get(f"/screening/datasets/{ds.pk}/progress/", HTTP_HX_REQUEST="true")
    assert poll["HX-Refresh"] == "true"
    assert 'data-testid="dataset-preview"' in client.get(r.url).content.decode()
