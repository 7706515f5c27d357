"""Scenarios: parsing, templates, errors that name the file and step, the bundled ones."""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from muxhook import models
from muxhook.errors import FixtureError, UnknownEventError, UsageError
from muxhook.scenario import (
    Scenario,
    Step,
    bundled_scenarios,
    is_scenario,
    load_scenario,
    render,
)
from tests.conftest import FIXTURES

NOW = 1795000000.25  # 2026-11-18T11:06:40.25Z
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")
MUX_ID = re.compile(r"[A-Za-z0-9]{44}\Z")
HEX32 = re.compile(r"[0-9a-f]{32}\Z")


def write(folder: Path, text: str, name: str = "scenario.toml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(
    path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    seed: int = 7,
    now: float = NOW,
    sets: Sequence[str] = (),
    unsets: Sequence[str] = (),
) -> list[Step]:
    return render(
        load_scenario(path),
        environ=environ or {},
        now=now,
        rng=random.Random(seed),
        extra_sets=sets,
        extra_unsets=unsets,
    )


def doc(step: Step) -> Any:
    return json.loads(step.body)


def one_step(
    folder: Path, sets: str, *, head: str = "", environ: Mapping[str, str] | None = None
) -> Any:
    """Render a one-step scenario whose ``[steps.set]`` table is ``sets``; its body."""
    text = f'{head}\n[[steps]]\nevent = "video.asset.ready"\n[steps.set]\n{sets}\n'
    (step,) = run(write(folder, text), environ=environ)
    return doc(step)


def fails(path: Path, *, environ: Mapping[str, str] | None = None) -> str:
    with pytest.raises(UsageError) as caught:
        run(path, environ=environ)
    return str(caught.value)


# -- templates ------------------------------------------------------------------------


def test_every_template_kind(tmp_path: Path) -> None:
    body = one_step(
        tmp_path,
        """
"data.a" = "${new.uuid}"
"data.b" = "${new.mux_id}"
"data.c" = "${new.hex32}"
"data.d" = "${new.int}"
"data.e" = "${now}"
"data.f" = "${now.ms}"
"data.g" = "${now.iso}"
"data.h" = "${env.HOME_REGION}"
"data.i" = "${env.MISSING:-fallback}"
"data.j" = "${vars.order}"
""",
        head='[vars]\norder = "order-${new.int}"',
        environ={"HOME_REGION": "eu-west"},
    )
    data = body["data"]
    assert UUID4.match(data["a"])
    assert MUX_ID.match(data["b"])
    assert HEX32.match(data["c"])
    assert isinstance(data["d"], int) and 1 <= data["d"] < 2**31
    assert data["e"] == 1795000000
    assert data["f"] == 1795000000250
    assert data["g"] == "2026-11-18T11:06:40.250000Z"
    assert data["h"] == "eu-west"
    assert data["i"] == "fallback"
    assert re.fullmatch(r"order-[0-9]+", data["j"])


def test_env_comes_from_the_mapping_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("R", "from-os-environ")
    path = write(tmp_path, '[[steps]]\nevent = "video.asset.ready"\nset = { x = "${env.R}" }\n')
    (step,) = run(path, environ={"R": "eu-west"})
    assert doc(step)["x"] == "eu-west"
    assert "R is not set" in fails(path, environ={"HOME_REGION": "x"})


def test_each_new_value_is_fresh_and_vars_share_one(tmp_path: Path) -> None:
    body = one_step(
        tmp_path,
        '"data.a" = "${new.mux_id}"\n"data.b" = "${new.mux_id}"\n'
        '"data.c" = "${vars.id}"\n"data.d" = "${vars.id}"',
        head='[vars]\nid = "${new.mux_id}"',
    )
    data = body["data"]
    assert data["a"] != data["b"]
    assert data["c"] == data["d"] != data["a"]


def test_a_lone_template_keeps_its_json_type(tmp_path: Path) -> None:
    body = one_step(
        tmp_path,
        """
"data.n" = "${now}"
"data.text" = "t=${now}"
"data.duration" = "${vars.duration}"
"data.label" = "${vars.duration}s"
"data.flag" = "${vars.flag}"
"data.settings" = "${vars.settings}"
"data.settings_text" = "s=${vars.settings}"
"data.nothing" = "${vars.nothing}"
"data.tracks" = "${vars.settings.tracks}"
"data.first" = "${vars.settings.tracks.0}"
""",
        head='[vars]\nduration = 12.5\nflag = true\nnothing = ""\n'
        'settings = { quality = "basic", tracks = [1, 2] }',
    )
    data = body["data"]
    assert data["n"] == 1795000000 and isinstance(data["n"], int)
    assert data["text"] == "t=1795000000"
    assert data["duration"] == 12.5
    assert data["label"] == "12.5s"
    assert data["flag"] is True
    assert data["settings"] == {"quality": "basic", "tracks": [1, 2]}
    assert data["settings_text"] == 's={"quality":"basic","tracks":[1,2]}'
    assert data["nothing"] == ""
    assert data["tracks"] == [1, 2]
    assert data["first"] == 1


