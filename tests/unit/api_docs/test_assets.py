"""The pinned Swagger UI files: read from npm's lock, refused unless the tarball matches its integrity, only the files
the page needs kept, nothing fetched twice. The tarballs are built here: no network."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from hf_serving.api_docs import assets
from hf_serving.api_docs.assets import WANTED, AssetsError

URL = "https://registry.example/swagger-ui-dist/-/swagger-ui-dist-9.9.9.tgz"


def tarball(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """An npm tarball: every file under package/, plus symbolic links if asked."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(f"package/{name}")
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def lock(tmp_path: Path, data: bytes, version: str = "9.9.9", resolved: str | None = URL) -> Path:
    entry = {"version": version, "integrity": sri(data), "license": "Apache-2.0"}
    if resolved is not None:
        entry["resolved"] = resolved
    path = tmp_path / "package-lock.json"
    path.write_text(json.dumps({"lockfileVersion": 3, "packages": {"node_modules/swagger-ui-dist": entry}}))
    return path


# What swagger-ui-dist ships: the files the page needs, and others it does not (other bundles, source maps, npm's).
PACKAGE_FILES = {
    **{name: f"contents of {name}".encode() for name in WANTED},
    "index.html": b"<html>the package's own page</html>",
    "swagger-ui.js.map": b"{}",
    "swagger-ui-standalone-preset.js": b"preset",
    "package.json": b"{}",
}


class Registry:
    """Stands in for the download: counts the calls, answers with the given bytes."""

    def __init__(self, data: bytes) -> None:
        self.data, self.calls = data, []

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        return self.data


def test_only_the_files_the_page_needs_are_kept_with_a_stamp_of_the_pin(tmp_path):
    data = tarball(PACKAGE_FILES)
    registry = Registry(data)
    target = tmp_path / "swagger-ui"
    pin, fetched = assets.install(target, lock(tmp_path, data), fetch=registry)
    assert fetched and registry.calls == [URL]
    assert sorted(p.name for p in target.iterdir()) == sorted([*WANTED, assets.STAMP])
    for name in WANTED:
        assert (target / name).read_bytes() == PACKAGE_FILES[name]
        assert (target / name).stat().st_mode & 0o777 == 0o644  # nginx's workers run as another user
    assert target.stat().st_mode & 0o777 == 0o755
    assert assets.installed_pin(target) == pin == assets.Pin("9.9.9", URL, sri(data))


def test_a_second_run_with_the_same_pin_fetches_nothing_and_a_new_pin_replaces_the_files(tmp_path):
    data = tarball(PACKAGE_FILES)
    registry = Registry(data)
    target = tmp_path / "swagger-ui"
    lock_path = lock(tmp_path, data)
    assets.install(target, lock_path, fetch=registry)
    before = {p.name: p.stat().st_mtime_ns for p in target.iterdir()}
    assert assets.install(target, lock_path, fetch=registry)[1] is False
    assert registry.calls == [URL]
    assert {p.name: p.stat().st_mtime_ns for p in target.iterdir()} == before

    newer = tarball({**PACKAGE_FILES, "swagger-ui.css": b"the next release's css"})
    pin, fetched = assets.install(target, lock(tmp_path, newer, version="10.0.0"), fetch=Registry(newer))
    assert fetched and pin.version == "10.0.0"
    assert (target / "swagger-ui.css").read_bytes() == b"the next release's css"
    assert json.loads((target / assets.STAMP).read_text())["version"] == "10.0.0"


def test_a_tampered_tarball_is_refused_naming_both_digests_and_nothing_is_installed(tmp_path):
    genuine = tarball(PACKAGE_FILES)
    tampered = tarball({**PACKAGE_FILES, "swagger-ui-bundle.js": b"alert('not swagger ui')"})
    target = tmp_path / "swagger-ui"
    with pytest.raises(AssetsError) as refused:
        assets.install(target, lock(tmp_path, genuine), fetch=Registry(tampered))
    expected = sri(genuine).removeprefix("sha512-")
    actual = sri(tampered).removeprefix("sha512-")
    assert f"sha512 expected {expected}, got {actual}" in str(refused.value)
    assert not target.exists() and list(tmp_path.glob(".swagger-ui-*")) == []


