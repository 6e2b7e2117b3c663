"""`python -m hf_serving package`: SageMaker's model.tar.gz layout, and clear refusals of broken models."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from hf_serving.__main__ import main as hf_serving_main
from hf_serving.tasks.base import Task
from hf_serving.tools.packaging import InvalidModel, check_archive, check_model_dir, write_archive
from tests.support.stack import TINY_QA, Stack

HOOKS = """
def output_fn(prediction, accept):
    import json
    return json.dumps({"packaged": True, "prediction": prediction}), "application/json"
"""


def package(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = hf_serving_main(["package", *args])
    out, err = capsys.readouterr()
    return code, out, err


def members(archive: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(archive) as opened:
        return {member.name: member for member in opened.getmembers()}


@pytest.fixture
def model(tmp_path: Path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(TINY_QA, copy)
    return copy


def test_the_model_files_sit_at_the_archives_root(tmp_path, capsys):
    archive = tmp_path / "out" / "model.tar.gz"
    code, out, err = package(capsys, str(TINY_QA), "-o", str(archive))
    assert (code, err) == (0, "")
    assert (
        out.startswith(f"{archive}: ")
        and "task question-answering; weights model.safetensors; "
        "tokenizer tokenizer.json; code none (the container's default hooks)"
        in out
    )
    entries = members(archive)
    assert sorted(entries) == sorted(p.name for p in TINY_QA.iterdir())
    assert all(e.isfile() and (e.uid, e.gid, e.mode) == (0, 0, 0o644) for e in entries.values())
    with tarfile.open(archive) as opened:
        extracted = opened.extractfile("config.json")
        assert extracted is not None and json.load(extracted) == json.loads((TINY_QA / "config.json").read_text())
    code, out, err = package(capsys, "--check", str(archive))
    assert (code, err) == (0, "") and out.startswith(f"{archive}: ok: task question-answering")


def test_code_goes_under_code(model, tmp_path, capsys):
    code_dir = tmp_path / "hooks"
    code_dir.mkdir()
    (code_dir / "inference.py").write_text(HOOKS)
    (code_dir / "requirements.txt").write_text("six\n")
    (code_dir / "__pycache__").mkdir()
    (code_dir / "__pycache__" / "inference.cpython-311.pyc").write_bytes(b"\0")
    archive = tmp_path / "model.tar.gz"
    code, out, err = package(capsys, str(model), "--code", str(code_dir), "-o", str(archive))
    assert code == 0, err
    assert "code code/inference.py, code/requirements.txt" in out
    assert {"code/inference.py", "code/requirements.txt"} <= set(members(archive))
    assert not [name for name in members(archive) if "__pycache__" in name]


def test_symlinks_of_a_hub_cache_snapshot_are_stored_as_files(tmp_path):
    blobs, snapshot = tmp_path / "blobs", tmp_path / "snapshot"
    blobs.mkdir()
    snapshot.mkdir()
    for path in TINY_QA.iterdir():
        shutil.copy(path, blobs / path.name)
        (snapshot / path.name).symlink_to(blobs / path.name)
    archive = tmp_path / "model.tar.gz"
    write_archive(snapshot, archive)
    entries = members(archive)
    assert entries["model.safetensors"].isfile()
    assert entries["model.safetensors"].size == (TINY_QA / "model.safetensors").stat().st_size


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda m: (m / "config.json").unlink(), "config.json does not exist"),
        (lambda m: (m / "config.json").write_text("{not json"), "config.json is not readable JSON"),
        (
            lambda m: (m / "config.json").write_text('{"architectures": ["GPT2LMHeadModel"]}'),
            "cannot tell the task from config.json architectures ['GPT2LMHeadModel']",
        ),
        (lambda m: (m / "model.safetensors").unlink(), "no weights: expected one of model.safetensors"),
        (lambda m: (m / "model.safetensors").write_bytes(b""), "model.safetensors is empty"),
        (lambda m: (m / "tokenizer.json").unlink(), "no tokenizer: expected tokenizer.json or vocab.txt"),
        (
            lambda m: (m / "model.safetensors.index.json").write_text(
                '{"weight_map": {"a": "model-00001-of-00002.safetensors"}}'
            ),
            "model.safetensors.index.json names shards that are missing: model-00001-of-00002.safetensors",
        ),
        (lambda m: ((m / "code").mkdir(), (m / "code" / "requirements.txt").write_text("six\n")), "holds no .py file"),
        (
            lambda m: ((m / "code").mkdir(), (m / "code" / "inference.py").write_text("def model_fn(:\n")),
            "code/inference.py does not compile",
        ),
    ],
)
def test_a_broken_model_is_refused_and_nothing_is_written(model, tmp_path, capsys, damage, message):
    damage(model)
    archive = tmp_path / "model.tar.gz"
    code, out, err = package(capsys, str(model), "-o", str(archive))
    assert (code, out) == (1, "")
    assert err.startswith(f"package: refused: {model} cannot be served:\n") and message in err
    assert not archive.exists() and not list(tmp_path.glob("*.partial"))


def test_every_problem_is_named_at_once(tmp_path):
    (tmp_path / "config.json").write_text('{"architectures": []}')
    with pytest.raises(InvalidModel) as refused:
        check_model_dir(tmp_path)
    assert [line for line in str(refused.value).splitlines() if line.startswith("  - ")] == [
        "  - cannot tell the task from config.json architectures []: this container serves ...ForQuestionAnswering, "
        "...ForSequenceClassification, ...ForMaskedLM, ...ForTokenClassification models, sentence-transformers "
        "directories (embeddings, or a CrossEncoder: reranking) and models whose README.md names a pipeline_tag it "
        "serves; set HF_TASK to force one (feature-extraction, fill-mask, ner, question-answering, rerank, "
        "sentence-embeddings, sentence-ranking, sentence-similarity, sentiment-analysis, text-classification, "
        "text-ranking, token-classification, zero-shot-classification)",
        "  - no weights: expected one of model.safetensors, pytorch_model.bin, model.safetensors.index.json, "
        "pytorch_model.bin.index.json (model.save_pretrained(dir) writes them)",
        "  - no tokenizer: expected tokenizer.json or vocab.txt or vocab.json + merges.txt "
        "(tokenizer.save_pretrained(dir) writes them)",
    ]


def test_task_forces_an_architecture_the_config_does_not_name(model):
    (model / "config.json").write_text(
        json.dumps({**json.loads((TINY_QA / "config.json").read_text()), "architectures": ["MyCustomModel"]})
    )
    assert check_model_dir(model, task="question-answering").task is Task.QUESTION_ANSWERING


def test_code_in_the_model_dir_and_code_given_conflict(model, tmp_path):
    (model / "code").mkdir()
    (model / "code" / "inference.py").write_text(HOOKS)
    with pytest.raises(InvalidModel, match=r"exists and --code .* was given: keep one of the two"):
        check_model_dir(model, code_dir=model / "code")


def test_check_names_a_folder_wrapped_around_the_model(tmp_path, capsys):
    archive = tmp_path / "wrapped.tar.gz"
    with tarfile.open(archive, "w:gz") as opened:
        opened.add(TINY_QA, arcname="tiny-qa")
    code, out, err = package(capsys, "--check", str(archive))
    assert (code, out) == (1, "")
    assert "config.json is under tiny-qa/ in the archive" in err and "package the folder itself" in err


def test_check_refuses_links_and_parent_paths(tmp_path):
    archive = tmp_path / "unsafe.tar.gz"
    with tarfile.open(archive, "w:gz") as opened:
        opened.add(TINY_QA / "config.json", arcname="config.json")
        link = tarfile.TarInfo("model.safetensors")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        opened.addfile(link)
        escape = tarfile.TarInfo("../outside.txt")
        escape.size = 2
        opened.addfile(escape, io.BytesIO(b"hi"))
    with pytest.raises(InvalidModel, match=r"unsafe entries .*: model.safetensors, \.\./outside.txt"):
        check_archive(archive)


def test_check_refuses_what_is_not_a_tarball(tmp_path, capsys):
    (tmp_path / "model.tar.gz").write_text("not a tarball")
    code, out, err = package(capsys, "--check", str(tmp_path / "model.tar.gz"))
    assert (code, out) == (1, "") and "is not a readable tar.gz" in err


def test_usage_errors(capsys):
    with pytest.raises(SystemExit) as usage:
        hf_serving_main(["package", str(TINY_QA)])
    assert usage.value.code == 2 and "give MODEL_DIR with -o ARCHIVE, or --check ARCHIVE" in capsys.readouterr().err


def test_the_stack_serves_what_package_wrote(tmp_path):
    """model.tar.gz extracted as SageMaker does, then served: the packaged hooks answer."""
    code_dir = tmp_path / "hooks"
    code_dir.mkdir()
    (code_dir / "inference.py").write_text(HOOKS)
    archive = tmp_path / "model.tar.gz"
    write_archive(TINY_QA, archive, code_dir)
    model_dir = tmp_path / "opt-ml-model"
    with tarfile.open(archive) as opened:
        opened.extractall(model_dir, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    stack = Stack(model_dir, tmp_path / "serve.log").start()
    try:
        stack.wait_ready()
        question = {"question": "Who wrote Hamlet?", "context": "Hamlet is a tragedy written by William Shakespeare."}
        response = stack.invoke(question)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["packaged"] is True
        answer = body["prediction"]
        assert question["context"][answer["start"] : answer["end"]] == answer["answer"] != ""
    finally:
        assert stack.terminate() == 0
        stack.kill_everything()