def test_toml_values_are_json_as_they_are(tmp_path: Path) -> None:
    body = one_step(
        tmp_path,
        """
"data.duration" = 12.5
"data.max_width" = 1920
"data.is_live" = false
"data.passthrough" = "12"
"data.tags" = ["a", "${now}", { at = "${now}" }]
"data.empty" = {}
""",
    )
    data = body["data"]
    assert data["duration"] == 12.5
    assert data["max_width"] == 1920
    assert data["is_live"] is False
    assert data["passthrough"] == "12"  # a TOML string stays a string, unlike --set
    assert data["tags"] == ["a", 1795000000, {"at": 1795000000}]
    assert data["empty"] == {}


def test_escaping(tmp_path: Path) -> None:
    body = one_step(
        tmp_path,
        r"""
"data.a" = "$${now}"
"data.b" = "costs $5 or $$"
"data.c" = "$${vars.x} is ${vars.x}"
"data.d" = "$"
"data.e" = "$$${now}"
""",
        head='[vars]\nx = "y"',
    )
    data = body["data"]
    assert data["a"] == "${now}"
    assert data["b"] == "costs $5 or $$"
    assert data["c"] == "${vars.x} is y"
    assert data["d"] == "$"
    assert data["e"] == "$${now}"  # read left to right: "$", then the escape "$${"


def test_env_default_and_missing(tmp_path: Path) -> None:
    text = (
        '[vars]\nregion = "${env.REGION:-us-east}"\n'
        '[[steps]]\nevent = "video.asset.ready"\nset = { "data.passthrough" = "${vars.region}" }\n'
    )
    path = write(tmp_path, text)
    assert doc(run(path)[0])["data"]["passthrough"] == "us-east"
    assert doc(run(path, environ={"REGION": ""})[0])["data"]["passthrough"] == "us-east"
    assert doc(run(path, environ={"REGION": "eu"})[0])["data"]["passthrough"] == "eu"

    missing = write(
        tmp_path, '[[steps]]\nevent = "video.asset.ready"\nset = { x = "${env.ORDER_ID}" }\n'
    )
    message = fails(missing)
    assert message.startswith(f"{missing}: step 1 (video.asset.ready): set x: ${{env.ORDER_ID}}")
    assert "ORDER_ID is not set" in message and "${env.ORDER_ID:-value}" in message
    # set but empty, with no default: the empty string is used
    assert doc(run(missing, environ={"ORDER_ID": ""})[0])["x"] == ""


def test_now_formats(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[steps]]\nevent = "video.asset.ready"\n'
        'set = { a = "${now}", b = "${now.ms}", c = "${now.iso}" }\n',
    )
    data = doc(run(path, now=0)[0])
    assert (data["a"], data["b"], data["c"]) == (0, 0, "1970-01-01T00:00:00.000000Z")
    data = doc(run(path, now=1700000000.999)[0])
    assert (data["a"], data["b"], data["c"]) == (
        1700000000,
        1700000000999,
        "2023-11-14T22:13:20.999000Z",
    )


# -- references between steps --------------------------------------------------------

TWO_STEPS = """
[[steps]]
name = "upload"
event = "video.upload.created"
set = {{ "data.id" = "${{new.mux_id}}" }}

[[steps]]
event = "video.upload.asset_created"
set = {{ "data.id" = "{ref}" }}
"""


def test_a_step_reads_an_earlier_step_by_name_or_number(tmp_path: Path) -> None:
    for ref in ("${steps.upload.data.id}", "${steps.1.data.id}"):
        first, second = run(write(tmp_path, TWO_STEPS.format(ref=ref)))
        assert doc(second)["data"]["id"] == doc(first)["data"]["id"]
        assert MUX_ID.match(doc(first)["data"]["id"])


def test_a_reference_reads_the_body_as_sent(tmp_path: Path) -> None:
    """The earlier step's final body: its own overrides and replay's --set included."""
    path = write(tmp_path, TWO_STEPS.format(ref="${steps.upload.data.passthrough}"))
    _, second = run(path, sets=["data.passthrough=from-cli"])
    assert doc(second)["data"]["id"] == "from-cli"


