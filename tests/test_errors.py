"""User errors are one line, bugs show their traceback, --debug shows it for both (in-process, CliRunner)."""

import pytest
from click.testing import CliRunner

from chromaprior.apps import cli
from chromaprior.core.errors import InputError, MissingExtra


@pytest.fixture
def runner():
    return CliRunner()


def test_a_user_error_is_one_line_and_debug_adds_the_traceback(runner, tmp_path):
    r = runner.invoke(cli.main, ["colorize", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 1 and "chromaprior: error: " in r.output and "missing.png" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(cli.main, ["--debug", "colorize", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 1 and "Traceback" in r.output and "missing.png" in r.output


def test_a_bug_is_not_hidden_as_a_user_error(runner, monkeypatch, tiny_model, gray_png, tmp_path):
    def broken(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli.api, "colorize_picture", broken)
    r = runner.invoke(cli.main, ["colorize", gray_png, "-o", str(tmp_path / "o.png"), "--model", tiny_model, "-q"])
    assert r.exit_code != 0 and isinstance(r.exception, ZeroDivisionError)
    assert "chromaprior: error" not in r.output


def test_library_checks_of_options_are_input_errors(runner, tiny_model, tmp_path):
    r = runner.invoke(cli.main, ["evaluate", "--task", "demosaick", "--data", str(tmp_path), "--variants"])
    assert r.exit_code == 1 and "belong to --task colorize" in r.output and "Traceback" not in r.output
    assert issubclass(MissingExtra, ImportError) and issubclass(MissingExtra, InputError)
    assert issubclass(InputError, ValueError)


def test_method_choices_come_from_the_registry(runner):
    from chromaprior.models.registry import METHODS, colorize_methods

    train_help = runner.invoke(cli.main, ["train", "--help"]).output
    assert all(m in train_help for m in METHODS)
    colorize_help = runner.invoke(cli.main, ["colorize", "--help"]).output
    assert all(m in colorize_help for m in colorize_methods())
