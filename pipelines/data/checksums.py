"""The one table of dataset file checksums, and verified copying from a mirror.

Every file the data layer reads from a mirror or a torchvision download is checked
against this table before use, so a result can always be traced to exact bytes.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipelines.data.atomic import atomic_target
from pipelines.data.errors import ChecksumError, DataNotFoundError


@dataclass(frozen=True)
class FileSum:
    """Published size and digests of one dataset file.

    Attributes:
        size: Size in bytes.
        sha256: SHA-256 hex digest (from the mirror's MANIFEST.md).
        md5: MD5 hex digest torchvision checks, or ``None`` when torchvision has none.

    """

    size: int
    sha256: str
    md5: str | None = None


# Paths are relative to the mirror root and to the data root alike (same layout).
# MNIST/Fashion-MNIST md5s are torchvision's; the tests assert they still agree.
FILE_SUMS: dict[str, FileSum] = {
    "MNIST/raw/train-images-idx3-ubyte.gz": FileSum(
        9912422,
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ),
    "MNIST/raw/train-labels-idx1-ubyte.gz": FileSum(
        28881,
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "d53e105ee54ea40749a09fcbcd1e9432",
    ),
    "MNIST/raw/t10k-images-idx3-ubyte.gz": FileSum(
        1648877,
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "9fb629c4189551a2d022fa330f9573f3",
    ),
    "MNIST/raw/t10k-labels-idx1-ubyte.gz": FileSum(
        4542,
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        "ec29112dd5afa0611ce80d1b7f02629c",
    ),
    "FashionMNIST/raw/train-images-idx3-ubyte.gz": FileSum(
        26421880,
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    "FashionMNIST/raw/train-labels-idx1-ubyte.gz": FileSum(
        29515,
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "25c81989df183df01b3e8a0aad5dffbe",
    ),
    "FashionMNIST/raw/t10k-images-idx3-ubyte.gz": FileSum(
        4422102,
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "bef4ecab320f06d8554ea6380940ec79",
    ),
    "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz": FileSum(
        5148,
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ),
    "cifar10/cifar10_train_batch1_first4000.npz": FileSum(
        11335264, "f21ba659b327871ec330654ccdc95e0da52b1b39c04c467a581440516466148c"
    ),
    "cifar10/cifar10_test_jpeg_500perclass.npz": FileSum(
        14200843, "da149540505e15386846fcb86e40f39e88b5ea0c120afd475705ab2df2832091"
    ),
    "cifar10/cifar10_test_first20_lossless.npz": FileSum(
        59587, "457704ba37c7d8a70312dbfeff9b88514bec078fed13f95cb0a119c54fdffc64"
    ),
    "celeba/celeba64_crop148_first2000.npz": FileSum(
        22406504, "6c050e47aafcdbe5ca02a6b4fe81fdbc61022ea3fbd5a50977d7e2451017bb3b"
    ),
}

# SHA-256 of the 32 full-size CelebA originals concatenated in name order (MANIFEST.md).
CELEBA_ORIG32_DIR = "celeba/img_align_celeba_orig32"
CELEBA_ORIG32_SHA256 = "0100fae87c78e3981cd30cb7ce71c87988684feec8fd6532cd6d527844e8b298"

_CHUNK = 1 << 20


def file_digests(path: Path) -> tuple[str, str]:
    """Return the (sha256, md5) hex digests of a file, read once."""
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.hexdigest()


def verify_file(path: Path, rel: str, hint: str, shown: Path | None = None) -> dict[str, object]:
    """Check a file against :data:`FILE_SUMS` and describe the check.

    Args:
        path: The file on disk.
        rel: Its key in :data:`FILE_SUMS`.
        hint: What the user should do if it is bad (appended to the message).
        shown: The path to name in the error, when ``path`` is a temporary copy of it.

    Returns:
        A JSON-ready record of the file and the digest that was verified.

    Raises:
        ChecksumError: If the size or digest differs (a truncated file names both sizes).

    """
    expected = FILE_SUMS[rel]
    size = path.stat().st_size
    sha, md5 = file_digests(path)
    if sha != expected.sha256 or size != expected.size:
        why = (
            f"truncated ({size} of {expected.size} bytes)"
            if size < expected.size
            else f"corrupted (size {size}, expected {expected.size}; sha256 {sha}, "
            f"expected {expected.sha256})"
        )
        raise ChecksumError(f"checksum mismatch for {shown or path}: the file is {why}. {hint}")
    return {"file": rel, "bytes": size, "sha256": sha, "md5": md5, "verified": True}


def copy_verified(mirror: Path, data_root: Path, rel: str) -> dict[str, object]:
    """Copy ``mirror/rel`` to ``data_root/rel`` atomically, verifying it on the way.

    The copy is checked before it replaces anything, so a bad mirror file never lands
    in the data root.

    Args:
        mirror: Mirror root folder.
        data_root: Project data root.
        rel: Relative path, a key of :data:`FILE_SUMS`.

    Returns:
        The verification record (the file's path relative to the mirror, its checksums);
        the mirror's location is left out so that ``meta.json`` does not depend on it.

    Raises:
        DataNotFoundError: If the mirror lacks the file.
        ChecksumError: If the mirror's copy is corrupted or truncated.

    """
    src = mirror / rel
    if not src.is_file():
        raise DataNotFoundError(
            f"{src} not found: the mirror {mirror} should hold {rel} (see its MANIFEST.md); "
            "fix FSVAE_DATA_MIRROR / --mirror or restore the file"
        )
    dest = data_root / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(dest) as tmp:
        with open(tmp, "xb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, _CHUNK)
        hint = f"Restore {src} from the source named in {mirror / 'MANIFEST.md'}, then rerun."
        record = verify_file(tmp, rel, hint, shown=src)
    return record