def test_a_reference_finds_keys_that_contain_dots(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[steps]]\nevent = "robots.job.ask_questions.completed"\n'
        '[[steps]]\nevent = "video.asset.ready"\n'
        'set = { "data.passthrough" = "${steps.1.data.robots.job.ask_questions.completed.status}" }'
        "\n",
    )
    assert doc(run(path)[1])["data"]["passthrough"] == "completed"


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("${steps.later.data.id}", "${steps.later.data.id}: step 3 comes later"),
        ("${steps.3.data.id}", "step 3 comes later; a step can refer only to earlier steps"),
        ("${steps.2.data.id}", "a step cannot refer to its own body"),
        ("${steps.0.data.id}", "steps are numbered from 1"),
        ("${steps.9.data.id}", "there is no step 9 (the scenario has 3)"),
        ("${steps.uplaod.data.id}", "no step named 'uplaod'; did you mean 'upload'?"),
        ("${steps.upload}", "write ${steps.NAME.path}"),
    ],
)
def test_bad_step_references_are_found_before_rendering(
    tmp_path: Path, ref: str, problem: str
) -> None:
    text = TWO_STEPS.format(ref=ref) + '\n[[steps]]\nname = "later"\nevent = "video.asset.ready"\n'
    path = write(tmp_path, text)
    with pytest.raises(FixtureError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: step 2 (video.upload.asset_created): set data.id: ")
    assert problem in message
    assert "\n" not in message


def test_a_bad_path_into_an_earlier_body_names_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, TWO_STEPS.format(ref="${steps.upload.data.idd}"))
    load_scenario(path)  # the structure is fine; the path is checked against the body
    message = fails(path)
    assert message.startswith(f"{path}: step 2 (video.upload.asset_created): set data.id: ")
    assert "step 1 \"upload\" (video.upload.created)'s body has no field 'idd' at data" in message
    assert "did you mean 'id'?" in message

    for ref, problem in [
        ("${steps.upload.data.timeout.x}", "has 3600 at data.timeout, not an object"),
        ("${steps.upload.data.new_asset_settings.playback_policies.5}", "a list of 1"),
    ]:
        assert problem in fails(write(tmp_path, TWO_STEPS.format(ref=ref)))


def test_a_reference_into_a_binary_body_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'provider = "millicast"\n[[steps]]\nevent = "thumbnail"\n'
        '[[steps]]\nevent = "media.completed"\nset = { x = "${steps.1.data}" }\n',
    )
    assert "step 1 (thumbnail)'s body is not JSON" in fails(path)


