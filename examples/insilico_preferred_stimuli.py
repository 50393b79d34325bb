"""In-silico experiment 1: preferred stimuli of V4 neurons (Cowley et al. 2023, session 210325).

Fit an encoder (efficientnet_lite0, blocks.3 → 50 V4 neurons) on 80 % of the session's images, generate in-silico
responses to the held-out 20 %, rank them per neuron, show each neuron's top images, and check the ranking against
the measured held-out responses (Spearman per neuron).

    python examples/insilico_preferred_stimuli.py --output out/insilico
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _v4_encoder import fit_on_held_out_split, parse_args  # noqa: E402

from brainalign.insilico.experiments import preferred_stimuli, ranking_agreement  # noqa: E402


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], top=5)
    encoder, train_stimuli, _, test_stimuli, test_responses = fit_on_held_out_split(args)
    encoder.save(args.output / f"encoder_{args.model}.safetensors")
    predicted = encoder.generate(test_stimuli)
    rho = ranking_agreement(predicted, test_responses)
    print(f"{len(train_stimuli)} training, {len(test_stimuli)} held-out images; {args.model} {args.layer}")
    print(f"cross-validated r on training images: median {np.nanmedian(encoder.accuracy['r']):.3f}")
    print(f"Spearman(predicted, measured) on held-out images: median {np.nanmedian(rho):.3f}, "
          f"{int((rho > 0).sum())}/{rho.size} neurons positive")

    neurons = np.argsort(-rho)[:4]
    top = preferred_stimuli(predicted, args.top)
    paths = dict(zip(test_stimuli.stimulus_ids, test_stimuli.paths, strict=True))
    fig, axes = plt.subplots(len(neurons) + 1, args.top, figsize=(2 * args.top, 2.2 * (len(neurons) + 1)))
    for row, j in enumerate(neurons):
        name = str(predicted["neuroid_id"].values[j])
        for col, stimulus in enumerate(top[name]):
            axes[row, col].imshow(plt.imread(paths[stimulus]))
            axes[row, col].set_axis_off()
        axes[row, 0].set_title(f"{name}  ρ={rho[j]:.2f}", loc="left", fontsize=9)
    for ax in axes[-1]:
        ax.remove()
    ax = fig.add_subplot(len(neurons) + 1, 1, len(neurons) + 1)
    ax.hist(rho, bins=20, color="0.4")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("Spearman ρ, predicted vs measured (held-out images), per neuron")
    fig.tight_layout()
    fig.savefig(args.output / "preferred_stimuli.png", dpi=120)
    print(f"wrote {args.output / 'preferred_stimuli.png'}")


if __name__ == "__main__":
    main()
