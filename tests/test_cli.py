"""The command line as a user meets it."""

from __future__ import annotations

from tests.conftest import scai


def test_help_lists_the_commands():
    result = scai("--help")
    assert result.returncode == 0
    for command in ("ask", "models", "validate", "batch", "runs", "cache"):
        assert command in result.stdout
    runs = scai("runs", "--help")
    for sub in ("list", "show", "export"):
        assert sub in runs.stdout


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
