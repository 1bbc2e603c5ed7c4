"""The streaming CSV reader on the kinds of files operators really upload."""

from __future__ import annotations

import codecs
import io

import pytest

from dealpilot.imports import csvfile
from dealpilot.imports.csvfile import (
    CSVFormatError,
    MissingColumnsError,
    map_columns,
    normalise_header,
    read_csv,
)


def rows(data: bytes, **kwargs: bool) -> list[tuple[int, dict[str, str]]]:
    return [(row.line, row.values) for row in read_csv(io.BytesIO(data), **kwargs)]


def test_plain_utf8_comma_file() -> None:
    f = read_csv(io.BytesIO(b"Email,Name\r\na@x.com,Ann\r\nb@x.com,Bob\r\n"))
    assert (f.encoding, f.delimiter, f.headers) == ("utf-8", ",", ["email", "name"])
    assert [(r.line, r.values) for r in f] == [
        (2, {"email": "a@x.com", "name": "Ann"}),
        (3, {"email": "b@x.com", "name": "Bob"}),
    ]


def test_utf8_bom_is_dropped_from_the_first_header() -> None:
    f = read_csv(io.BytesIO(codecs.BOM_UTF8 + "E-Mail;Name\nä@x.com;Zoë\n".encode()))
    assert f.headers == ["e mail", "name"]
    assert f.raw_headers == ["E-Mail", "Name"]
    assert f.delimiter == ";"
    assert [r.values for r in f] == [{"e mail": "ä@x.com", "name": "Zoë"}]


def test_semicolons_with_commas_in_values_european_excel() -> None:
    data = b"email;name;company\na@x.com;Smith, John;ACME, Inc\n"
    assert rows(data) == [(2, {"email": "a@x.com", "name": "Smith, John", "company": "ACME, Inc"})]


def test_excel_sep_line_names_the_delimiter() -> None:
    f = read_csv(io.BytesIO(b"sep=;\r\nemail;name, full\r\na@x.com;Lee, Ann\r\n"))
    assert (f.delimiter, f.headers) == (";", ["email", "name, full"])
    assert [(r.line, r.values["name, full"]) for r in f] == [(3, "Lee, Ann")]


@pytest.mark.parametrize(("delimiter", "name"), [("\t", "tab"), ("|", "pipe")])
def test_tab_and_pipe_delimiters(delimiter: str, name: str) -> None:
    data = f"email{delimiter}name\na@x.com{delimiter}{name}\n".encode()
    f = read_csv(io.BytesIO(data))
    assert f.delimiter == delimiter
    assert [r.values["name"] for r in f] == [name]


def test_quoted_commas_and_embedded_newlines_keep_line_numbers() -> None:
    data = (
        b'email,notes,name\n"a@x.com","line one\nline two, still notes",Ann\n'
        b"\n"  # blank lines are skipped but counted
        b'b@x.com,"say ""hi""",Bob\n'
    )
    assert rows(data) == [
        (2, {"email": "a@x.com", "notes": "line one\nline two, still notes", "name": "Ann"}),
        (5, {"email": "b@x.com", "notes": 'say "hi"', "name": "Bob"}),
    ]


