"""Fetch the corpora from their official hosts and lay them out as :mod:`emocore.data.datasets` expects.

:func:`download_corpus` runs the three steps for one corpus of :data:`emocore.data.corpora.CORPORA`:

1. download each source into ``<root>/_downloads/<corpus>/`` (:func:`download_file` resumes a
   partial ``.part`` file and checks the published checksum; a Dataverse source is fetched file by
   file through the Dataverse API, each checked against its listed md5);
2. extract archives (:func:`emocore.data.prepare.extract_archive`, which refuses members that would
   land outside);
3. reorganize the official layout into ``<root>/<corpus>/<speaker>/<emotion>/<file>`` with
   normalized emotion names and write ``manifest.csv`` (:mod:`emocore.data.prepare`).

``root`` defaults to :func:`emocore.paths.corpora_dir` (``$EMOCORE_DATA_DIR`` when set) if it is
writable, else ``data/raw`` in the repository. Both corpora are licensed for non-commercial use only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

import requests
from tqdm.auto import tqdm

from emocore import paths
from emocore.data import corpora
from emocore.data.corpora import DownloadSource
from emocore.data.datasets import MANIFEST_NAME
from emocore.data.prepare import PREPARERS, extract_archive
from emocore.exceptions import DownloadError, ParameterError
from emocore.io import file_digest

logger = logging.getLogger(__name__)

PART_SUFFIX = ".part"
DOWNLOADS_DIR = "_downloads"
DIGEST_ALGORITHMS = ("md5", "sha256")
HTTP_OK, HTTP_PARTIAL, HTTP_RANGE_NOT_SATISFIABLE = 200, 206, 416
DATAVERSE_FILES_API = (
    "{server}/api/datasets/:persistentId/versions/:latest-published/files?persistentId={pid}"
)
DATAVERSE_ACCESS_API = "{server}/api/access/datafile/{file_id}"
_DATAVERSE_CHECKSUM_TYPES = {"MD5": "md5", "SHA-256": "sha256"}


# --------------------------------------------------------------------------- checksums


def parse_digest(digest: str) -> tuple[str, str]:
    """Split ``"sha256:<hex>"`` or ``"md5:<hex>"`` into ``(algorithm, lower-case hex)``.

    Raises:
        ParameterError: unknown algorithm or malformed hex.
    """
    algorithm, sep, hexdigest = digest.partition(":")
    algorithm, hexdigest = algorithm.strip().lower(), hexdigest.strip().lower()
    if not sep or algorithm not in DIGEST_ALGORITHMS:
        raise ParameterError(f"digest must look like 'sha256:<hex>' or 'md5:<hex>', got {digest!r}")
    expected_len = hashlib.new(algorithm).digest_size * 2
    if len(hexdigest) != expected_len or any(c not in "0123456789abcdef" for c in hexdigest):
        raise ParameterError(f"{algorithm} digest needs {expected_len} hex digits, got {hexdigest!r}")
    return algorithm, hexdigest


def labelled_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """The digest of a file as ``"<algorithm>:<hex>"``, the form the corpus specs publish."""
    return f"{algorithm}:{file_digest(path, algorithm)}"


# --------------------------------------------------------------------------- HTTP


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + PART_SUFFIX)


def _content_range_total(response: requests.Response) -> int | None:
    """``N`` of a ``Content-Range: bytes a-b/N`` (or ``bytes */N``) header, if given."""
    total = response.headers.get("Content-Range", "").rpartition("/")[2]
    return int(total) if total.isdigit() else None


def _content_range_start(response: requests.Response) -> int | None:
    unit_and_range = response.headers.get("Content-Range", "").partition("/")[0]
    start = unit_and_range.removeprefix("bytes ").partition("-")[0].strip()
    return int(start) if start.isdigit() else None


def _open_stream(url: str, offset: int, session: requests.Session, timeout: float):
    """GET ``url`` from byte ``offset``: ``(response, offset actually served, total size or None)``.

    The offset falls back to 0 when the server ignores the Range header (answers 200) or
    answers a range other than the one asked for. ``response`` is ``None`` when the ``.part``
    file is already complete (416 with a total equal to ``offset``).
    """
    # identity: byte offsets must refer to the file itself, not to a gzip of it
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    response = session.get(url, headers=headers, stream=True, timeout=timeout)
    if offset and response.status_code == HTTP_RANGE_NOT_SATISFIABLE:
        total = _content_range_total(response)
        response.close()
        if total == offset:
            return None, offset, total
        logger.info("%s: server refused the resume range; restarting", url)
        return _open_stream(url, 0, session, timeout)
    if response.status_code == HTTP_PARTIAL and offset and _content_range_start(response) == offset:
        return response, offset, _content_range_total(response)
    if response.status_code == HTTP_OK:
        if offset:
            logger.info("%s: server ignored the Range request; downloading from the start", url)
        length = response.headers.get("Content-Length", "")
        return response, 0, int(length) if length.isdigit() else None
    response.close()
    if response.status_code == HTTP_PARTIAL and offset:  # a range other than the one asked for
        logger.info("%s: server answered another range; downloading from the start", url)
        return _open_stream(url, 0, session, timeout)
    raise DownloadError(f"{url}: HTTP {response.status_code} {response.reason}")


def download_file(
    url: str,
    dest: str | Path,
    expected_digest: str | None = None,
    *,
    chunk_size: int = 1 << 16,
    progress: bool = True,
    timeout: float = 30,
    session: requests.Session | None = None,
) -> Path:
    """Download ``url`` to ``dest``, resuming a partial download and checking its digest.

    Bytes go to ``<dest>.part``; an existing ``.part`` is resumed with an HTTP Range request
    (from scratch if the server answers 200). Only a complete file whose digest matches is moved
    to ``dest`` (atomically, with ``os.replace``). Without ``expected_digest`` the sha256 of the
    download is logged, so it can be recorded.

    Args:
        url: what to fetch.
        dest: the final file path; parent folders are created.
        expected_digest: ``"sha256:<hex>"`` or ``"md5:<hex>"``, or ``None`` to skip the check.
        chunk_size: bytes per read from the network.
        progress: show a tqdm progress bar.
        timeout: seconds to wait for the server to connect or send data.
        session: a ``requests.Session`` to reuse connections (many small files).

    Returns:
        Path: ``dest``.

    Raises:
        DownloadError: HTTP error, network failure or a truncated body (the ``.part`` file is
            kept, so calling again resumes), or a digest mismatch (the ``.part`` file is deleted).
        ParameterError: malformed ``expected_digest``.
    """
    dest = Path(dest)
    expected = parse_digest(expected_digest) if expected_digest else None
    if dest.is_file():
        if expected is None:
            logger.info("%s exists; not downloading it again (no checksum to compare)", dest)
            return dest
        if labelled_digest(dest, expected[0]) == f"{expected[0]}:{expected[1]}":
            return dest
        logger.warning("%s exists but its %s does not match; downloading it again", dest, expected[0])

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _part_path(dest)
    own_session = session is None
    session = requests.Session() if own_session else session
    try:
        offset = part.stat().st_size if part.is_file() else 0
        response, offset, total = _open_stream(url, offset, session, timeout)
        if response is not None:
            with (
                response,
                open(part, "ab" if offset else "wb") as f,
                tqdm(
                    total=total,
                    initial=offset,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=dest.name,
                    disable=not progress,
                    leave=False,
                ) as bar,
            ):
                for chunk in response.iter_content(chunk_size=chunk_size):
                    f.write(chunk)
                    bar.update(len(chunk))
    except requests.RequestException as err:
        raise DownloadError(f"{url}: {err} (run again to resume from {part})") from err
    finally:
        if own_session:
            session.close()

    size = part.stat().st_size
    if total is not None and size != total:
        raise DownloadError(f"{url}: got {size} of {total} bytes (run again to resume from {part})")
    if expected is not None:
        actual = labelled_digest(part, expected[0])
        if actual != f"{expected[0]}:{expected[1]}":
            part.unlink()
            raise DownloadError(
                f"checksum mismatch for {url}: expected {expected[0]}:{expected[1]}, got {actual}; "
                "the partial file was deleted"
            )
    else:
        logger.warning("no checksum known for %s; its %s is %s", url, "sha256", labelled_digest(part))
    os.replace(part, dest)
    return dest


def _get_json(url: str, session: requests.Session, timeout: float) -> dict:
    try:
        response = session.get(url, timeout=timeout)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as err:
        raise DownloadError(f"{url}: {err}") from err


def fetch_zenodo_md5(api_url: str, filename: str, *, timeout: float = 30) -> str | None:
    """The md5 that a Zenodo record lists for one of its files.

    Args:
        api_url: the record API, e.g. ``https://zenodo.org/api/records/1188976``.
        filename: the file's key in the record.

    Returns:
        str | None: ``"md5:<hex>"``, or ``None`` when the record lists no checksum for it.

    Raises:
        DownloadError: the API cannot be reached or the record has no such file.
    """
    with requests.Session() as session:
        record = _get_json(api_url, session, timeout)
    files = record.get("files", [])
    if isinstance(files, dict):  # InvenioRDM: {"entries": [...] or {key: {...}}}
        files = files.get("entries", [])
        files = list(files.values()) if isinstance(files, dict) else files
    for entry in files:
        if entry.get("key", entry.get("filename")) == filename:
            checksum = entry.get("checksum")
            return checksum.lower() if checksum and checksum.lower().startswith("md5:") else None
    raise DownloadError(f"{api_url} lists no file named {filename!r}")


def _safe_join(base: Path, *relative: str) -> Path:
    """``base/relative`` if it stays inside ``base``, else :class:`DownloadError`."""
    joined = PurePosixPath(*(part.replace("\\", "/") for part in relative if part))
    if joined.is_absolute() or ".." in joined.parts:
        raise DownloadError(f"refusing path outside {base}: {joined}")
    return base.joinpath(*joined.parts)


def download_dataverse_dataset(
    server: str,
    persistent_id: str,
    dest_dir: str | Path,
    *,
    progress: bool = True,
    timeout: float = 30,
) -> list[Path]:
    """Download every public file of a Dataverse dataset, each checked against its listed checksum.

    File by file rather than as one zip, because Dataverse caps the size of a zipped dataset.

    Args:
        server: e.g. ``"https://borealisdata.ca"``.
        persistent_id: the dataset DOI, e.g. ``"doi:10.5683/SP2/E8H2MF"``.
        dest_dir: files go to ``dest_dir/<directoryLabel>/<filename>``.

    Returns:
        list[Path]: the downloaded files.

    Raises:
        DownloadError: the listing or a file cannot be fetched, or a checksum does not match.
    """
    server, dest_dir = server.rstrip("/"), Path(dest_dir)
    with requests.Session() as session:
        listing = _get_json(DATAVERSE_FILES_API.format(server=server, pid=persistent_id), session, timeout)
        entries = listing.get("data", [])
        if not entries:
            raise DownloadError(f"{server} lists no files for {persistent_id}")
        downloaded = []
        for entry in tqdm(entries, desc=persistent_id, unit="file", disable=not progress):
            data_file = entry["dataFile"]
            if entry.get("restricted") or data_file.get("restricted"):
                logger.warning("skipping restricted file %s", data_file.get("filename"))
                continue
            checksum = data_file.get("checksum") or {}
            algorithm = _DATAVERSE_CHECKSUM_TYPES.get(str(checksum.get("type", "")).upper())
            digest = f"{algorithm}:{checksum['value']}" if algorithm else None
            if digest is None and data_file.get("md5"):
                digest = f"md5:{data_file['md5']}"
            dest = _safe_join(dest_dir, entry.get("directoryLabel", ""), data_file["filename"])
            url = DATAVERSE_ACCESS_API.format(server=server, file_id=data_file["id"])
            downloaded.append(
                download_file(url, dest, digest, progress=False, timeout=timeout, session=session)
            )
    return downloaded


# --------------------------------------------------------------------------- the whole corpus


def _is_writable(folder: Path) -> bool:
    """Whether ``folder`` exists and is writable, or could be created."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK)
    return False


