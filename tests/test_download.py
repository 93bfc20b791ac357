"""emocore.data.download against a local HTTP server (127.0.0.1) that supports, or ignores, Range requests."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from test_prepare import TESS_SR, make_zip, read_manifest, tiny_wav

from emocore.data import corpora, datasets, download, prepare
from emocore.data.corpora import DownloadSource
from emocore.exceptions import DatasetError, DownloadError, ParameterError

PAYLOAD = random.Random(0).randbytes(300_000)


# --------------------------------------------------------------------------- local server


@dataclass
class Served:
    """What a request got: its path, its Range header, the status and how many body bytes were sent."""

    path: str
    range: str | None
    status: int
    n_bytes: int


@dataclass
class FileServer:
    base_url: str
    routes: dict[str, bytes] = field(default_factory=dict)
    support_range: bool = True
    truncate_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before hanging up
    log: list[Served] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path


class RangeHandler(BaseHTTPRequestHandler):
    """Serves ``FileServer.routes``; honours ``Range: bytes=N-`` when ``support_range`` is set."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        state: FileServer = self.server.state
        path = unquote(urlsplit(self.path).path)
        range_header = self.headers.get("Range")
        body = state.routes.get(path)
        if body is None:
            self._reply(404, b"not found", {}, path, range_header)
            return
        status, headers = 200, {}
        if range_header and state.support_range:
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self._reply(416, b"", {"Content-Range": f"bytes */{len(body)}"}, path, range_header)
                return
            status, headers = 206, {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"}
            body = body[start:]
        self._reply(status, body, headers, path, range_header, state.truncate_after.get(path))

    def _reply(self, status, body, headers, path, range_header, truncate_after=None):
        sent = body if truncate_after is None else body[:truncate_after]
        # logged before anything goes out, so the log is in request order and complete by the
        # time the client has its answer
        self.server.state.log.append(Served(path, range_header, status, len(sent)))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes" if self.server.state.support_range else "none")
        for key, value in headers.items():
            self.send_header(key, value)
        if truncate_after is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(sent)
        self.wfile.flush()
        if truncate_after is not None:
            self.close_connection = True

    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.daemon_threads = True
    httpd.state = FileServer(base_url=f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield httpd.state
    httpd.shutdown()
    httpd.server_close()


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


# --------------------------------------------------------------------------- download_file


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_download_checks_digest(server, tmp_path, algorithm):
    server.routes["/data.bin"] = PAYLOAD
    dest = download.download_file(
        server.url("/data.bin"), tmp_path / "sub" / "data.bin", digest_of(PAYLOAD, algorithm), progress=False
    )
    assert dest == tmp_path / "sub" / "data.bin"
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "sub" / "data.bin.part").exists()
    assert [(s.range, s.status, s.n_bytes) for s in server.log] == [(None, 200, len(PAYLOAD))]


def test_digest_mismatch_removes_everything(server, tmp_path):
    server.routes["/data.bin"] = PAYLOAD
    wrong = digest_of(b"something else")
    with pytest.raises(DownloadError) as err:
        download.download_file(server.url("/data.bin"), tmp_path / "data.bin", wrong, progress=False)
    message = str(err.value)
    assert server.url("/data.bin") in message and wrong in message and digest_of(PAYLOAD) in message
    assert list(tmp_path.iterdir()) == []


def test_resume_fetches_only_the_remaining_bytes(server, tmp_path):
    server.routes["/data.bin"] = PAYLOAD
    done = 123_457
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:done])
    download.download_file(server.url("/data.bin"), tmp_path / "data.bin", digest_of(PAYLOAD), progress=False)
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD
    assert [(s.range, s.status, s.n_bytes) for s in server.log] == [
        (f"bytes={done}-", 206, len(PAYLOAD) - done)
    ]


def test_server_without_range_support_restarts_cleanly(server, tmp_path):
    server.routes["/data.bin"] = PAYLOAD
    server.support_range = False
    # junk that would corrupt the result if it were appended to
    (tmp_path / "data.bin.part").write_bytes(b"x" * 1000)
    download.download_file(server.url("/data.bin"), tmp_path / "data.bin", digest_of(PAYLOAD), progress=False)
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD
    assert [(s.status, s.n_bytes) for s in server.log] == [(200, len(PAYLOAD))]
    assert server.log[0].range == "bytes=1000-"


