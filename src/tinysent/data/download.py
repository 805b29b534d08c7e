"""The official Sentiment140 archive: fetched once into the user cache, sha256-checked, resumable."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from tinysent.core.errors import DataError
from tinysent.core.files import cache_dir, file_sha256

OFFICIAL_URL = "https://cs.stanford.edu/people/alecmgo/trainingandtestdata.zip"
# Size and sha256 of the official archive, as recorded by tensorflow_datasets' checksums.tsv.
OFFICIAL_SIZE = 81_363_704
OFFICIAL_SHA256 = "004a3772c8a7ff9bbfeb875880f47f0679d93fc63e5cf9cff72d54a8a6162e57"


def download(
    url: str = OFFICIAL_URL,
    dest: str | os.PathLike | None = None,
    sha256: str | None = OFFICIAL_SHA256,
    progress: bool = True,
    timeout: float = 30,
) -> Path:
    """Fetch ``url`` to ``dest`` (default: the user cache), resuming a partial ``.part`` file.

    The final name appears only after the sha256 matched, so a failed or partial download never
    looks complete; a mismatching file is deleted.
    """
    from tqdm.auto import tqdm

    dest = Path(dest) if dest else cache_dir() / url.rsplit("/", 1)[-1]
    if dest.exists() and (sha256 is None or file_sha256(dest) == sha256):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the .part is already whole
            resp = None
        else:
            raise DataError(
                f"download of {url} failed: HTTP {e.code}. Retry, or pass --train-data / --test-data PATH"
            ) from e
    except OSError as e:
        raise DataError(
            f"cannot reach {url} ({e}). Offline? Pass --train-data / --test-data PATH with a local "
            "Sentiment140 file or folder."
        ) from e
    if resp is not None:
        with resp:
            if have and resp.status != 206:  # server ignored Range: start over
                have = 0
            total = resp.length + have if resp.length is not None else None
            with (
                open(part, "ab" if have else "wb") as f,
                tqdm(
                    total=total, initial=have, unit="B", unit_scale=True, desc=dest.name, disable=not progress
                ) as bar,
            ):
                while chunk := resp.read(1 << 16):
                    f.write(chunk)
                    bar.update(len(chunk))
    if sha256 is not None:
        got = file_sha256(part)
        if got != sha256:
            part.unlink()
            raise DataError(f"{url}: sha256 {got} does not match the expected {sha256}; the file was deleted")
    os.replace(part, dest)
    return dest
