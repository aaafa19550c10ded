"""The code's shape, read from its source: what the product may import, and how long a function
may grow before it says why. These hold the boundaries that the refactor of issue #18 drew."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "talker"
MAX_FUNCTION_LINES = 80
LONG_OK = "# long:"  # a comment with this marker in a longer function says why it stays whole


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    """The dotted module an ``import from`` names, relative imports resolved against ``path``."""
    if not node.level:
        return node.module or ""
    package = list(path.relative_to(ROOT.parent).with_suffix("").parts)[:-1]
    if path.name == "__init__.py":
        package = list(path.relative_to(ROOT.parent).parts)[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path, tree: ast.AST):
    """(function name or "", imported dotted name) for every import in the module."""
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node

    def owner(node):
        while node in parents:
            node = parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node.name
        return ""

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield owner(node), alias.name
        elif isinstance(node, ast.ImportFrom):
            mod = _absolute(path, node)
            yield owner(node), mod
            for alias in node.names:  # "from talker import eval" names the package too
                yield owner(node), f"{mod}.{alias.name}"


def test_import_resolution_sees_relative_imports_of_eval():
    """The check below is only worth something if it resolves relative imports: a fake module in
    talker/reference importing ``..eval.lipsync`` must be seen as importing talker.eval."""
    tree = ast.parse("from ..eval.lipsync import av_offset\nfrom .. import eval\n")
    names = [name for _, name in _imports(ROOT / "reference" / "fake.py", tree)]
    assert "talker.eval.lipsync" in names and "talker.eval" in names


def test_product_code_does_not_import_evaluation_code():
    """Only talker/eval itself and the CLI's ``eval`` command may import talker.eval: a measure the
    product optimises against stops being a fair measure."""
    offenders = []
    for path, tree in _modules():
        rel = path.relative_to(ROOT.parent).as_posix()
        if rel.startswith("talker/eval/"):
            continue
        for func, name in _imports(path, tree):
            if name == "talker.eval" or name.startswith("talker.eval."):
                if rel == "talker/cli.py" and func == "cmd_eval":
                    continue
                offenders.append(f"{rel} ({func or 'module'}) imports {name}")
    assert not offenders, "\n".join(offenders)


def test_functions_stay_short_or_say_why():
    """No function in talker/ over 80 lines unless a ``# long:`` comment in it says why."""
    long = []
    for path, tree in _modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                body = "\n".join(lines[node.lineno - 1: node.end_lineno])
                if n > MAX_FUNCTION_LINES and LONG_OK not in body:
                    long.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, "\n".join(long)


def test_one_phone_type_in_the_product():
    """Speech, alignment and motion hand phones on as ``talker.phones.Phone``; no second phone
    class may appear (three once did, reconciled by getattr)."""
    classes = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Phone"):
                classes.append(f"{path.relative_to(ROOT.parent)}:{node.name}")
    assert classes == ["talker/phones.py:Phone"]


def _resolve(dotted: str):
    """``a.b.C.d`` → the object, importing the longest module prefix under talker."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module("talker." + ".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    import talker

    obj = talker
    for name in parts:
        obj = getattr(obj, name)
    return obj


def test_front_page_names_real_swap_points():
    """``talker/__init__.py`` tells a new engineer where each stage is swapped: every dotted name it
    gives must exist, and its two exports must import from the package itself."""
    import re

    import talker
    from talker import GenerateOptions, TalkerPipeline

    assert TalkerPipeline.__name__ == "TalkerPipeline" and GenerateOptions().seed == 0
    names = sorted(set(re.findall(r"``([A-Za-z_][\w]*(?:\.[\w]+)+)``", talker.__doc__)))
    assert len(names) >= 15, names
    missing = []
    for name in names:
        if name.endswith(".py"):  # a file: it must be there
            if not (ROOT / name).is_file():
                missing.append(f"{name}: no such file")
            continue
        try:
            _resolve(name)
        except (AttributeError, ImportError) as e:
            missing.append(f"{name}: {e}")
    assert not missing, "\n".join(missing)
