"""The manifest: every external file a metric needs, declared once.

Each :class:`Asset` names its source URL (the authors' files at a pinned commit), the
hash its publisher gives (a git blob id for the authors' repository, the sha256 prefix
torch hub checks for the two Inception networks), its size when published, and its
place in the cache and in a mirror: ``<host>/<path of the URL>``. One layout serves
the cache (``cache/assets``), a local mirror (``$FSVAE_ASSET_MIRROR``) and a download
base (``$FSVAE_ASSET_URL``). :mod:`pipelines.metrics.fetch` provides the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from benchcore.datasets import DATASETS
from pipelines.metrics.protocol import MetricUnavailable, git_blob_id, sha256_file

HASH_KINDS = ("git-blob", "sha256-prefix", "sha256")

AUTHORS_COMMIT = "ffadb3d4bf4fe02927acb241ac11e6ad693c22dc"
AUTHORS_URL = f"https://github.com/kamata1729/FullySpikingVAE/raw/{AUTHORS_COMMIT}/metrics/"
AUTHORS_SOURCE = "kamata1729/FullySpikingVAE (MIT licence), commit ffadb3d"


@dataclass(frozen=True)
class Asset:
    """One external file a metric reads.

    Attributes:
        name: Short key, e.g. ``ae_weights/mnist``.
        url: Where it is published.
        kind: How ``digest`` is computed: ``git-blob``, ``sha256-prefix`` or ``sha256``.
        digest: The published hash (hex).
        size: Size in bytes when published, else None.
        what: What the file is, in words.
        metrics: The metrics that need it.
        source: Publisher and licence.
        dataset: The dataset it belongs to, or None when every dataset uses it.

    """

    name: str
    url: str
    kind: str
    digest: str
    size: int | None
    what: str
    metrics: tuple[str, ...]
    source: str
    dataset: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in HASH_KINDS:
            raise ValueError(f"{self.name}: unknown hash kind {self.kind!r}")

    @property
    def rel(self) -> str:
        """Place under a cache or mirror: ``<host>/<path of the URL>``."""
        parts = urlsplit(self.url)
        return f"{parts.netloc}{parts.path}"

    @property
    def filename(self) -> str:
        """The file's own name (last part of the URL)."""
        return self.rel.rsplit("/", 1)[-1]

    def hash_of(self, path: str | Path) -> str:
        """Return the hash of a file in this asset's kind (the full hex digest)."""
        return git_blob_id(path) if self.kind == "git-blob" else sha256_file(path)

    def matches(self, found: str) -> bool:
        """Whether a digest from :meth:`hash_of` is the published one."""
        if self.kind == "sha256-prefix":
            return found.startswith(self.digest)
        return found == self.digest

    def check_given(self, given: str | Path, what: str) -> Path:
        """Check a file the user passed by hand against the manifest, like a cached one.

        Args:
            given: The file.
            what: What it is, for the error message (e.g. ``paper FID statistics``).

        Returns:
            The path.

        Raises:
            MetricUnavailable: If it is missing or its digest is not the published one.

        """
        path = Path(given)
        if not path.is_file():
            raise MetricUnavailable(f"{what} {given} not found (passed by hand)")
        found = self.hash_of(path)
        if not self.matches(found):
            kind = "git blob id" if self.kind == "git-blob" else self.kind
            raise MetricUnavailable(
                f"{given} has {kind} {found}, the published {self.filename} has {self.digest}"
            )
        return path


def _authors(
    name: str, path: str, blob: str, size: int | None, what: str, metric: str, dataset: str
) -> Asset:
    return Asset(
        name, AUTHORS_URL + path, "git-blob", blob, size, what, (metric,), AUTHORS_SOURCE, dataset
    )


_AE_WEIGHTS = "the authors' autoencoder (state dict)"
_AE_STATS = "the authors' autoencoder test-code statistics (mu, sigma)"
_FID_STATS = "the authors' clean-fid statistics (clean mode)"

