"""Scenarios: every shipped one loads; a broken file names the file, the line and the offender."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.scenario import ScenarioError, load_scenario, scenario_names

REQUIRED = {
    "cms-2013-primary",
    "cms-2013-mirror",
    "cms-2010",
    "cms-elsewhere-healthy",
    "cms-elsewhere-unavailable",
    "edge-same-site",
    "edge-other-site",
}

VALID = """\
name: tiny
description: one pool fails over to another
sites: [Datacenter1, Datacenter2]
pools:
  - fqdn: pool1.contoso.com
    site: Datacenter1
    version: 6
    front_ends: [fe01.pool1.contoso.com]
    backend:
      primary: {fqdn: sql01.contoso.com, cms_database: true}
    backup_pool: pool2.contoso.com
  - fqdn: pool2.contoso.com
    site: Datacenter2
    version: 6
    front_ends: [fe01.pool2.contoso.com]
    backend:
      primary: {fqdn: sql03.contoso.com, cms_database: true}
cms:
  pool: pool1.contoso.com
failed_pool: pool1.contoso.com
expected:
  cms_pool: pool2.contoso.com
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "pool1.yaml"
    path.write_text(text)
    return str(path)


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_every_required_scenario_is_shipped_and_loads() -> None:
    assert set(scenario_names()) >= REQUIRED
    for name in scenario_names():
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.sites == ["Datacenter1", "Datacenter2"]
        assert scenario.description.strip()
        site = [pool.fqdn for pool in scenario.pools if pool.site == scenario.failed_site]
        failed = [scenario.failed_pool] if scenario.failed_pool else site
        assert scenario.rehearse == "readiness" or any(u.home_pool in failed for u in scenario.users)
        assert (scenario.rehearse == "readiness") == (not failed), name  # a quiet day names no failure


def test_the_2010_target_has_export_files_on_three_front_ends() -> None:
    scenario = load_scenario("cms-2010")
    target = scenario.pool("pool2.contoso.com")
    assert target is not None and len(target.front_ends) >= 3
    for server in target.front_ends:
        assert [f.lower() for f in scenario.files[server]] == [
            "c:\\csconfigurationfile.zip",
            "c:\\cslisconfigurationfile.zip",
        ]


def test_a_path_loads_and_defaults_apply(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, VALID))
    assert scenario.administrator == "CONTOSO\\lyncadmin"
    assert scenario.cms.service_on == ["fe01.pool1.contoso.com"]


def test_unknown_backup_pool_names_file_line_and_pool(tmp_path: Path) -> None:
    text = VALID.replace("backup_pool: pool2.contoso.com", "backup_pool: pool9.contoso.com")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    line = line_of(text, "pool9")
    assert str(caught.value) == (
        f'pool1.yaml, line {line}: backup pool "pool9.contoso.com" is not a Front End pool of this scenario'
    )


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    text = VALID.replace(
        "    version: 6\n    front_ends: [fe01.pool2",
        "    version: 6\n    colour: red\n    front_ends: [fe01.pool2",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    assert (
        str(caught.value) == f'pool1.yaml, line {line_of(text, "colour")}: unknown key "colour" in pools[1]'
    )


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    text = VALID.replace("cms:\n  pool: pool1.contoso.com", "cms:\n  pool: [pool1.contoso.com")
    with pytest.raises(ScenarioError, match=r"^pool1\.yaml, line \d+: invalid YAML"):
        load_scenario(write(tmp_path, text))


def test_missing_failed_pool_is_named(tmp_path: Path) -> None:
    text = VALID.replace("failed_pool: pool1.contoso.com\n", "")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    assert str(caught.value) == 'pool1.yaml, line 1: missing key "failed_pool" in the scenario'


def test_unknown_down_server_and_bad_value_are_named(tmp_path: Path) -> None:
    text = VALID + "down_servers: [fe09.pool1.contoso.com]\n"
    line = line_of(text, "fe09")
    with pytest.raises(
        ScenarioError, match=rf'line {line}: down server "fe09.pool1.contoso.com" is not a server'
    ):
        load_scenario(write(tmp_path, text))
    text = VALID.replace("version: 6", "version: 9", 1)
    with pytest.raises(ScenarioError, match=rf"line {line_of(text, 'version: 9')}: pools\[0\]\.version"):
        load_scenario(write(tmp_path, text))


def test_unknown_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match="cms-2013-primary"):
        load_scenario("no-such-scenario")


def test_a_mirror_principal_without_a_mirror_names_file_line_and_pool(tmp_path: Path) -> None:
    text = VALID.replace(
        "      primary: {fqdn: sql03.contoso.com, cms_database: true}\n",
        "      primary: {fqdn: sql03.contoso.com, cms_database: true}\n      principal: mirror\n",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    line = line_of(text, "principal: mirror")
    assert str(caught.value) == (
        f'pool1.yaml, line {line}: the principal of pool "pool2.contoso.com" is its mirror, but its back end '
        'has no mirror: add one, or make the principal "primary"'
    )


def test_a_backup_pairing_with_a_lync_2010_pool_names_file_line_and_pool(tmp_path: Path) -> None:
    text = VALID.replace(
        "    version: 6\n    front_ends: [fe01.pool2", "    version: 5\n    front_ends: [fe01.pool2"
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    assert str(caught.value) == (
        f'pool1.yaml, line {line_of(text, "backup_pool")}: pool "pool1.contoso.com" cannot be backed up by '
        '"pool2.contoso.com": "pool2.contoso.com" runs Lync Server 2010 (version 5) and backup pairing came '
        "with Lync Server 2013 (version 6); remove backup_pool or make both pools version 6"
    )
