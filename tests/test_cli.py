"""The command line as a user meets it."""

from __future__ import annotations

from tests.conftest import scai

# Every command a user is told about (README, docs), feature commands included.
COMMANDS = {"ask", "models", "validate", "batch", "converse", "simulate", "evaluate-constitution",
            "sweep", "sweep-report", "diff", "drift", "ui", "report", "runs", "cache", "cai",
            "bench", "steerability", "judge-check", "audit", "repr-diff"}


def listed_commands(help_text: str) -> list[str]:
    """The command names in the Commands panel of a `--help` screen: the first word of each
    row that starts a command (a wrapped description continues on an indented row)."""
    panel = help_text.split("─ Commands ─")[1].split("╰")[0]
    return [line[2:].split()[0] for line in panel.splitlines()
            if line.startswith("│ ") and line[2:3].strip()]


def test_help_lists_every_command():
    result = scai("--help", env={"COLUMNS": "120"})
    assert result.returncode == 0, result.stderr
    listed = listed_commands(result.stdout)
    assert set(listed) == COMMANDS, (sorted(set(listed) - COMMANDS), sorted(COMMANDS - set(listed)))
    assert len(listed) == len(set(listed))
    runs = listed_commands(scai("runs", "--help", env={"COLUMNS": "120"}).stdout)
    assert set(runs) == {"list", "show", "export"}


def test_models_lists_every_backend():
    result = scai("models")
    assert result.returncode == 0, result.stdout
    for backend in ("llama.cpp (embedded)", "OpenAI", "OpenAI-compatible", "transformers"):
        assert backend in result.stdout
    assert "SmolLM2-135M-Instruct" in result.stdout


def test_runs_commands_on_an_empty_store_and_bad_refs():
    assert "no runs yet" in scai("runs", "list").stdout
    show = scai("runs", "show", "nothing-here")
    assert show.returncode == 1 and "no run 'nothing-here'" in show.stderr
    bad = scai("runs", "export", "latest", "--format", "xls")
    assert bad.returncode == 2 and "use jsonl, parquet or csv" in bad.stderr


def test_bad_model_string_is_a_user_error():
    result = scai("ask", "hi", "--model", "gpt-9000")
    assert result.returncode == 2 and "unknown model 'gpt-9000'" in result.stderr
    assert "Traceback" not in result.stderr


def test_out_of_range_option_is_a_user_error():
    result = scai("ask", "hi", "--max-tokens", "0")
    assert result.returncode == 2 and "options: max_tokens" in result.stderr
    assert "Traceback" not in result.stderr
