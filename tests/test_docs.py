"""The documentation: the ODD description names every lever and every parameter the code uses,
every code pointer and path in the hand-written pages resolves, the links between pages lead
somewhere, and README's "Where things are" lists the package as it is.

Pointer convention (stated in docs/ODD.md, "Conventions"): a code pointer is a backticked dotted
name starting with `sim.`, e.g. `sim.model.agents.firm.FirmPopulation.grow` (optionally with a
call such as `(DIR)`, which is ignored): the longest importable prefix is the module, the rest are attributes. A backticked
path starting with `sim/` names a file or folder of the package. The lever table of ODD 7.15 is a
copy of seeds/levers.yaml, whose mechanisms are dotted names under `sim.model` (as checked in
tests/test_levers_params.py).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest

from sim.inputs.levers import registry
from sim.inputs.params import definitions
from sim.inputs.paths import ROOT

DOCS = ROOT / "docs"
ODD = (DOCS / "ODD.md").read_text(encoding="utf-8")
STAMP = ".innosim-result.json"


@pytest.mark.parametrize("lid", list(registry()))
def test_every_lever_is_in_the_odd(lid):
    assert re.search(rf"`{lid}`", ODD), f"lever {lid} not described in docs/ODD.md"


@pytest.mark.parametrize("name", list(definitions()))
def test_every_parameter_is_in_the_odd(name):
    assert re.search(rf"`{name}`", ODD), f"parameter {name} not in docs/ODD.md"


# ------------------------------------------------------------------------------------------------
# pages, pointers and links
# ------------------------------------------------------------------------------------------------
def _generated(path: Path) -> bool:
    """Inside a folder innosim wrote (it carries a result stamp): not written by hand."""
    return any((parent / STAMP).is_file() for parent in path.parents if parent != ROOT.parent)


def hand_written_pages() -> list[Path]:
    """docs/**/*.md except what innosim generates (the fit report), and README.md."""
    pages = [p for p in sorted(DOCS.rglob("*.md")) if not _generated(p)]
    return [*pages, ROOT / "README.md"]


PAGES = hand_written_pages()
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
POINTER = re.compile(r"sim(?:\.[A-Za-z_]\w*)+(?:\(.*\))?")
PATH = re.compile(r"sim/[\w./-]*")


def prose(text: str) -> str:
    """The page without its fenced code blocks (examples, not pointers)."""
    return FENCE.sub("", text)


def _class_attribute(cls: type, name: str) -> bool:
    """`name` is an attribute of instances of `cls`: a dataclass field, an annotation, a slot, or
    assigned as `self.name` in the class's code (state set in __init__ is not on the class)."""
    for klass in cls.__mro__:
        if is_dataclass(klass) and name in {f.name for f in fields(klass)}:
            return True
        if name in getattr(klass, "__annotations__", {}) or name in getattr(klass, "__slots__", ()):
            return True
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
                and node.attr == name
            ):
                return True
    return False


def resolve(dotted: str) -> str | None:
    """None when `dotted` names something that exists, else what is missing: the longest
    importable prefix is imported, the rest is looked up attribute by attribute."""
    parts = dotted.split("(", 1)[0].split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        try:
            obj = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name is not None and not name.startswith(e.name):
                return f"importing {name} fails: {e}"  # a module that exists but cannot import
            continue
        for j, attr in enumerate(parts[i:], start=i):
            if hasattr(obj, attr):
                obj = getattr(obj, attr)
            elif inspect.isclass(obj) and j == len(parts) - 1 and _class_attribute(obj, attr):
                return None
            else:
                return f"{'.'.join(parts[:j])} has no attribute {attr}"
        return None
    return f"no module {parts[0]}"


def _spans(page: Path) -> list[str]:
    return CODE_SPAN.findall(prose(page.read_text(encoding="utf-8")))


def pointers(page: Path) -> list[str]:
    return sorted({s for s in _spans(page) if POINTER.fullmatch(s)})


def paths(page: Path) -> list[str]:
    return sorted({s for s in _spans(page) if PATH.fullmatch(s)})


def _ids(pages):
    return [str(p.relative_to(ROOT)) for p in pages]


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_code_pointers_resolve(page):
    bad = [f"{p}: {why}" for p in pointers(page) if (why := resolve(p))]
    assert not bad, f"{page.relative_to(ROOT)}: code pointers that do not resolve: {bad}"


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_package_paths_exist(page):
    bad = [p for p in paths(page) if not (ROOT / p).exists()]
    assert not bad, f"{page.relative_to(ROOT)}: paths that do not exist: {bad}"


