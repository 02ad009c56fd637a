"""Which combinations of metric, variant, protocol, feature network and reference split exist.

The table is the metric registry's variants (:func:`pipelines.metrics.registry.variants`,
with ``TEST_SPLITS``): the same table
the pipeline writes its leaderboard rows from (``measured_rows``, ``quoted_rows``), so a
row ``leaderboard add`` accepts can never say what a pipeline row could not. Rows under a
protocol the table does not know (other papers' free-text protocols) are only checked for
the fields they share with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pipelines.metrics.registry import Variant, variants
from pipelines.report.measurements import TEST_SPLITS

# Our own autoencoders are told apart by the first hex digits of their weights' sha256.
_SHA_SUFFIX = re.compile(r" sha256:[0-9a-f]{6,64}")
# Variants with reference statistics name their size: "<test split>, <n> images".
_IMAGES = re.compile(r"[1-9][0-9]* images")


def feature_network(v: Variant, weights_sha256: str | None = None) -> str:
    """Return the ``feature_network`` cell of a variant (own autoencoders with their hash)."""
    if v.hashed_network and weights_sha256:
        return f"{v.network} sha256:{weights_sha256[:12]}"
    return v.network


def _implied_variant(row: Mapping[str, str]) -> Variant | None:
    """Return the row's variant: named, or implied by one of our protocols and the metric."""
    key, metric, protocol = row["metric_variant"], row["metric"], row["protocol"]
    known = variants()
    if key:
        v = next((v for v in known if v.key == key), None)
        if v is None:
            raise ValueError(f"metric_variant {key!r}: one of {[v.key for v in known]} (or empty)")
        if v.metric != metric:
            raise ValueError(
                f"metric_variant {key!r} measures {v.metric}, but metric is {metric!r}"
            )
        if v.protocol != protocol:
            raise ValueError(
                f"metric_variant {key!r} belongs to protocol {v.protocol!r}, "
                f"but protocol is {protocol!r}"
            )
        return v
    if protocol not in {v.protocol for v in known}:
        return None
    same = [v for v in known if v.protocol == protocol and v.metric == metric]
    if not same:
        measures = sorted({v.metric for v in known if v.protocol == protocol})
        raise ValueError(f"protocol {protocol!r} measures {measures}, but metric is {metric!r}")
    return same[0] if len(same) == 1 else None


def _network_ok(v: Variant, network: str) -> bool:
    if network == v.network:
        return True
    own = v.hashed_network and network.startswith(v.network)
    return own and _SHA_SUFFIX.fullmatch(network[len(v.network) :]) is not None


def _reference_ok(v: Variant, reference: str) -> bool:
    if v.reference:
        return reference == v.reference
    split, sep, count = reference.partition(", ")
    if not sep:
        return reference in TEST_SPLITS
    # The reconstruction MSE runs on the split itself: no statistics, no image count.
    return split in TEST_SPLITS and not v.on_test_split and _IMAGES.fullmatch(count) is not None


def check_combination(row: Mapping[str, str]) -> None:
    """Refuse a row whose metric, variant, protocol, network and reference contradict.

    Empty cells are unknown, not contradictions. Checked: a named ``metric_variant``
    exists and matches ``metric`` and ``protocol``; one of our protocols measures the
    row's metric; ``feature_network`` and ``reference_split`` are the variant's.

    Args:
        row: A row with every leaderboard column as text.

    Raises:
        ValueError: Naming both contradicting fields.

    """
    v = _implied_variant(row)
    if v is None:
        return
    named = (
        f"metric_variant {v.key!r}"
        if row["metric_variant"]
        else f"protocol {row['protocol']!r} (metric {row['metric']!r}: variant {v.key!r})"
    )
    network, reference = row["feature_network"], row["reference_split"]
    if network and not _network_ok(v, network):
        raise ValueError(
            f"feature_network {network!r} contradicts {named}: its network is {v.network!r}"
        )
    if reference and not _reference_ok(v, reference):
        allowed = repr(v.reference) if v.reference else f"a test split {list(TEST_SPLITS)}"
        raise ValueError(
            f"reference_split {reference!r} contradicts {named}: it is compared with {allowed}"
        )