def test_vars_are_computed_in_order(tmp_path: Path) -> None:
    ok = write(
        tmp_path,
        '[vars]\nstream = "town-hall"\nstream_id = "acct/${vars.stream}"\n'
        '[[steps]]\nevent = "video.asset.ready"\nset = { x = "${vars.stream_id}" }\n',
    )
    assert doc(run(ok)[0])["x"] == "acct/town-hall"

    cases = [
        ('a = "${vars.b}"\nb = "x"', "vars.a: ${vars.b}: vars.b is not defined before this one"),
        ('a = "${vars.a}"', "vars.a: ${vars.a}: vars.a is not defined before this one"),
        ('a = "${vars.nope}"', "no var 'nope' (known: a)"),
        ('a = "${steps.1.data.id}"', "vars are computed before any step runs"),
        ('"a.b" = 1', "a var name is letters"),
    ]
    for body, problem in cases:
        path = write(tmp_path, f'[vars]\n{body}\n[[steps]]\nevent = "video.asset.ready"\n')
        with pytest.raises(FixtureError) as caught:
            load_scenario(path)
        assert str(caught.value).startswith(f"{path}: vars.")
        assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("${new.muxid}", "unknown template ${new.muxid}; did you mean ${new.mux_id}?"),
        ("${var.x}", "did you mean ${vars.NAME}?"),
        ("${uuid}", "unknown template ${uuid}; did you mean ${new.uuid}? use new.uuid"),
        ("${time}", "unknown template ${time}; use new.uuid, new.mux_id"),
        ("${now", "'${' is not closed by '}'"),
        ("${env.lower-case}", "write ${env.NAME} or ${env.NAME:-default}"),
        ("${env.X:default}", "write ${env.NAME} or ${env.NAME:-default}"),
    ],
)
def test_template_syntax_errors(tmp_path: Path, template: str, problem: str) -> None:
    path = write(
        tmp_path, f'[[steps]]\nevent = "video.asset.ready"\nset = {{ x = "{template}" }}\n'
    )
    with pytest.raises(FixtureError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: step 1 (video.asset.ready): set x: ")
    assert problem in str(caught.value)


# -- structure ------------------------------------------------------------------------


def test_unknown_event_suggests_close_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[steps]]\nevent = "video.upload.created"\n[[steps]]\nevent = "video.asset.created"\n'
        '[[steps]]\nevent = "video.asset.redy"\n',
    )
    with pytest.raises(UnknownEventError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: step 3 (video.asset.redy): unknown Mux event")
    assert "did you mean video.asset.ready" in message
    assert "video.asset.ready" in caught.value.suggestions


def test_the_scenario_provider_applies_to_bare_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'provider = "fastpix"\n[[steps]]\nevent = "video.media.ready"\n'
        '[[steps]]\nevent = "mux:video.asset.ready"\n'
        '[[steps]]\nprovider = "millicast"\nevent = "media.completed"\n',
    )
    assert [(s.provider, s.event_type) for s in run(path)] == [
        ("fastpix", "video.media.ready"),
        ("mux", "video.asset.ready"),
        ("millicast", "media.completed"),
    ]
    wrong = write(tmp_path, 'provider = "fastpix"\n[[steps]]\nevent = "video.asset.ready"\n')
    with pytest.raises(UnknownEventError, match=r"unknown FastPix event 'video\.asset\.ready'"):
        load_scenario(wrong)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            'nme = "x"\nstep = []\n[[steps]]\nevent = "video.asset.ready"\n',
            "unknown keys 'nme' (did you mean 'name'?), 'step' (did you mean 'steps'?); "
            "a scenario has: name, description, provider, version, vars, steps",
        ),
        ('name = "x"\n', "steps must be an array of tables"),
        ("steps = []\n", "no steps"),
        ('steps = ["video.asset.ready"]\n', "steps must be an array of tables"),
        ('provider = "wistia"\n[[steps]]\nevent = "x"\n', "provider 'wistia': choose one of"),
        ('version = 2\n[[steps]]\nevent = "video.asset.ready"\n', "reads scenario version 1"),
        ('name = 3\n[[steps]]\nevent = "video.asset.ready"\n', "name must be a string"),
        ('vars = 3\n[[steps]]\nevent = "video.asset.ready"\n', "vars must be a table"),
        ("[[steps]\n", "not valid TOML"),
        (
            '[[steps]]\nevent = "video.asset.ready"\nset = { "data.id" = "a",\n  "id" = "b" }\n',
            "not valid TOML: line 3: an inline table ({ … }) must end on the line it starts; "
            "write it on one line, or as a table of its own (e.g. [steps.set] after [[steps]])",
        ),
        (  # closed on its line: not the "must end on the line it starts" message
            '[[steps]]\nevent = "video.asset.ready"\nset = { "data.id" = "abc", }\n',
            "not valid TOML: line 3: a trailing comma is not allowed in an inline table "
            "({ … }); remove the comma before the }",
        ),
        (
            '[[steps]]\nevent = "video.asset.ready"\nset = { "data.id" = "abc", "x" }\n',
            "not valid TOML: line 3, column 32: expected '=' after a key in a key/value pair",
        ),
    ],
)
def test_bad_top_level(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(FixtureError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        ('event = "video.asset.ready"\nexpected = 200', "unknown key 'expected' (did you mean"),
        ('event = "video.asset.ready"\nsets = {}', "unknown key 'sets' (did you mean 'set'?)"),
        ('event = "video.asset.ready"\nfile = "x.json"', "give either event"),
        ('name = "x"', "give either event"),
        ('event = "video.asset.ready"\nexpect = "2x"', "expect '2x': write 2xx, 4xx"),
        ('event = "video.asset.ready"\nexpect = 700', "expect 700"),
        ('event = "video.asset.ready"\nexpect = true', "expect must be a string or a status"),
        ('event = "video.asset.ready"\npause = -1', "pause -1: give 0 or more seconds"),
        ('event = "video.asset.ready"\npause = "1s"', "pause must be a number"),
        ('event = "video.asset.ready"\nset = "data.id=1"', "set must be a table"),
        ('event = "video.asset.ready"\nunset = "data.id"', "unset must be a list of paths"),
        ('event = "video.asset.ready"\nname = "2"', "name '2': a step name is letters"),
        ('event = "video.asset.ready"\nname = "a.b"', "a step name is letters"),
        ("event = 3", "event must be a string"),
        ('event = "video.asset.ready"\nset = { "data..id" = 1 }', "the path has an empty part"),
        ('event = "video.asset.ready"\nset = { x = 2026-01-01 }', "is a TOML date"),
        ('event = "video.asset.ready"\nset = { x = nan }', "nan is not a JSON number"),
        ('event = "video.asset.ready"\nprovider = "x"', "provider 'x': choose one of"),
    ],
)
def test_bad_steps(tmp_path: Path, step: str, problem: str) -> None:
    path = write(tmp_path, f'[[steps]]\nevent = "video.upload.created"\n[[steps]]\n{step}\n')
    with pytest.raises(FixtureError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: step 2")
    assert problem in str(caught.value)


def test_step_names_are_unique(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[steps]]\nname = "a"\nevent = "video.asset.ready"\n'
        '[[steps]]\nname = "a"\nevent = "video.asset.ready"\n',
    )
    with pytest.raises(FixtureError, match="step 2: name 'a' is already step 1's"):
        load_scenario(path)


