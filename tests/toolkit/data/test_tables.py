import pytest

from biaskit.data import load_table, read_rows
from biaskit.errors import DataError


def test_reads_jsonl_csv_tsv_json(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "uno", "g": "f"}\n\n{"text": "dos", "g": "m"}\n')
    (tmp_path / "a.csv").write_text("text,g\nuno,f\n\"dos, tres\",m\n")
    (tmp_path / "a.tsv").write_text("text\tg\nuno\tf\n")
    (tmp_path / "a.json").write_text('[{"text": "uno"}]')
    assert [r["text"] for r in read_rows(tmp_path / "a.jsonl")] == ["uno", "dos"]
    assert read_rows(tmp_path / "a.csv")[1] == {"text": "dos, tres", "g": "m"}
    assert read_rows(tmp_path / "a.tsv") == [{"text": "uno", "g": "f"}]
    assert read_rows(tmp_path / "a.json") == [{"text": "uno"}]


def test_table_columns(tmp_path):
    (tmp_path / "a.csv").write_text("sentence,g,who\nla enfermera,f,enfermera\n")
    table = load_table(tmp_path / "a.csv", text="sentence", label="g", subject="who")
    assert table.texts == ["la enfermera"] and table.labels == ["f"]
    assert table.subjects == ["enfermera"]


@pytest.mark.parametrize("name, content, message", [
    ("x.jsonl", '{"text": 1}\n[1]\n', "x.jsonl:2: each line must be a JSON object"),
    ("x.json", '{"text": 1}', "expected a JSON list of objects"),
    ("x.txt", "hi", "use .jsonl, .json, .csv or .tsv"),
    ("x.csv", "", "empty file"),
    ("x.csv", "text,g\n,f\n", "row 1 has no value in column 'text'"),
    ("y.csv", "text\n", "no rows"),
])
def test_bad_files(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(DataError, match=message):
        load_table(tmp_path / name)


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_rows(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a directory"):
        read_rows(tmp_path)