ASSETS: tuple[Asset, ...] = (
    Asset(
        "fid_weights",
        "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
        "pt_inception-2015-12-05-6726825d.pth",
        "sha256-prefix",
        "6726825d",
        None,
        "pytorch-fid's FID Inception weights (TF Inception 2015-12-05)",
        ("fid", "fid_paper"),
        "mseitzer/pytorch-fid release fid_weights (Apache-2.0; weights from TensorFlow)",
    ),
    Asset(
        "is_weights",
        "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
        "sha256-prefix",
        "0cc3c7bd",
        None,
        "torchvision's ImageNet inception_v3 weights (IMAGENET1K_V1)",
        ("is", "is_paper"),
        "torchvision (BSD-3-Clause; weights ported from TensorFlow)",
    ),
    # Git blob ids and sizes: the reference MANIFEST of the authors' repository.
    _authors(
        "fid_stats/mnist",
        "stats_fid/mnist_test_clean_custom_na.npz",
        "80685d7bc696a9285cf19109f199b258fee06450",
        None,
        _FID_STATS,
        "fid_paper",
        "mnist",
    ),
    _authors(
        "fid_stats/fashion-mnist",
        "stats_fid/fashion_test_clean_custom_na.npz",
        "957c2dd2b4ef195d1bcd9d6fbf5da4b20fd723a4",
        None,
        _FID_STATS,
        "fid_paper",
        "fashion-mnist",
    ),
    _authors(
        "fid_stats/cifar10",
        "stats_fid/cifar10_test_clean_custom_na.npz",
        "a486ea4c91b88e9dfe44107bcc17260d8bf3a0b6",
        None,
        _FID_STATS,
        "fid_paper",
        "cifar10",
    ),
    _authors(
        "fid_stats/celeba",
        "stats_fid/celeba_valid_clean_custom_na.npz",
        "aab04c0ac27b49aab6fb202a5b45bc89cd85f8f0",
        None,
        _FID_STATS + ", CelebA validation split",
        "fid_paper",
        "celeba",
    ),
    _authors(
        "ae_weights/mnist",
        "stat_checkpoints/mnist_64.pth",
        "1ad0d7d291a49b828034925276cb3c6aa47033c1",
        3700765,
        _AE_WEIGHTS,
        "afd_paper",
        "mnist",
    ),
    _authors(
        "ae_weights/fashion-mnist",
        "stat_checkpoints/fashion_64.pth",
        "4b69707d7cedcc0f62a267503e55fe04f02a03ce",
        3700765,
        _AE_WEIGHTS,
        "afd_paper",
        "fashion-mnist",
    ),
    _authors(
        "ae_weights/cifar10",
        "stat_checkpoints/cifar10_128.pth",
        "00f515b370ebac702e11c8f289fab3a7babd4263",
        None,
        _AE_WEIGHTS,
        "afd_paper",
        "cifar10",
    ),
    _authors(
        "ae_weights/celeba",
        "stat_checkpoints/celeba_128.pth",
        "299d348a8662798852d8eb463e9a879e24816115",
        None,
        _AE_WEIGHTS,
        "afd_paper",
        "celeba",
    ),
    _authors(
        "ae_stats/mnist",
        "stats/mnist_test_64.npz",
        "25720d205d2f8f224ca2860b646a185ca8690cd2",
        21475,
        _AE_STATS,
        "afd_paper",
        "mnist",
    ),
    _authors(
        "ae_stats/fashion-mnist",
        "stats/fashion_test_64.npz",
        "f01247b955d7cd5a6338fd2bdc5691e0379b69ac",
        21423,
        _AE_STATS,
        "afd_paper",
        "fashion-mnist",
    ),
    _authors(
        "ae_stats/cifar10",
        "stats/cifar10_test_128.npz",
        "6ff4b1bf9fa65e843bc9aebcad5be66ddc1488e6",
        109469,
        _AE_STATS,
        "afd_paper",
        "cifar10",
    ),
    _authors(
        "ae_stats/celeba",
        "stats/celeba_test_128.npz",
        "845e52d45f61298d7aa1b853fa0f356648a71608",
        109532,
        _AE_STATS,
        "afd_paper",
        "celeba",
    ),
)


def get_asset(name: str) -> Asset:
    """Return the declared asset of a name.

    Raises:
        KeyError: If no asset has that name.

    """
    for asset in ASSETS:
        if asset.name == name:
            return asset
    raise KeyError(f"no asset {name!r}; declared: {[a.name for a in ASSETS]}")


def assets_for(dataset: str | None = None) -> list[Asset]:
    """Return every asset (``dataset=None``) or the ones one dataset's metrics use.

    Raises:
        ValueError: If the dataset is unknown.

    """
    if dataset is not None and dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {list(DATASETS)}")
    return [a for a in ASSETS if dataset is None or a.dataset in (None, dataset)]