def test_load_scenario_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="no such file"):
        load_scenario(tmp_path / "missing.toml")
    with pytest.raises(FixtureError, match="is a directory"):
        load_scenario(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(FixtureError, match="not UTF-8"):
        load_scenario(binary)


def test_load_scenario_keeps_the_header(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'name = "Upload"\ndescription = "d"\nprovider = "fastpix"\n'
        '[[steps]]\nevent = "video.media.ready"\n',
        name="upload.toml",
    )
    loaded = load_scenario(path)
    assert (loaded.path, loaded.name, loaded.description, loaded.provider) == (
        path,
        "Upload",
        "d",
        "fastpix",
    )
    assert loaded.raw["steps"] == [{"event": "video.media.ready"}]
    unnamed = write(tmp_path, '[[steps]]\nevent = "video.asset.ready"\n', name="plain.toml")
    assert load_scenario(unnamed)[1:4] == ("plain", "", "mux")


def test_is_scenario(tmp_path: Path) -> None:
    assert is_scenario(write(tmp_path, '[[steps]]\nevent = "video.asset.ready"\n', "a.toml"))
    assert is_scenario(write(tmp_path, "steps = 3\n", "b.toml"))  # load_scenario says why
    assert is_scenario(write(tmp_path, "[[steps]\n", "broken.toml"))
    assert not is_scenario(write(tmp_path, '[tool.x]\ny = "z"\n', "pyproject.toml"))
    assert not is_scenario(write(tmp_path, '{"steps": []}', "a.json"))
    assert not is_scenario(tmp_path / "missing.toml")
    assert not is_scenario(tmp_path)


# -- rendering ------------------------------------------------------------------------


def test_steps_carry_what_replay_needs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[steps]]\nname = "ready"\nevent = "video.asset.ready"\nexpect = 200\npause = 1\n'
        '[[steps]]\nevent = "video.asset.deleted"\nexpect = "2XX, 409"\n'
        '[[steps]]\nevent = "video.asset.ready"\nset = { type = "video.asset.updated" }\n',
        name="flow.toml",
    )
    first, second, third = run(path)
    assert first == Step(
        1,
        "ready",
        "mux",
        "video.asset.ready",
        (FIXTURES / "mux" / "video.asset.ready.json").read_bytes(),
        "200",
        1.0,
        f'{path} step 1 "ready" (video.asset.ready)',
    )
    assert (second.index, second.name, second.expect, second.pause) == (2, None, "2xx,409", 0.0)
    assert second.source == f"{path} step 2 (video.asset.deleted)"
    assert third.event_type == "video.asset.updated"  # read from the final body


def test_without_overrides_the_fixture_bytes_go_out_unchanged(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[steps]]\nevent = "fastpix:video.media.ready"\n'
        '[[steps]]\nevent = "millicast:thumbnail"\n',
    )
    media, thumbnail = run(path)
    assert media.body == (FIXTURES / "fastpix" / "video.media.ready.json").read_bytes()
    assert thumbnail.body == (FIXTURES / "millicast" / "thumbnail.jpg").read_bytes()
    assert (thumbnail.provider, thumbnail.event_type) == ("millicast", "thumbnail")


def test_overrides_reserialise_compactly(tmp_path: Path) -> None:
    (step,) = run(
        write(tmp_path, '[[steps]]\nevent = "video.asset.ready"\nset = { "data.meta.title" = "é" }')
    )
    assert b'"title":"\xc3\xa9"' in step.body
    assert b": " not in step.body and b", " not in step.body


