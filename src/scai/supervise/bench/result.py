"""What a benchmark run finds (the result models): accuracy per subtask and overall."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Score(BaseModel):
    """Accuracy on one subtask (or overall).

    `mean` counts a parse failure as wrong; `parsed_mean` leaves failed answers out. Both have a
    Wilson 95% interval over items; `chance` is the accuracy of uniform guessing."""

    mean: float | None = Field(description="Accuracy, parse failures counted as wrong.")
    ci_low: float | None
    ci_high: float | None
    n: int = Field(description="Items.")
    answers: int = Field(description="Sampled answers (items x samples).")
    parse_failures: int = Field(description="Answers that failed the answer schema.")
    parsed_mean: float | None = Field(description="Accuracy among parsed answers only.")
    parsed_ci_low: float | None
    parsed_ci_high: float | None
    parsed_n: int = Field(description="Items with at least one parsed answer.")
    chance: float | None = Field(description="Expected accuracy of a uniform random guess.")
    longest_choice: float | None = Field(
        None, description="Accuracy of always picking the longest option (multiple choice only): "
        "a check that labels cannot be guessed from option length.")
    answer_counts: dict[str, int] = Field(
        default_factory=dict, description="How often each option was answered: a model that "
        "always says 'B' or 'true' shows up here, not only as near-chance accuracy.")

    def fmt(self) -> str:
        """`mean [ci_low, ci_high] (n=N)`, or n/a."""
        if self.mean is None:
            return "n/a"
        return f"{self.mean:.2f} [{self.ci_low:.2f}, {self.ci_high:.2f}] (n={self.n})"


class BenchResult(BaseModel):
    """A model's scores: per subtask and over all items, with what was run."""

    model: str
    dataset: str | None = None
    samples: int
    seed: int
    temperature: float
    per_subtask: dict[str, Score]
    overall: Score
    run_id: str | None = None
    wall_s: float = 0.0
    out_dir: str | None = None