def test_interrupted_download_keeps_part_and_resumes(server, tmp_path):
    server.routes["/data.bin"] = PAYLOAD
    server.truncate_after["/data.bin"] = 100_000
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="resume"):
        download.download_file(server.url("/data.bin"), dest, digest_of(PAYLOAD), progress=False)
    assert not dest.exists()
    kept = (tmp_path / "data.bin.part").stat().st_size
    assert 0 < kept <= 100_000

    del server.truncate_after["/data.bin"]
    download.download_file(server.url("/data.bin"), dest, digest_of(PAYLOAD), progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert (server.log[-1].range, server.log[-1].n_bytes) == (f"bytes={kept}-", len(PAYLOAD) - kept)


def test_complete_part_file_is_not_fetched_again(server, tmp_path):
    server.routes["/data.bin"] = PAYLOAD
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD)
    download.download_file(server.url("/data.bin"), tmp_path / "data.bin", digest_of(PAYLOAD), progress=False)
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD
    assert [(s.status, s.n_bytes) for s in server.log] == [(416, 0)]


def test_existing_correct_file_is_not_downloaded(server, tmp_path):
    server.routes["/data.bin"] = PAYLOAD
    (tmp_path / "data.bin").write_bytes(PAYLOAD)
    download.download_file(
        server.url("/data.bin"), tmp_path / "data.bin", digest_of(PAYLOAD, "md5"), progress=False
    )
    assert server.log == []


def test_existing_wrong_file_is_downloaded_again(server, tmp_path):
    server.routes["/data.bin"] = PAYLOAD
    (tmp_path / "data.bin").write_bytes(b"stale")
    download.download_file(server.url("/data.bin"), tmp_path / "data.bin", digest_of(PAYLOAD), progress=False)
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD
    assert len(server.log) == 1


def test_without_digest_logs_the_sha256(server, tmp_path, caplog):
    server.routes["/data.bin"] = PAYLOAD
    with caplog.at_level("WARNING", logger="emocore.data.download"):
        download.download_file(server.url("/data.bin"), tmp_path / "data.bin", progress=False)
    assert digest_of(PAYLOAD) in caplog.text