def test_a_table_merges_and_unset_runs_first(tmp_path: Path) -> None:
    original = json.loads((FIXTURES / "mux" / "video.asset.ready.json").read_bytes())["data"]
    # TOML dotted keys are a nested table: it must not wipe the rest of data
    body = one_step(tmp_path, 'data.meta.title = "New"\ndata.passthrough = "p"')
    assert body["data"]["meta"] == {"title": "New"}
    assert body["data"]["passthrough"] == "p"
    assert {k: v for k, v in body["data"].items() if k not in ("meta", "passthrough")} == {
        k: v for k, v in original.items() if k not in ("meta", "passthrough")
    }
    merged = one_step(tmp_path, '"data.meta" = { creator_id = "c" }')
    assert merged["data"]["meta"] == {"title": original["meta"]["title"], "creator_id": "c"}

    path = write(
        tmp_path,
        '[[steps]]\nevent = "video.asset.ready"\nunset = ["data.meta", "data.tracks"]\n'
        '[steps.set]\n"data.meta" = { creator_id = "c" }\n',
    )
    data = doc(run(path)[0])["data"]
    assert data["meta"] == {"creator_id": "c"}
    assert "tracks" not in data


def test_bad_set_and_unset_paths_name_the_step(tmp_path: Path) -> None:
    unset = write(tmp_path, '[[steps]]\nevent = "video.asset.ready"\nunset = ["data.nope"]\n')
    assert (
        fails(unset)
        == f"{unset}: step 1 (video.asset.ready): unset data.nope: no field 'nope' there"
    )
    inside = write(tmp_path, '[[steps]]\nevent = "video.asset.ready"\nset = { "data.id.x" = 1 }\n')
    assert fails(inside).startswith(f"{inside}: step 1 (video.asset.ready): set data.id.x: ")
    binary = write(tmp_path, '[[steps]]\nevent = "millicast:thumbnail"\nset = { "data.x" = 1 }\n')
    assert "set/unset need a JSON body" in fails(binary)


def test_extra_sets_and_unsets_apply_to_every_step_after_its_own(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[steps]]\nevent = "video.asset.ready"\nset = { "data.passthrough" = "own" }\n'
        '[[steps]]\nevent = "video.asset.created"\n',
    )
    steps = run(path, sets=["data.passthrough=cli", "data.duration=1.5"], unsets=["data.meta"])
    for step in steps:
        data = doc(step)["data"]
        assert (data["passthrough"], data["duration"]) == ("cli", 1.5)
        assert "meta" not in data
    message = fails_with(path, unsets=["data.tracks"])
    assert message.startswith(f"{path}: step 2 (video.asset.created): --unset data.tracks")


def fails_with(path: Path, *, unsets: Sequence[str]) -> str:
    with pytest.raises(UsageError) as caught:
        run(path, unsets=unsets)
    return str(caught.value)


def test_file_steps_are_relative_to_the_scenario(tmp_path: Path) -> None:
    recorded = tmp_path / "flows" / "recorded" / "fastpix" / "ready.json"
    recorded.parent.mkdir(parents=True)
    recorded.write_bytes((FIXTURES / "fastpix" / "video.media.ready.json").read_bytes())
    path = write(
        tmp_path,
        '[[steps]]\nfile = "recorded/${env.FOLDER:-fastpix}/ready.json"\n'
        'set = { "data.id" = "m1" }\n',
        name="flows/ready.toml",
    )
    (step,) = run(path)
    assert (step.provider, step.event_type) == ("fastpix", "video.media.ready")
    assert doc(step)["data"]["id"] == "m1"
    assert step.source == f"{path} step 1 (recorded/${{env.FOLDER:-fastpix}}/ready.json)"

    missing = write(tmp_path, '[[steps]]\nfile = "gone.json"\n', name="flows/gone.toml")
    assert fails(missing) == (
        f"{missing}: step 1 (gone.json): {tmp_path / 'flows' / 'gone.json'}: no such file"
    )
    nested = write(tmp_path, '[[steps]]\nfile = "ready.toml"\n', name="flows/nested.toml")
    assert "a step's file is a fixture (.json, .jpg), not a scenario" in fails(nested)
    forced = write(
        tmp_path,
        '[[steps]]\nprovider = "mux"\nfile = "recorded/fastpix/ready.json"\n',
        name="flows/forced.toml",
    )
    assert run(forced)[0].provider == "mux"


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    for path in bundled_scenarios().values():
        loaded = load_scenario(path)
        first = render(loaded, environ={}, now=NOW, rng=random.Random(3))
        again = render(loaded, environ={}, now=NOW, rng=random.Random(3))
        other = render(loaded, environ={}, now=NOW, rng=random.Random(4))
        later = render(loaded, environ={}, now=NOW + 1, rng=random.Random(3))
        assert [s.body for s in first] == [s.body for s in again]
        assert [s.body for s in first] != [s.body for s in other]
        assert [s.body for s in first] != [s.body for s in later]