def _sim_names() -> tuple[set[str], set[str]]:
    """Module names and top-level class names of the package (read, not imported)."""
    modules, classes = set(), set()
    for f in (ROOT / "sim").rglob("*.py"):
        modules.add(f.parent.name if f.stem == "__init__" else f.stem)
        tree = ast.parse(f.read_text(encoding="utf-8"))
        classes |= {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    return modules, classes


FILE_ENDINGS = {"md", "csv", "yaml", "yml", "py", "png", "parquet", "json", "txt", "ipynb"}


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_no_unqualified_pointers(page):
    """`FirmPopulation.grow` or `model._entry` would escape the check above: a name of a class or
    module of the package followed by an attribute must be written from `sim.`."""
    modules, classes = _sim_names()
    bad = []
    for s in _spans(page):
        m = re.fullmatch(r"([A-Za-z_]\w*)((?:\.\w+)+)(\(\))?", s)
        if not m or m.group(1) == "sim" or s.rsplit(".", 1)[-1] in FILE_ENDINGS:
            continue
        if m.group(1) in classes or m.group(1) in modules:
            bad.append(s)
    assert not bad, f"{page.relative_to(ROOT)}: write these from sim. on: {sorted(set(bad))}"


def test_odd_lever_table_is_the_copy_of_levers_yaml_and_resolves():
    """ODD 7.15's mechanism column is copied from seeds/levers.yaml (dotted names under
    sim.model); each row must match the file and each name resolve."""
    rows = {}
    for line in ODD.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and (m := re.fullmatch(r"`(\w+)`", cells[0])) and m[1] in registry():
            rows[m[1]] = cells[6]
    assert set(rows) == set(registry()), "ODD 7.15 should list every lever once"
    stale, bad = [], []
    for lid, lv in registry().items():
        if rows[lid] != lv.mechanism.replace("|", "\\|"):
            stale.append(lid)
        for ref in lv.mechanism.split(";"):
            if why := resolve("sim.model." + ref.split()[0]):
                bad.append(f"{lid}: {why}")
    assert not stale, f"regenerate the lever table of docs/ODD.md (Appendix A script): {stale}"
    assert not bad, bad


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in prose(page.read_text(encoding="utf-8")).splitlines():
        if m := re.match(r"#{1,6}\s+(.*)", line):
            slug = _slug(m[1])
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def links(page: Path) -> list[str]:
    return LINK.findall(prose(page.read_text(encoding="utf-8")))


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_relative_links_resolve(page):
    bad = []
    for target in links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            bad.append(
                f"{target} (no {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest})"
            )
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{target} (no heading #{anchor} in {dest.name})")
    assert not bad, f"{page.relative_to(ROOT)}: broken links: {bad}"


def test_docs_pages_link_each_other():
    """The ODD points to the pages that took its former sections, and they point back."""
    for page in ("calibration.md", "limitations.md"):
        assert page in links(DOCS / "ODD.md"), f"docs/ODD.md does not link {page}"
        assert "ODD.md" in links(DOCS / page), f"docs/{page} does not link ODD.md"
    assert "calibration/fit/fit.md" in links(DOCS / "calibration.md")


# ------------------------------------------------------------------------------------------------
# README: "Where things are"
# ------------------------------------------------------------------------------------------------
def where_things_are() -> dict[str, set[str]]:
    """package folder -> the module paths listed under it (one `- `path` ...` line each)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Where things are", 1)[1].split("\n## ", 1)[0]
    listed: dict[str, set[str]] = {}
    package = None
    for line in section.splitlines():
        if m := re.match(r"- `(sim/[\w/]+/)`", line):
            package = m[1]
            listed[package] = set()
        elif package and (m := re.match(r"  - `([\w/]+\.py)`", line)):
            listed[package].add(m[1])
        elif re.match(r"- ", line):
            package = None
    return listed


def test_readme_lists_every_module_of_the_package():
    listed = where_things_are()
    actual: dict[str, set[str]] = {}
    for f in sorted((ROOT / "sim").rglob("*.py")):
        rel = f.relative_to(ROOT / "sim")
        if len(rel.parts) < 2 or f.name in ("__init__.py", "__main__.py"):
            continue
        actual.setdefault(f"sim/{rel.parts[0]}/", set()).add("/".join(rel.parts[1:]))
    assert set(listed) == set(actual), "README 'Where things are': one bullet per package of sim/"
    for package, modules in actual.items():
        assert listed[package] == modules, (
            f"README 'Where things are', {package}: missing {sorted(modules - listed[package])}, "
            f"gone {sorted(listed[package] - modules)}"
        )