@pytest.mark.parametrize(
    ("bom", "codec"), [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")]
)
def test_utf16_tab_separated_like_ahrefs(bom: bytes, codec: str) -> None:
    text = "Referring page URL\tDomain rating\tAnchor\nhttps://a.example/p\t71\tbest ‘tools’\n"
    f = read_csv(io.BytesIO(bom + text.encode(codec)))
    assert (f.encoding, f.delimiter) == (codec, "\t")
    assert f.headers == ["referring page url", "domain rating", "anchor"]
    assert [r.values["anchor"] for r in f] == ["best ‘tools’"]


def test_utf16_without_bom_is_recognised() -> None:
    f = read_csv(io.BytesIO("email\tname\na@x.com\tAnn\n".encode("utf-16-le")))
    assert f.encoding == "utf-16-le"
    assert [r.values for r in f] == [{"email": "a@x.com", "name": "Ann"}]


def test_cp1252_bytes_fail_with_the_line_and_a_hint() -> None:
    good = "".join(f"p{i}@x.com,Person {i}\n" for i in range(3000)).encode()
    data = b"email,name\n" + good + "z@x.com,Ren\u00e9e\n".encode("cp1252")
    f = read_csv(io.BytesIO(data))  # the bad byte is past the first chunk
    with pytest.raises(CSVFormatError) as info:
        list(f)
    assert info.value.line == 3002
    assert "UTF-8" in str(info.value)
    assert "save the file as 'CSV UTF-8'" in str(info.value)


def test_character_split_across_chunks_decodes() -> None:
    head = b"email,name\n" + b"a@x.com,Ann\n" * ((csvfile.CHUNK_BYTES // 12) + 5)
    cut = csvfile.CHUNK_BYTES - 1
    data = head[:cut] + "é".encode() + head[cut:]
    assert sum(1 for _ in read_csv(io.BytesIO(data), strict_columns=False)) > 5000


def test_empty_and_blank_files_are_refused() -> None:
    for data in (b"", b"\n\n  \r\n", codecs.BOM_UTF8, codecs.BOM_UTF16_LE):
        with pytest.raises(CSVFormatError, match="empty"):
            read_csv(io.BytesIO(data))


def test_header_only_file_has_no_rows() -> None:
    f = read_csv(io.BytesIO(b"email,name\n"))
    assert f.headers == ["email", "name"]
    assert list(f) == []


def test_header_of_empty_cells_is_skipped_like_a_blank_line() -> None:
    with pytest.raises(CSVFormatError, match="empty"):
        read_csv(io.BytesIO(b",,,\n,,\n"))


def test_spreadsheet_upload_is_refused() -> None:
    with pytest.raises(CSVFormatError, match="spreadsheet"):
        read_csv(io.BytesIO(b"PK\x03\x04\x14\x00\x06\x00rest-of-an-xlsx"))


def test_unclosed_quote_is_malformed() -> None:
    data = b'email,name\na@x.com,"Ann\nb@x.com,Bob\n'
    with pytest.raises(CSVFormatError, match="malformed") as info:
        list(read_csv(io.BytesIO(data)))
    assert info.value.line == 2


def test_more_cells_than_columns() -> None:
    data = b"email,name\na@x.com,Smith,John\n"
    with pytest.raises(CSVFormatError, match="3 cells but the header has 2") as info:
        list(read_csv(io.BytesIO(data)))
    assert info.value.line == 2
    assert rows(data, strict_columns=False) == [(2, {"email": "a@x.com", "name": "Smith"})]


def test_trailing_empty_cells_and_short_rows_are_tolerated() -> None:
    data = b"email,name,company\na@x.com,Ann,,,\nb@x.com\n"
    assert rows(data) == [
        (2, {"email": "a@x.com", "name": "Ann", "company": ""}),
        (3, {"email": "b@x.com", "name": "", "company": ""}),
    ]


def test_duplicate_and_empty_header_names_stay_distinct() -> None:
    f = read_csv(io.BytesIO(b"Email,email,,Name\n"))
    assert f.headers == ["email", "email 2", "column 3", "name"]


def test_reading_is_lazy() -> None:
    class Counting(io.BytesIO):
        reads = 0

        def read(self, size: int | None = -1) -> bytes:
            Counting.reads += 1
            return super().read(size)

    body = b"a@x.com,Ann\n" * (csvfile.CHUNK_BYTES // 4)  # about four chunks
    f = read_csv(Counting(b"email,name\n" + body))
    iterator = iter(f)
    next(iterator)
    assert Counting.reads == 1
    assert sum(1 for _ in iterator) == csvfile.CHUNK_BYTES // 4 - 1
    assert Counting.reads >= 5


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        (" E-Mail Address ", "e mail address"),
        ("\ufeffFirst_Name", "first name"),
        ("last  -  name", "last name"),
        ("Domain Rating", "domain rating"),
    ],
)
def test_normalise_header(raw: str, normal: str) -> None:
    assert normalise_header(raw) == normal


def test_map_columns_prefers_earlier_aliases_and_reports_missing() -> None:
    aliases = {
        "email": ("e-mail", "email address", "mail"),
        "name": ("full name", "contact name"),
        "phone": ("mobile", "telephone"),
    }
    mapping = map_columns(["mail", "E-mail", "Contact_Name", "notes"], aliases, ["email", "name"])
    assert mapping.columns == {"email": "E-mail", "name": "Contact_Name"}
    assert mapping.missing == ()
    assert mapping.get({"E-mail": " a@x.com ", "Contact_Name": "Ann"}, "email") == "a@x.com"
    assert mapping.get({"E-mail": "a@x.com"}, "phone") == ""

    with pytest.raises(MissingColumnsError) as info:
        map_columns(["name", "company"], aliases, ["email"]).require()
    assert info.value.missing == ("email",)
    assert "no column for email" in str(info.value)
    assert "'name', 'company'" in str(info.value)
