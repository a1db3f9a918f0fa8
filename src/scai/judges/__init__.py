"""Judges whose accuracy is measured: a labelled calibration set, agreement statistics with
confidence intervals, offline judges (rubric verdicts sampled or read as distributions, an
embedding refusal classifier, the refusal-opening rule, juries) and `scai judge-check`."""