def test_http_error_is_a_download_error(server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        download.download_file(server.url("/missing.zip"), tmp_path / "missing.zip", progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", ["sha1:abcd", "sha256:xyz", "md5:" + "0" * 31, "deadbeef"])
def test_malformed_digest_is_a_parameter_error(tmp_path, bad):
    with pytest.raises(ParameterError):
        download.download_file("http://127.0.0.1:9/x", tmp_path / "x", bad, progress=False)


# --------------------------------------------------------------------------- checksum APIs


@pytest.mark.parametrize("layout", ["legacy", "entries"])
def test_fetch_zenodo_md5(server, layout):
    entry = {"key": "Audio.zip", "checksum": digest_of(PAYLOAD, "md5"), "size": len(PAYLOAD)}
    files = [entry] if layout == "legacy" else {"enabled": True, "entries": {"Audio.zip": entry}}
    server.routes["/api/records/1"] = json.dumps({"files": files}).encode()
    assert download.fetch_zenodo_md5(server.url("/api/records/1"), "Audio.zip") == digest_of(PAYLOAD, "md5")
    with pytest.raises(DownloadError, match="no file named"):
        download.fetch_zenodo_md5(server.url("/api/records/1"), "Other.zip")


def test_dataverse_dataset_files_are_checked(server, tmp_path):
    wav = tiny_wav()
    listing = {
        "status": "OK",
        "data": [
            {
                "directoryLabel": "TESS/OAF_angry",
                "dataFile": {
                    "id": 11,
                    "filename": "OAF_back_angry.wav",
                    "checksum": {"type": "MD5", "value": hashlib.md5(wav).hexdigest()},
                },
            },
            {"dataFile": {"id": 12, "filename": "README.txt", "md5": hashlib.md5(b"readme").hexdigest()}},
            {"restricted": True, "dataFile": {"id": 13, "filename": "secret.wav"}},
        ],
    }
    server.routes["/api/datasets/:persistentId/versions/:latest-published/files"] = json.dumps(
        listing
    ).encode()
    server.routes["/api/access/datafile/11"] = wav
    server.routes["/api/access/datafile/12"] = b"readme"
    files = download.download_dataverse_dataset(server.base_url, "doi:10/X", tmp_path, progress=False)
    assert files == [tmp_path / "TESS" / "OAF_angry" / "OAF_back_angry.wav", tmp_path / "README.txt"]
    assert files[0].read_bytes() == wav
    assert "/api/access/datafile/13" not in [s.path for s in server.log]

    server.routes["/api/access/datafile/12"] = b"tampered"
    (tmp_path / "README.txt").unlink()
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download.download_dataverse_dataset(server.base_url, "doi:10/X", tmp_path, progress=False)


# --------------------------------------------------------------------------- whole corpora

TESS_OFFICIAL = {  # path in the archive -> (speaker, emotion folder, word)
    "TESS Toronto emotional speech set data/OAF_angry/OAF_back_angry.wav": ("OAF", "angry", "back"),
    "TESS Toronto emotional speech set data/OAF_Fear/OAF_bite_fear.wav": ("OAF", "fearful", "bite"),
    "TESS Toronto emotional speech set data/OAF_neutral/OAF_back_neutral.wav": ("OAF", "neutral", "back"),
    "TESS Toronto emotional speech set data/YAF_pleasant_surprised/YAF_bar_ps.wav": (
        "YAF",
        "surprised",
        "bar",
    ),
    "TESS Toronto emotional speech set data/YAF_disgust/yaf_bar_disgust.wav": ("YAF", "disgusted", "bar"),
    "TESS Toronto emotional speech set data/YAF_neutral/YAF_bar_neutral.wav": ("YAF", "neutral", "bar"),
}


def tess_zip() -> bytes:
    members = {name: tiny_wav(f0_hz=200 + 10 * i) for i, name in enumerate(TESS_OFFICIAL)}
    members["__MACOSX/TESS Toronto emotional speech set data/._OAF_back_angry.wav"] = b"resource fork"
    members["TESS Toronto emotional speech set data/readme.txt"] = b"not audio"
    return make_zip(members)


def test_download_corpus_tess_end_to_end(server, tmp_path):
    data = tess_zip()
    server.routes["/tess.zip"] = data
    root = tmp_path / "corpora"
    source = DownloadSource(
        kind="archive", url=server.url("/tess.zip"), filename="tess.zip", digest=digest_of(data)
    )
    corpus_dir = download.download_corpus("tess", root, sources=[source], progress=False)

    assert corpus_dir == root / "tess"
    expected = {f"{spk}/{emo}/{Path(name).name}" for name, (spk, emo, _) in TESS_OFFICIAL.items()}
    on_disk = {p.relative_to(corpus_dir).as_posix() for p in corpus_dir.rglob("*.wav")}
    assert on_disk == expected
    rows = read_manifest(corpus_dir)
    assert list(rows[0]) == list(prepare.TESS_COLUMNS)
    assert {r["path"] for r in rows} == expected
    by_path = {r["path"]: r for r in rows}
    row = by_path["YAF/surprised/YAF_bar_ps.wav"]
    assert (row["speaker"], row["emotion"], row["text_id"], row["text"], row["gender"]) == (
        "YAF",
        "surprised",
        "bar",
        "Say the word bar.",
        "F",
    )
    assert row["source_file"] == "YAF_bar_ps.wav"
    assert all(
        int(r["sample_rate"]) == TESS_SR and float(r["duration_s"]) == pytest.approx(0.1, abs=1e-3)
        for r in rows
    )
    assert (root / "_downloads" / "tess" / "tess.zip").is_file()
    assert not (root / "_downloads" / "tess" / "extracted").exists()

    # the prepared tree is what datasets reads
    neutral = datasets.list_utterances("tess", emotion="neutral", root=root)
    assert [(u.speaker, u.text_id) for u in neutral] == [("OAF", "back"), ("YAF", "bar")]
    # a second call finds the prepared corpus and downloads nothing
    n_requests = len(server.log)
    download.download_corpus("tess", root, sources=[source], progress=False)
    assert len(server.log) == n_requests


def test_download_corpus_tess_from_dataverse(server, tmp_path):
    wav = tiny_wav()
    listing = {
        "data": [
            {
                "directoryLabel": "OAF_neutral",
                "dataFile": {
                    "id": 7,
                    "filename": "OAF_youth_neutral.wav",
                    "checksum": {"type": "SHA-256", "value": hashlib.sha256(wav).hexdigest()},
                },
            }
        ]
    }
    server.routes["/api/datasets/:persistentId/versions/:latest-published/files"] = json.dumps(
        listing
    ).encode()
    server.routes["/api/access/datafile/7"] = wav
    source = DownloadSource(kind="dataverse", url=server.base_url, persistent_id="doi:10.5683/SP2/E8H2MF")
    corpus_dir = download.download_corpus("tess", tmp_path, sources=[source], progress=False)
    assert (corpus_dir / "OAF" / "neutral" / "OAF_youth_neutral.wav").read_bytes() == wav
    assert [r["text_id"] for r in read_manifest(corpus_dir)] == ["youth"]


RAVDESS_OFFICIAL = {
    "Actor_01/03-01-05-01-01-02-01.wav": ("Actor_01", "M", "angry", "normal", "01", "02"),
    "Actor_01/03-01-01-01-02-01-01.wav": ("Actor_01", "M", "neutral", "normal", "02", "01"),
    "Actor_02/03-01-08-02-02-01-02.wav": ("Actor_02", "F", "surprised", "strong", "02", "01"),
    "Actor_02/03-01-07-02-01-02-02.wav": ("Actor_02", "F", "disgusted", "strong", "01", "02"),
}


def test_download_corpus_ravdess_end_to_end(server, tmp_path):
    members = {name: tiny_wav(sr=48000) for name in RAVDESS_OFFICIAL}
    members["Actor_01/03-02-05-01-01-01-01.wav"] = tiny_wav(sr=48000)  # song: left out
    data = make_zip(members)
    server.routes["/Audio_Speech_Actors_01-24.zip"] = data
    server.routes["/api/records/1188976"] = json.dumps(
        {"files": [{"key": "Audio_Speech_Actors_01-24.zip", "checksum": digest_of(data, "md5")}]}
    ).encode()
    source = DownloadSource(
        kind="archive",
        url=server.url("/Audio_Speech_Actors_01-24.zip"),
        filename="Audio_Speech_Actors_01-24.zip",
        checksum_api=server.url("/api/records/1188976"),
    )
    corpus_dir = download.download_corpus("ravdess", tmp_path, sources=[source], progress=False)

    rows = read_manifest(corpus_dir)
    assert list(rows[0]) == list(prepare.RAVDESS_COLUMNS)
    got = {
        r["source_file"]: (
            r["speaker"],
            r["gender"],
            r["emotion"],
            r["intensity"],
            r["text_id"],
            r["repetition"],
        )
        for r in rows
    }
    assert got == {Path(name).name: fields for name, fields in RAVDESS_OFFICIAL.items()}
    for r in rows:
        assert (corpus_dir / r["path"]).is_file()
        assert r["path"] == f"{r['speaker']}/{r['emotion']}/{r['source_file']}"
        assert r["text"] == corpora.RAVDESS_STATEMENTS[r["text_id"]]
        assert int(r["sample_rate"]) == 48000
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)
    assert {u.uid for u in datasets.list_utterances("ravdess", root=tmp_path)} == {
        "ravdess/Actor_01/angry/01/normal/02",
        "ravdess/Actor_01/neutral/02/normal/01",
        "ravdess/Actor_02/surprised/02/strong/01",
        "ravdess/Actor_02/disgusted/01/strong/02",
    }


def test_download_corpus_checks_the_zenodo_md5(server, tmp_path):
    data = make_zip({"Actor_01/03-01-05-01-01-02-01.wav": tiny_wav()})
    server.routes["/a.zip"] = data
    server.routes["/api/records/9"] = json.dumps(
        {"files": [{"key": "a.zip", "checksum": digest_of(b"x", "md5")}]}
    ).encode()
    source = DownloadSource(
        kind="archive", url=server.url("/a.zip"), filename="a.zip", checksum_api=server.url("/api/records/9")
    )
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download.download_corpus("ravdess", tmp_path, sources=[source], progress=False)
    assert not (tmp_path / "ravdess").exists()


def test_unknown_corpus(tmp_path):
    with pytest.raises(DatasetError, match="tess, ravdess"):
        download.download_corpus("emodb", tmp_path)


def test_plain_url_sources_take_their_file_name(server, tmp_path):
    data = tess_zip()
    server.routes["/files/tess%20set.zip"] = data
    server.routes["/files/tess set.zip"] = data
    download.download_corpus("tess", tmp_path, sources=[server.url("/files/tess%20set.zip")], progress=False)
    assert (tmp_path / "_downloads" / "tess" / "tess set.zip").read_bytes() == data
