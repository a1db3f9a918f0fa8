"""Config loading: every mistake is one line naming the file, the field and the problem."""

from __future__ import annotations

import pytest

from scai.batch import BatchConfig
from scai.config import apply_overrides, to_yaml
from scai.errors import ConfigError
from scai.kinds import load_config
from tests.conftest import REPO, scai

GOOD = """\
kind: batch
name: colours
model:
  model: local
  concurrency: 2
params:
  temperature: 0.0
  max_tokens: 16
  seed: 3
prompts: ["Name a colour."]
"""


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_config_fills_defaults(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert isinstance(cfg, BatchConfig)
    assert cfg.model.concurrency == 2 and cfg.model.max_retries == 4  # default filled
    assert "max_retries: 4" in to_yaml(cfg)


@pytest.mark.parametrize(
    "text, expected",
    [
        (GOOD.replace("concurrency: 2", "concurency: 2"), "model.concurency: unknown key"),
        (GOOD.replace("concurrency: 2", "concurrency: many"), "model.concurrency: Input should be a valid integer"),
        (GOOD.replace("concurrency: 2", "concurrency: 0"), "model.concurrency: Input should be greater than or equal to 1"),
        (GOOD.replace("temperature: 0.0", "temperature: hot"), "params.temperature"),
        (GOOD.replace("model: local", "model: gpt4"), "unknown model 'gpt4'"),
        (GOOD.replace("kind: batch", "kind: battle"), "kind: unknown kind 'battle'"),
        (GOOD.replace("kind: batch\n", ""), "kind: required key is missing"),
        ("kind: batch\n", "give `prompts` or `prompts_file`"),
        ("- a\n- b\n", "expected a mapping"),
        ("", "the file is empty"),
        ("kind: [unclosed\n", "not valid YAML (line"),
        ("kind: !!python/object/apply:os.system ['echo hi']\n", "not valid YAML"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert expected in message
    assert message.startswith(str(path))
    assert "\n" not in message


def test_alias_bomb_is_refused(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 30):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]")
    with pytest.raises(ConfigError, match="aliases"):
        load_config(write(tmp_path, "\n".join(lines) + "\n"))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        load_config(tmp_path / "nope.yaml")


def test_overrides_change_nested_values_with_yaml_types(tmp_path):
    cfg = load_config(
        write(tmp_path, GOOD),
        ["model.concurrency=8", 'params.stop=["\\n"]', "samples=3", "prompts.0=Hi"],
    )
    assert cfg.model.concurrency == 8 and cfg.samples == 3
    assert cfg.params.stop == ("\n",) and cfg.prompts == ["Hi"]


def test_override_errors():
    with pytest.raises(ConfigError, match="expected KEY.PATH=VALUE"):
        apply_overrides({}, ["novalue"])
    with pytest.raises(ConfigError, match="not an index"):
        apply_overrides({"a": [1]}, ["a.5=2"])


def test_wrong_kind_for_command(tmp_path):
    with pytest.raises(ConfigError, match="needs kind 'converse'"):
        load_config(write(tmp_path, GOOD), kind="converse")


def test_cli_validate_prints_resolved_config(tmp_path):
    result = scai("validate", str(write(tmp_path, GOOD)), "--set", "samples=2")
    assert result.returncode == 0, result.stderr
    assert "samples: 2" in result.stdout and "parse_retries: 2" in result.stdout


def test_cli_validate_bad_config_exit_2_no_traceback(tmp_path):
    path = write(tmp_path, GOOD.replace("concurrency: 2", "concurency: 2"))
    result = scai("validate", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "model.concurency: unknown key" in lines[0]


def test_relative_data_paths_resolve_next_to_the_config(tmp_path, monkeypatch):
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "prompts.txt").write_text("one\ntwo\n")
    path = write(folder, "kind: batch\nprompts_file: prompts.txt\n")
    monkeypatch.chdir(tmp_path)  # the prompts are not in the working directory
    assert load_config(path).prompts_file == folder / "prompts.txt"


def test_binary_prompts_file_is_one_line(tmp_path):
    from scai.batch import read_prompts

    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="bin.txt: not UTF-8 text"):
        read_prompts(tmp_path / "bin.txt")


def test_a_section_without_or_with_an_unknown_type_names_the_type_key(tmp_path):
    from scai.errors import ConfigError
    from scai.kinds import load_config
    missing = tmp_path / "m.yaml"
    missing.write_text("kind: contract\ntask: {flexible: 2}\n")
    with pytest.raises(ConfigError, match=r"m.yaml: task.type: required key is missing$"):
        load_config(missing)
    unknown = tmp_path / "u.yaml"
    unknown.write_text("kind: contract\ntask: {type: poker}\n")
    with pytest.raises(ConfigError, match=r"u.yaml: task.type: unknown type 'poker' \(one of: "
                       r"'ultimatum', 'assistance', 'dictator', 'public_goods'\)"):
        load_config(unknown)


def test_a_diff_without_supervisor_or_judge_is_valid(tmp_path):
    r = scai("validate", str(REPO / "examples" / "supervise" / "diff.yaml"),
             "--set", "supervisor=null", "--set", "judge=null")
    assert r.returncode == 0, r.stderr
    assert "supervisor: null" in r.stdout and "judge: null" in r.stdout
