from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from screening.importing import preview
from screening.models import Dataset
from screening.services import dataset_local_path

CSV = "采购人,中标人,中标日期,金额,数量,备注\n昆山市教育局,甲公司,2024年3月5日,1000.50,3,首次\n" \
      "昆山市教育局,乙公司,2024/3/6,20,4,\n昆山市卫健委,丙公司,2024-03-07,,5,无\n"


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_it_imports_csv_in_every_encoding_with_inferred_types(make_dataset, encoding):
    ds = make_dataset(CSV, encoding=encoding)
    assert ds.row_count == 3
    assert ds.columns == [
        {"name": "采购人", "type": "text"}, {"name": "中标人", "type": "text"}, {"name": "中标日期", "type": "date"},
        {"name": "金额", "type": "decimal"}, {"name": "数量", "type": "integer"}, {"name": "备注", "type": "text"},
    ]
    rows = preview(Path(dataset_local_path(ds)))
    assert rows[0]["中标日期"] == "2024-03-05" and rows[1]["中标日期"] == "2024-03-06"
    assert rows[2]["金额"] is None and rows[0]["金额"] == "1000.50"
    assert ds.file.name.startswith("datasets/") and ds.file.name.endswith(".parquet")


def test_an_impossible_date_makes_the_column_text(make_dataset):
    ds = make_dataset("d\n2024-02-30\n2024-02-28\n")
    assert ds.columns == [{"name": "d", "type": "text"}]


def test_a_ragged_row_is_refused_naming_line_and_column_and_nothing_is_stored(make_dataset, settings):
    with pytest.raises(ValidationError) as err:
        make_dataset("a,b,c\n1,2,3\n4,5\n")
    message = err.value.message_dict["file"][0]
    assert "3" in message and "c" in message
    assert Dataset.objects.count() == 0
    assert media_files(settings) == []


def test_binary_junk_and_wrong_extensions_are_refused(make_dataset):
    with pytest.raises(ValidationError):
        make_dataset(b"\x00\x01\x02binary", filename="x.csv")
    with pytest.raises(ValidationError):
        make_dataset(b"not a workbook", filename="x.xlsx")
    with pytest.raises(ValidationError):
        make_dataset("a\n1\n", filename="x.exe")
    with pytest.raises(ValidationError):
        make_dataset("a,b\n", filename="empty.csv")
    assert Dataset.objects.count() == 0


def test_it_imports_xlsx_with_date_cells(make_dataset):
    wb = Workbook()
    ws = wb.active
    ws.append(["企业", "处罚日期", "金额"])
    ws.append(["甲公司", dt.datetime(2024, 3, 5), 1200])
    ws.append(["乙公司", dt.date(2024, 4, 1), 99.5])
    buf = io.BytesIO()
    wb.save(buf)
    ds = make_dataset(buf.getvalue(), filename="p.xlsx")
    assert ds.row_count == 2
    assert ds.column_types == {"企业": "text", "处罚日期": "date", "金额": "decimal"}


def test_a_file_over_the_size_limit_is_refused(make_dataset, settings):
    settings.HUOYAN_DATASET_MAX_BYTES = 10
    with pytest.raises(ValidationError) as err:
        make_dataset("a,b\n1,2\n3,4\n")
    assert "MB" in err.value.message_dict["file"][0]
    assert Dataset.objects.count() == 0


def test_errors_are_translated_to_chinese(make_dataset):
    from django.utils import translation

    with translation.override("zh-hans"), pytest.raises(ValidationError) as err:
        make_dataset("a,b,c\n1,2,3\n4,5\n")
    assert err.value.message_dict["file"][0].startswith("第 3 行")


def test_a_path_traversal_file_name_is_stored_under_a_generated_name(make_dataset, settings):
    ds = make_dataset("a,b\n1,2\n", filename="../../etc/passwd.csv")
    assert ds.original_filename == "passwd.csv"
    assert ds.file.name.startswith("datasets/") and ".." not in ds.file.name
    files = media_files(settings)
    assert len(files) == 1 and files[0].parent == Path(settings.MEDIA_ROOT) / "datasets"
