"""In-silico experiment 2: relational control of two V4 populations (after Gifford et al. 2024).

Fit an encoder (efficientnet_lite0, blocks.3 → 50 V4 neurons of session 210325) on 80 % of the images. Split the
neurons into two populations (by their in-silico responses' first principal component, so they differ), then
search the held-out images for those whose in-silico responses *align* the populations (both high or both low)
or *disentangle* them (one high, the other low). Validate on the measured held-out responses: the populations'
correlation over the chosen images should be positive for the aligned set and negative for the disentangled one.

    python examples/insilico_relational_control.py --output out/insilico
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _v4_encoder import fit_on_held_out_split, parse_args  # noqa: E402

from brainalign.insilico.experiments import (  # noqa: E402
    population_correlation,
    population_means,
    relational_control,
)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], n_images=20)
    encoder, train_stimuli, _, test_stimuli, test_responses = fit_on_held_out_split(args)
    predicted = encoder.generate(test_stimuli)

    # populations: neurons loading positively vs negatively on the second principal component of the
    # in-silico responses to the training images (the first is shared drive of all neurons)
    train_predicted = np.asarray(encoder.generate(train_stimuli).values)
    centred = (train_predicted - train_predicted.mean(0)) / train_predicted.std(0)
    loadings = np.linalg.svd(centred, full_matrices=False)[2][1]
    a, b = np.flatnonzero(loadings > 0).tolist(), np.flatnonzero(loadings <= 0).tolist()
    chosen = relational_control(predicted, a, b, args.n_images)
    everything = test_responses["stimulus_id"].values.tolist()
    results = {name: (population_correlation(predicted, ids, a, b), population_correlation(test_responses, ids, a, b))
               for name, ids in (*chosen.items(), ("all held-out", everything))}
    print(f"populations: {len(a)} and {len(b)} neurons; {len(everything)} held-out images, {args.n_images} chosen")
    for name, (insilico, measured) in results.items():
        print(f"{name:>14}: r(in silico) = {insilico:+.2f}, r(measured, held out) = {measured:+.2f}")

    fig, axes = plt.subplots(1, 3, figsize=(12, 4), sharex=True, sharey=True)
    measured_a, measured_b = population_means(test_responses, a, b)
    index = {s: i for i, s in enumerate(everything)}
    for ax, name in zip(axes, ("aligned", "disentangled", "all held-out"), strict=True):
        ids = chosen.get(name, everything)
        rows = [index[s] for s in ids]
        ax.scatter(measured_a, measured_b, s=6, color="0.8")
        ax.scatter(measured_a[rows], measured_b[rows], s=14, color="C0" if name == "aligned" else "C3")
        ax.set_title(f"{name}: measured r = {results[name][1]:+.2f}")
        ax.set_xlabel("population A (measured, z)")
    axes[0].set_ylabel("population B (measured, z)")
    fig.tight_layout()
    fig.savefig(args.output / "relational_control.png", dpi=120)
    print(f"wrote {args.output / 'relational_control.png'}")


if __name__ == "__main__":
    main()
