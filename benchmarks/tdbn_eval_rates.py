"""Eval-mode firing rates of FSVAE after K train-mode forward passes (why quick CelebA collapsed).

Weights stay at their initial values; only the tdBN running statistics are updated, one
update per pass as in K training steps (momentum 0.1; ``cumulative``: plain average of
all passes, no trace of the initial running_var = 1). Prints, per LIF layer of the
encoder/decoder, the eval-mode firing rate on 16 test images, and the pixel std over
images of reconstructions and samples (0: every image is the same).

Usage (in a project with prepared data):
    python benchmarks/tdbn_eval_rates.py celeba 10,25,60 [cumulative]
"""

from __future__ import annotations

import sys

import torch

from pipelines.data import ImageArrayDataset, load_split
from pipelines.registry import build_model


def main() -> None:
    dataset, counts = sys.argv[1], [int(k) for k in sys.argv[2].split(",")]
    cumulative = len(sys.argv) > 3 and sys.argv[3] == "cumulative"
    torch.manual_seed(0)
    data = ImageArrayDataset(load_split("prepared", dataset, "train")[:128], hflip=False)
    test = ImageArrayDataset(load_split("prepared", dataset, "test")[:16])
    xt = torch.stack([test[i] for i in range(len(test))])
    model = build_model("fsvae", dataset)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    names = [
        n
        for n, _ in model.named_modules()
        if n.endswith("lif") and not n.startswith(("prior", "posterior"))
    ]
    print("layers:", " ".join(n.removesuffix(".lif") for n in names))
    done = 0
    for k in counts:
        model.train()
        with torch.no_grad():
            while done < k:
                if cumulative:  # momentum 1/n: the running value is the mean of all n passes
                    for m in norms:
                        m.momentum = 1.0 / (done + 1)
                batch = torch.stack([data[(16 * done + i) % len(data)] for i in range(16)])
                model.reconstruct(batch, generator=torch.Generator().manual_seed(done))
                done += 1
        rates: dict[str, float] = {}
        modules = dict(model.named_modules())
        hooks = [
            modules[n].register_forward_hook(
                lambda _m, _i, o, n=n, rates=rates: rates.__setitem__(n, float(o.float().mean()))
            )
            for n in names
        ]
        model.eval()
        with torch.no_grad():
            recon = model.reconstruct(xt, generator=torch.Generator().manual_seed(0))
            samples = model.sample(16, generator=torch.Generator().manual_seed(0))
        for hook in hooks:
            hook.remove()
        print(
            f"{dataset} after {k} updates{' (cumulative)' if cumulative else ''}: rates "
            + " ".join(f"{rates[n]:.3f}" for n in names)
            + f" | std over images: recon {recon.std(0).mean():.3f}, "
            f"samples {samples.std(0).mean():.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