def default_download_root() -> Path:
    """:func:`emocore.paths.corpora_dir` if writable, else ``data/raw`` in the repository."""
    root = paths.corpora_dir()
    return root if _is_writable(root) else paths.repo_root() / "data" / "raw"


def _as_source(source: DownloadSource | str) -> DownloadSource:
    if isinstance(source, DownloadSource):
        return source
    filename = unquote(PurePosixPath(urlparse(source).path).name)
    return DownloadSource(kind="archive", url=source, filename=filename)


def download_corpus(
    name: str,
    root: str | Path | None = None,
    *,
    sources: Iterable[DownloadSource | str] | None = None,
    force: bool = False,
    progress: bool = True,
    timeout: float = 30,
) -> Path:
    """Download, extract and prepare one corpus of :data:`emocore.data.corpora.CORPORA`.

    Downloads are kept in ``<root>/_downloads/<name>/`` (so an interrupted run resumes and a
    finished archive is not fetched again); the extracted copy is removed once the files are in
    place. The corpus is licensed for non-commercial use only (``CORPORA[name].license``).

    Args:
        name: ``"tess"`` or ``"ravdess"``.
        root: the corpora folder; ``None`` for :func:`default_download_root`. Set
            ``$EMOCORE_DATA_DIR`` to this folder so :func:`emocore.data.datasets.list_utterances` finds it.
        sources: replaces ``CORPORA[name].sources``; plain strings are archive URLs (tests use a
            local server).
        force: prepare again even if ``<root>/<name>/manifest.csv`` exists.
        progress: show progress bars.
        timeout: seconds to wait for a server.

    Returns:
        Path: ``<root>/<name>``.

    Raises:
        DatasetError: unknown corpus, or the download holds none of its files.
        DownloadError: a download failed or did not match its checksum.
    """
    spec = corpora.get_corpus(name)
    root = default_download_root() if root is None else Path(root).expanduser().absolute()
    corpus_dir = root / name
    if (corpus_dir / MANIFEST_NAME).is_file() and not force:
        logger.info("%s is already prepared at %s", name, corpus_dir)
        return corpus_dir

    work_dir = root / DOWNLOADS_DIR / name
    extracted = work_dir / "extracted"
    for source in spec.sources if sources is None else [_as_source(s) for s in sources]:
        if source.kind == "dataverse":
            download_dataverse_dataset(
                source.url, source.persistent_id, extracted / "dataverse", progress=progress, timeout=timeout
            )
            continue
        digest = source.digest
        if digest is None and source.checksum_api:
            digest = fetch_zenodo_md5(source.checksum_api, source.filename, timeout=timeout)
        archive = download_file(
            source.url, work_dir / source.filename, digest, progress=progress, timeout=timeout
        )
        extract_archive(archive, extracted / archive.name.partition(".")[0])

    PREPARERS[name](extracted, root, move=True)
    shutil.rmtree(extracted, ignore_errors=True)
    logger.info("%s is ready at %s (%s: non-commercial use only)", spec.title, corpus_dir, spec.license)
    if root != paths.corpora_dir():
        logger.warning(
            "emocore looks for corpora in %s; set $%s=%s to use this one",
            paths.corpora_dir(),
            paths.DATA_ENV_VAR,
            root,
        )
    return corpus_dir
