"""`scai repr-diff A B`: two checkpoints' representations compared per layer."""

from __future__ import annotations

from pathlib import Path

import typer

from scai.cli_common import out, print_table


def repr_diff(
    a: str = typer.Argument(..., help="A transformers checkpoint: hf:local, hf:local:gemma-270m "
                            "or hf:PATH (e.g. a drift round's checkpoint)."),
    b: str = typer.Argument(..., help="The checkpoint compared with A."),
    probes: Path | None = typer.Option(None, "--probes", help="Probe prompts (the `scai diff` "
                                       "formats); default: the shipped probe set."),
    concepts: Path | None = typer.Option(None, "--concepts", help="Contrast pairs per concept "
                                         "(YAML); default: honesty, sycophancy, refusal."),
    limit: int | None = typer.Option(None, "--limit", min=4, help="Use the first N probes."),
    out_dir: Path = typer.Option(Path("repr-diff"), "--out"),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
) -> None:
    """Linear CKA per layer on the probes and each concept's direction (positive − negative
    pairs) per layer, against their noise floors; repr.json and repr.png."""
    from scai.supervise.diff.probes import load_probes
    from scai.supervise.representations.concepts import load_concepts
    from scai.supervise.representations.run import compare_models

    texts = [p.text for p in load_probes(probes)][:limit]
    r = compare_models(a, b, probes=texts, concepts=load_concepts(concepts), out_dir=out_dir,
                       seed=seed)
    rows = [[str(x.layer), f"{x.cka:.4f} [{x.low:.4f}, {x.high:.4f}]", f"{x.floor:.1e}",
             *(f"{c.resampled:.3f} (floor {c.floor_low:.3f})" for c in r.concepts
               if c.layer == x.layer), "yes" if x.drift else "-"] for x in r.layers]
    print_table(["layer", "CKA (95% CI)", "CKA floor", *(f"{n} cosine" for n in r.pairs),
                 "drift"], rows)
    moved = r.drifted_concepts()
    out.print(f"{len(r.drifted_layers())}/{len(r.layers)} layers differ beyond the numerical "
              f"floor; concept directions beyond their resampling floor: "
              f"{', '.join(f'{k} (layers {v[0]}-{v[-1]})' for k, v in moved.items()) or 'none'}",
              markup=False)
    out.print(f"{r.probes} probes, {sum(r.pairs.values())} pairs, {r.seconds:.0f} s; "
              f"{r.out_dir}/repr.json, plot {r.plot}", markup=False)


def register(app: typer.Typer) -> None:
    """Add `repr-diff` to the `scai` app."""
    app.command("repr-diff")(repr_diff)
