import gzip
import hashlib
import http.server
import lzma
import threading
import zipfile

import numpy as np
import pytest

from tinysent.data import sentiment140 as D

from .conftest import make_tweets, write_six_col


def test_reads_six_column_without_losing_the_first_row(tmp_path):
    rows = make_tweets(10)
    c = D.read(write_six_col(tmp_path / "t.csv", rows, neutral=3))
    assert len(c) == 13 and c.columns == 6
    assert c.texts[0] == rows[0][1] and c.lines[0] == 1  # the original notebook lost this row
    assert c.label_counts() == {"negative": 5, "neutral": 3, "positive": 5}
    assert len(c.polar()) == 10 and c.n_neutral == 3


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.xz"])
def test_two_column_plain_and_compressed(tmp_path, suffix):
    src = D.read(write_six_col(tmp_path / "six.csv", make_tweets(20)))
    out = tmp_path / ("two" + suffix)
    D.write_csv(src, out)
    back = D.read(out)
    assert back.columns == 2 and back.texts == src.texts
    assert back.polarity.tolist() == src.polarity.tolist()
    opener = {".gz": gzip.open, ".xz": lzma.open}.get(out.suffix, open)
    with opener(out, "rb") as f:
        assert f.read().startswith(b'"0","')


def test_zip_members(tmp_path):
    train = write_six_col(tmp_path / D.TRAIN_MEMBER, make_tweets(8))
    test = write_six_col(tmp_path / D.TEST_MEMBER, make_tweets(4), neutral=2)
    z = tmp_path / "trainingandtestdata.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(train, D.TRAIN_MEMBER)
        zf.write(test, D.TEST_MEMBER)
    assert len(D.load(z, "train")) == 8
    assert len(D.load(z, "test")) == 6
    with pytest.raises(D.DataError, match="no member"):
        D.read(z, member="nope.csv")


def test_folder_resolution(tmp_path):
    write_six_col(tmp_path / D.TEST_MEMBER, make_tweets(4))
    assert D.resolve(tmp_path, "test")[0].name == D.TEST_MEMBER
    with pytest.raises(D.DataError, match="holds none of"):
        D.resolve(tmp_path, "train")


def _malformed_file(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(
        b'"0","1","d","q","u","fine tweet"\n'
        b'"0","2","d","q","u"\n'  # 5 columns
        b'"3","3","d","q","u","bad polarity"\n'
        b'"4","4","d","q","u","   "\n'  # empty text
        b'"4","5","d","q","u","caf\xe9 ok in latin-1"\n'
    )
    return p


def test_malformed_rows_are_counted_with_line_numbers(tmp_path):
    c = D.read(_malformed_file(tmp_path))
    assert len(c) == 2
    assert [(p.line, p.kind) for p in c.problems] == [(2, "columns"), (3, "polarity"), (4, "empty")]
    assert c.texts[1] == "café ok in latin-1"


def test_undecodable_bytes_under_utf8(tmp_path):
    c = D.read(_malformed_file(tmp_path), encoding="utf-8")
    assert (5, "undecodable") in [(p.line, p.kind) for p in c.problems]


def test_strict_stops_at_first_problem_with_a_clear_message(tmp_path):
    with pytest.raises(D.DataError, match=r"line 2: expected 6 columns, found 5 \(drop --strict"):
        D.read(_malformed_file(tmp_path), strict=True)


def test_missing_file_names_the_fix(tmp_path):
    with pytest.raises(D.DataError, match="--train-data / --test-data"):
        D.read(tmp_path / "nope.csv")


def test_duplicates_and_conflicts(tmp_path):
    rows = [(0, "same"), (0, "same"), (4, "same"), (4, "happy"), (4, "happy"), (0, "sad")]
    c = D.read(write_six_col(tmp_path / "d.csv", rows))
    assert D.duplicate_stats(c) == {"duplicate_rows": 2, "conflicting_texts": 1, "conflicting_rows": 3}
    assert D.deduplicate(c).texts == ["same", "same", "happy", "sad"]
    assert D.deduplicate(c, drop_conflicts=True).texts == ["happy", "sad"]


def test_split_is_stratified_deterministic_and_machine_independent():
    pol = np.array([0] * 500 + [4] * 300)
    tr, va = D.stratified_split(pol, 0.1, seed=3)
    assert len(va) == 80 and (pol[va] == 0).sum() == 50
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(800))
    tr2, va2 = D.stratified_split(pol, 0.1, seed=3)
    assert va.tolist() == va2.tolist()
    assert D.stratified_split(pol, 0.1, seed=4)[1].tolist() != va.tolist()
    # PCG64 is specified bit for bit: this digest is the same on every machine.
    assert hashlib.sha256(va.astype("<i8").tobytes()).hexdigest()[:16] == "11edbf280627b22d"


def test_stratified_sample_keeps_proportions():
    pol = np.array([0] * 600 + [4] * 400)
    s = D.stratified_sample(pol, 100, seed=0)
    assert len(s) == 100 and (pol[s] == 0).sum() == 60
    assert len(D.stratified_sample(pol, 5000)) == 1000


def test_summary_fields(tmp_path):
    s = D.summary(D.read(_malformed_file(tmp_path)))
    assert s["rows"] == 2 and s["malformed"]["total"] == 3 and s["malformed"]["columns"] == 1
    assert s["malformed_examples"][0] == {
        "line": 2,
        "kind": "columns",
        "detail": "expected 6 columns, found 5",
    }
    assert set(s["text_chars"]) == {"p5", "p50", "p95", "p99", "p100"}


# --- download ----------------------------------------------------------------------------------


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    payload = b""
    cut = None  # stop after this many bytes (simulates a dropped connection)

    def do_GET(self):  # noqa: N802
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
        else:
            self.send_response(200)
        body = self.payload[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if self.cut is None else body[: self.cut])

    def log_message(self, *a):
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield srv
    srv.shutdown()


def test_download_verifies_and_resumes(server, tmp_path):
    payload = bytes(range(256)) * 400
    _RangeHandler.payload, _RangeHandler.cut = payload, None
    url = f"http://127.0.0.1:{server.server_port}/trainingandtestdata.zip"
    sha = hashlib.sha256(payload).hexdigest()
    dest = tmp_path / "a.zip"
    (tmp_path / "a.zip.part").write_bytes(payload[:1000])  # an interrupted earlier download
    assert D.download(url, dest, sha, progress=False) == dest
    assert dest.read_bytes() == payload and not (tmp_path / "a.zip.part").exists()


def test_failed_download_never_looks_complete(server, tmp_path):
    _RangeHandler.payload, _RangeHandler.cut = b"x" * 5000, None
    url = f"http://127.0.0.1:{server.server_port}/f.zip"
    with pytest.raises(D.DataError, match="does not match"):
        D.download(url, tmp_path / "f.zip", "0" * 64, progress=False)
    assert not (tmp_path / "f.zip").exists() and not (tmp_path / "f.zip.part").exists()


def test_offline_download_says_use_data(tmp_path):
    with pytest.raises(D.DataError, match="--train-data / --test-data PATH"):
        D.download("http://127.0.0.1:9/x.zip", tmp_path / "x.zip", progress=False, timeout=2)