def test_a_file_missing_from_the_package_or_not_a_regular_file_installs_nothing(tmp_path):
    without = tarball({name: data for name, data in PACKAGE_FILES.items() if name != "NOTICE"})
    with pytest.raises(AssetsError, match="lacks package/NOTICE"):
        assets.install(tmp_path / "a", lock(tmp_path, without), fetch=Registry(without))
    linked = tarball(
        {name: data for name, data in PACKAGE_FILES.items() if name != "LICENSE"}, links={"LICENSE": "/etc/passwd"}
    )
    with pytest.raises(AssetsError, match="package/LICENSE is not a regular file"):
        assets.install(tmp_path / "b", lock(tmp_path, linked), fetch=Registry(linked))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert list(tmp_path.glob(".a-*")) == list(tmp_path.glob(".b-*")) == []


def test_an_incomplete_folder_is_fetched_again(tmp_path):
    data = tarball(PACKAGE_FILES)
    registry = Registry(data)
    target = tmp_path / "swagger-ui"
    lock_path = lock(tmp_path, data)
    assets.install(target, lock_path, fetch=registry)
    (target / "swagger-ui-bundle.js").unlink()
    assert assets.installed_pin(target) is None
    assert assets.install(target, lock_path, fetch=registry)[1] is True and len(registry.calls) == 2


def test_a_lock_without_the_package_or_its_url_says_what_to_do(tmp_path):
    data = tarball(PACKAGE_FILES)
    with pytest.raises(AssetsError, match=r"no resolved URL .* npm install --package-lock-only --ignore-scripts"):
        assets.read_pin(lock(tmp_path, data, resolved=None))
    (tmp_path / "empty.json").write_text('{"lockfileVersion": 3, "packages": {}}')
    with pytest.raises(AssetsError, match="does not pin swagger-ui-dist"):
        assets.read_pin(tmp_path / "empty.json")


@pytest.mark.parametrize(
    ("integrity", "accepted"),
    [
        ("sha512-{sha512}", True),
        ("sha1-AAAA sha512-{sha512}", True),  # several hashes: the strongest is checked
        ("sha256-{sha256}", True),
        ("sha1-{sha1}", False),  # too weak to trust
        ("sha512-{sha256}", False),
    ],
)
def test_integrity_is_checked_with_the_strongest_hash_named(integrity, accepted):
    data = b"a tarball"
    digests = {
        name: base64.b64encode(hashlib.new(name, data).digest()).decode() for name in ("sha512", "sha256", "sha1")
    }
    check = integrity.format(**digests)
    if accepted:
        assets.check_integrity(data, check)
    else:
        with pytest.raises(AssetsError):
            assets.check_integrity(data, check)


def test_only_http_urls_are_downloaded(tmp_path):
    with pytest.raises(AssetsError, match="is not http"):
        assets.download(f"file://{tmp_path}/x.tgz")


def test_the_command_line_fetches_into_the_folder_given(tmp_path, monkeypatch, capsys):
    data = tarball(PACKAGE_FILES)
    monkeypatch.setattr(assets, "LOCK_PATH", lock(tmp_path, data))
    monkeypatch.setattr(assets, "download", Registry(data))
    target = tmp_path / "out"
    assert assets.main(["-o", str(target)]) == 0
    assert "swagger-ui-dist 9.9.9: fetched from https://registry.example/" in capsys.readouterr().out
    assert assets.main(["-o", str(target)]) == 0
    assert "already in" in capsys.readouterr().out
    monkeypatch.setattr(assets, "download", Registry(b"not the tarball"))
    assert assets.main(["-o", str(tmp_path / "elsewhere")]) == 1
    assert "does not match the pin" in capsys.readouterr().err


def test_the_committed_pin_is_exact_and_npm_can_read_it():
    package = json.loads((assets.LOCK_PATH.parent / "package.json").read_text())
    lock_file = json.loads(assets.LOCK_PATH.read_text())
    pin = assets.read_pin()
    assert package["dependencies"]["swagger-ui-dist"] == pin.version  # exact: no range
    assert lock_file["lockfileVersion"] == 3
    assert lock_file["packages"][""]["dependencies"] == package["dependencies"]
    assert pin.url == f"https://registry.npmjs.org/swagger-ui-dist/-/swagger-ui-dist-{pin.version}.tgz"
    assert pin.integrity.startswith("sha512-")
