"""Which code made an output: `code_sha256` tells two states of bordersim's modules and tables apart and nothing
else (sim.provenance)."""

from __future__ import annotations

import shutil

from conftest import ROOT

from sim.provenance import code_sha256, tree_sha256


def test_the_fingerprint_changes_with_a_module_or_a_table_and_with_nothing_else(tmp_path):
    tree = tmp_path / "sim"
    shutil.copytree(ROOT / "sim", tree, ignore=shutil.ignore_patterns("__pycache__"))
    assert tree_sha256(tree) == code_sha256()  # the same files wherever they lie
    # what a checkout or an editor leaves beside the code, and the data's sources (documentation)
    (tree / ".DS_Store").write_bytes(b"\0")
    (tree / "rules" / ".choice.py.swp").write_bytes(b"swap")
    (tree / "rules" / "choice.py~").write_text("backup")
    (tree / "rules" / "__pycache__").mkdir()
    (tree / "rules" / "__pycache__" / "choice.cpython-312.pyc").write_bytes(b"compiled")
    (tree / "data" / "SOURCES.md").write_text("edited")
    (tree / "rules" / "gone.py").symlink_to(tmp_path / "nowhere.py")  # a dangling link is no module
    assert tree_sha256(tree) == code_sha256()
    module = tree / "rules" / "choice.py"
    module.write_text(module.read_text() + "\n")
    changed = tree_sha256(tree)
    assert changed != code_sha256()
    table = tree / "data" / "targets.csv"
    table.write_text(table.read_text().replace("\n", "\r\n"))
    assert tree_sha256(tree) not in (changed, code_sha256())
    # a file moved to another module's name is another code, though every byte is the same
    moved = tmp_path / "moved"
    shutil.copytree(ROOT / "sim", moved, ignore=shutil.ignore_patterns("__pycache__"))
    (moved / "rules" / "choice.py").rename(moved / "rules" / "choice2.py")
    assert tree_sha256(moved) != code_sha256()