def test_a_scenario_built_by_hand_is_checked_too(tmp_path: Path) -> None:
    scenario = Scenario(tmp_path / "x.toml", "x", "", "mux", {"steps": [{"event": "nope"}]})
    with pytest.raises(UnknownEventError):
        render(scenario, environ={}, now=NOW, rng=random.Random(0))


# -- the bundled scenarios ------------------------------------------------------------

BUNDLED = {
    "mux-direct-upload": [
        "video.upload.created",
        "video.asset.created",
        "video.asset.ready",
        "video.upload.asset_created",
    ],
    "mux-live-stream": [
        "video.live_stream.created",
        "video.live_stream.connected",
        "video.live_stream.recording",
        "video.live_stream.active",
        "video.live_stream.disconnected",
        "video.live_stream.idle",
        "video.asset.live_stream_completed",
    ],
    "mux-static-renditions": [
        "video.asset.ready",
        "video.asset.static_rendition.created",
        "video.asset.static_rendition.ready",
        "video.asset.static_renditions.ready",
    ],
    "mux-asset-errored": ["video.asset.created", "video.asset.errored"],
    "fastpix-media-ready": [
        "video.media.upload",
        "video.upload.media_created",
        "video.media.ready",
    ],
    "millicast-recording": ["feeds.started", "media.processing", "feeds.ended", "media.completed"],
}


def bundled(name: str, environ: Mapping[str, str] | None = None) -> list[Any]:
    path = bundled_scenarios()[name]
    steps = render(load_scenario(path), environ=environ or {}, now=NOW, rng=random.Random(11))
    return [doc(step) for step in steps]


def test_the_bundled_scenarios_are_these() -> None:
    found = bundled_scenarios()
    assert sorted(found) == sorted(BUNDLED)
    assert all(path.parent == FIXTURES / "scenarios" for path in found.values())
    assert all(is_scenario(path) for path in found.values())


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_a_bundled_scenario_renders_and_parses(name: str) -> None:
    loaded = load_scenario(bundled_scenarios()[name])
    assert loaded.name and loaded.description.strip()
    steps = render(loaded, environ={}, now=NOW, rng=random.Random(5))
    assert [step.event_type for step in steps] == BUNDLED[name]
    assert [step.index for step in steps] == list(range(1, len(steps) + 1))
    event_ids = []
    for step in steps:
        event = models.parse_event(step.body, provider=step.provider)
        assert not isinstance(event.typed_data(), dict) or step.provider == "millicast"
        assert event.dump() == json.loads(step.body)
        assert step.expect is None and step.pause == 0.0
        if not isinstance(event, models.MillicastEvent):
            assert event.id and UUID4.match(event.id)
            event_ids.append(event.id)
    assert len(set(event_ids)) == len(event_ids)  # an app that deduplicates keeps them all


def test_direct_upload_ids_are_consistent() -> None:
    upload, created, ready, done = bundled("mux-direct-upload", {"MUXHOOK_PASSTHROUGH": "o-7"})
    upload_id, asset_id = upload["data"]["id"], created["data"]["id"]
    assert MUX_ID.match(upload_id) and MUX_ID.match(asset_id) and upload_id != asset_id
    assert upload["object"]["id"] == done["object"]["id"] == done["data"]["id"] == upload_id
    assert created["data"]["upload_id"] == ready["data"]["upload_id"] == upload_id
    assert created["object"]["id"] == ready["object"]["id"] == ready["data"]["id"] == asset_id
    assert done["data"]["asset_id"] == asset_id
    assert created["data"]["playback_ids"] == ready["data"]["playback_ids"]
    assert MUX_ID.match(created["data"]["playback_ids"][0]["id"])
    assert created["data"]["passthrough"] == ready["data"]["passthrough"] == "o-7"
    assert upload["data"]["new_asset_settings"]["passthrough"] == "o-7"
    assert done["data"]["url"] == upload["data"]["url"]
    assert created["data"]["created_at"] == ready["data"]["created_at"] == 1795000000
    assert bundled("mux-direct-upload")[1]["data"]["passthrough"] == "order-42"


def test_live_stream_ids_are_consistent() -> None:
    *stream, completed = bundled("mux-live-stream")
    stream_id = stream[0]["data"]["id"]
    assert MUX_ID.match(stream_id)
    for event in stream:
        assert event["object"]["id"] == event["data"]["id"] == stream_id
        assert event["data"]["stream_key"] == stream[0]["data"]["stream_key"]
        assert event["data"]["playback_ids"] == stream[0]["data"]["playback_ids"]
    asset_id = completed["data"]["id"]
    assert completed["object"]["id"] == asset_id != stream_id
    assert completed["data"]["live_stream_id"] == stream_id
    assert completed["data"]["playback_ids"] != stream[0]["data"]["playback_ids"]
    recording, active, disconnected = stream[2:5]
    for event in (recording, active, disconnected):
        assert event["data"]["active_asset_id"] == asset_id
    for event in stream[2:]:
        assert event["data"]["recent_asset_ids"] == [asset_id]
    assert stream[1]["data"]["recent_asset_ids"] == []
    assert "active_asset_id" not in stream[0]["data"] and "active_asset_id" not in stream[1]["data"]


def test_static_rendition_ids_are_consistent() -> None:
    ready, created, rendition_ready, legacy = bundled("mux-static-renditions")
    asset_id = ready["data"]["id"]
    rendition_id = created["data"]["id"]
    assert ready["object"]["id"] == legacy["object"]["id"] == legacy["data"]["id"] == asset_id
    assert created["data"]["asset_id"] == rendition_ready["data"]["asset_id"] == asset_id
    assert created["object"]["id"] == rendition_ready["object"]["id"] == rendition_id
    assert rendition_ready["data"]["id"] == rendition_id != asset_id
    assert created["data"]["name"] == rendition_ready["data"]["name"]
    assert legacy["data"]["playback_ids"] == ready["data"]["playback_ids"]
    assert "upload_id" not in ready["data"]


def test_asset_errored_ids_are_consistent() -> None:
    created, errored = bundled("mux-asset-errored", {"MUXHOOK_ERROR_MESSAGE": "bad file"})
    assert created["data"]["id"] == errored["data"]["id"] == errored["object"]["id"]
    assert created["data"]["playback_ids"] == errored["data"]["playback_ids"]
    assert errored["data"]["errors"] == {"type": "invalid_input", "messages": ["bad file"]}
    errors = models.parse_event(json.dumps(errored), provider="mux")
    data = errors.typed_data()
    assert isinstance(data, models.Asset) and data.errors is not None
    assert data.errors.type == "invalid_input"
    default = bundled("mux-asset-errored")[1]["data"]["errors"]["messages"]
    assert default == ["The input file could not be decoded as audio or video."]


def test_fastpix_media_ids_are_consistent() -> None:
    upload, created, ready = bundled("fastpix-media-ready", {"MUXHOOK_ORDER_ID": "o-9"})
    upload_id = upload["data"]["uploadId"]
    assert UUID4.match(upload_id) and upload["object"]["id"] == upload_id
    assert upload_id in upload["data"]["url"]
    media_id = created["data"]["id"]
    assert created["object"]["id"] == ready["object"]["id"] == ready["data"]["id"] == media_id
    assert media_id != upload_id
    metadata = upload["data"]["pushMediaSettings"]["metadata"]
    assert metadata["order_id"] == "o-9"
    assert created["data"]["metadata"] == ready["data"]["metadata"] == metadata
    playback = created["data"]["playbackIds"][0]["id"]
    assert ready["data"]["playbackIds"][0]["id"] == playback
    assert playback in created["data"]["thumbnail"] and playback in ready["data"]["thumbnail"]


def test_millicast_recording_ids_are_consistent() -> None:
    started, processing, ended, completed = bundled(
        "millicast-recording", {"MUXHOOK_STREAM_NAME": "launch"}
    )
    asset = processing["data"]["mediaAssetId"]
    assert HEX32.match(asset) and completed["data"]["mediaAssetId"] == asset
    assert started["data"]["feedId"] == ended["data"]["feedId"]
    for event in (started, ended):
        assert (event["data"]["name"], event["data"]["streamId"]) == ("launch", "dkxfvY/launch")
    for event in (processing, completed):
        assert event["data"]["streamName"] == "launch"
        assert event["data"]["streamId"] == "dkxfvY/launch"
        assert event["data"]["type"] == "recording"
        assert isinstance(event["data"]["tokenId"], int)
    assert processing["data"]["tokenId"] == completed["data"]["tokenId"]
    assert processing["data"]["startTime"] == started["data"]["started"] == 1795000000250
    assert all(event["timestamp"] == 1795000000250 for event in (started, ended, completed))


def test_mux_ids_use_base62() -> None:
    upload = bundled("mux-direct-upload")[0]
    assert set(upload["data"]["id"]) <= set(string.ascii_letters + string.digits)
