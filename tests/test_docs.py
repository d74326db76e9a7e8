"""The docs are executable: every ```python block of docs/**/*.md runs, its ```output block
(if any) matches, every `unicr ...` command shown parses, links resolve, docs/cli.md is the
parser's reference and the gallery is current.

Refresh the ```output blocks of a page after a change (runs its examples):

    python tests/test_docs.py docs/python-api.md

A ```python block preceded by a line ``<!-- not run: REASON -->`` is shown but not executed;
a fenced block preceded by ``<!-- file: NAME -->`` is written to the file NAME (so a page can
show a spec file and then use it); a ```bash block followed by an ```output block has its
`unicr` commands run and their output compared.
Blocks of one page run in order in one fresh interpreter (a new user's session), in a
temporary folder that has ``docs`` linked in (examples may read ``docs/figures/*.csv``).
"""

from __future__ import annotations

import math
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
NOT_RUN = "<!-- not run:"
FILE_MARK = "<!-- file:"
#: blocks in pages owned elsewhere that cannot run here, by (page, first code line): reason.
#: Prefer marking such a block with ``<!-- not run: REASON -->`` in the page itself.
KNOWN_NOT_RUNNABLE = {
    ("smoothing.md", "import torch, unicr"): "needs a trained checkpoint cnn.pt",
}
_MARK = "@@unicr-doc-block@@"
_NUM = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan")


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    code: str
    run: bool
    output: str | None = None
    output_lines: tuple[int, int] | None = None  # [start, end) of the output body


def _unicr_lines(body: list[str]) -> list[str]:
    """`unicr ...` commands of a shell block (continuation lines joined, comments cut)."""
    out, buf = [], ""
    for raw in body:
        s = raw.strip()
        if not buf:
            s = s.removeprefix("$ ")
            if not s.startswith("unicr "):
                continue
        buf = (buf + " " if buf else "") + s.rstrip("\\").strip()
        if not s.endswith("\\"):
            out.append(buf.split(" #")[0].strip())
            buf = ""
    return out


def _as_python(cmds: list[str]) -> str:
    """A shell block of `unicr` commands as Python run by the same example session."""
    code = ["import shlex as _shlex", "from unicr.cli import main as _main"]
    for c in cmds:
        code.append(f"assert _main(_shlex.split({c!r})[1:]) == 0, {c!r}")
    return "\n".join(code)


def parse_page(path: Path) -> list[Block]:
    """The ```python blocks of a Markdown page, and the ```bash blocks followed by an
    ```output block (their `unicr` commands are run), with their ```output blocks."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        lang = lines[i].strip()
        prev = next((lines[m].strip() for m in range(i - 1, -1, -1) if lines[m].strip()), "")
        if prev.startswith(FILE_MARK) and lang.startswith("```") and lang != "```":
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            name = prev[len(FILE_MARK):].split("-->")[0].strip()
            text = "\n".join(lines[i + 1:j]) + "\n"
            blocks.append(Block(path, i + 1, f"import pathlib\npathlib.Path({name!r}).write_text({text!r})",
                                True))
            i = j + 1
            continue
        if lang in ("```python", "```bash"):
            start = i
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            body = lines[i + 1:j]
            k = j + 1
            while k < len(lines) and not lines[k].strip():
                k += 1
            has_output = k < len(lines) and lines[k].strip() == "```output"
            if lang == "```bash" and not has_output:
                i = j + 1
                continue
            code = "\n".join(body) if lang == "```python" else _as_python(_unicr_lines(body))
            prev = next((lines[m].strip() for m in range(i - 1, -1, -1) if lines[m].strip()), "")
            first = next((c for c in body if c.strip()), "")
            run = not prev.startswith(NOT_RUN) and (path.name, first.strip()) not in KNOWN_NOT_RUNNABLE
            b = Block(path, start + 1, code, run)
            if has_output:
                m = k + 1
                while m < len(lines) and lines[m].strip() != "```":
                    m += 1
                b.output = "\n".join(lines[k + 1:m])
                b.output_lines = (k + 1, m)
                j = m
            blocks.append(b)
            i = j + 1
        else:
            i += 1
    return blocks


def run_blocks(blocks: list[Block], workdir: Path) -> list[str]:
    """Run the runnable blocks in order in one interpreter; stdout of each block."""
    todo = [b for b in blocks if b.run]
    script = ["import matplotlib", "matplotlib.use('Agg')"]
    for n, b in enumerate(todo):
        script.append(f"print({_MARK!r} + '{n}', flush=True)")
        script.append(b.code)
    (workdir / "docs").exists() or (workdir / "docs").symlink_to(DOCS)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MPLBACKEND="Agg")
    env.setdefault("UNICR_CACHE_DIR", str(workdir / ".cache"))
    proc = subprocess.run([sys.executable, "-c", "\n".join(script)], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=600)
    parts = proc.stdout.split(_MARK)
    outs = {int(p.split("\n", 1)[0]): (p.split("\n", 1) + [""])[1] for p in parts[1:]}
    if proc.returncode != 0:
        last = max(outs) if outs else 0
        b = todo[last] if todo else None
        where = f"{b.page.relative_to(ROOT)}:{b.line}" if b else "?"
        raise AssertionError(f"example at {where} failed:\n{proc.stderr[-3000:]}")
    return [outs.get(n, "").rstrip("\n") for n in range(len(todo))]


def same_output(expected: str, actual: str, rel: float = 1e-4) -> bool:
    """Equal text, numbers equal within ``rel`` (so platform rounding does not matter)."""
    def split(s: str) -> tuple[list[str], list[str]]:
        words = " ".join(s.split())
        return _NUM.split(words), _NUM.findall(words)

    te, ne = split(expected)
    ta, na = split(actual)
    if te != ta or len(ne) != len(na):
        return False
    for x, y in zip(ne, na):
        fx, fy = float(x), float(y)
        if math.isnan(fx) and math.isnan(fy):
            continue
        if not (fx == fy or math.isclose(fx, fy, rel_tol=rel, abs_tol=1e-12)):
            return False
    return True


def _pages_with_code() -> list[Path]:
    return [p for p in PAGES if any(b.run for b in parse_page(p))]


@pytest.mark.parametrize("page", _pages_with_code(), ids=lambda p: str(p.relative_to(DOCS)))
def test_python_examples(page, tmp_path):
    blocks = parse_page(page)
    outs = run_blocks(blocks, tmp_path)
    for b, out in zip([b for b in blocks if b.run], outs):
        if b.output is not None:
            assert same_output(b.output, out), (
                f"{page.relative_to(ROOT)}:{b.line}: output differs (refresh with "
                f"`python tests/test_docs.py {page.relative_to(ROOT)}`)\n--- expected\n"
                f"{b.output}\n--- got\n{out}")


def test_every_output_block_follows_a_runnable_block():
    for page in PAGES:
        for b in parse_page(page):
            assert b.output is None or b.run, f"{page}:{b.line}: output of a block not run"


def _shell_commands(page: Path) -> list[tuple[int, str]]:
    """`unicr ...` commands of the shell blocks of a page, with the block's line."""
    out = []
    lines = page.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() in ("```bash", "```console", "```sh", "```shell"):
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            out += [(i + 1, c) for c in _unicr_lines(lines[i + 1:j])]
            i = j
        i += 1
    return out


def test_shell_commands_parse():
    """Every `unicr ...` command the docs show is accepted by the parser."""
    from unicr.cli import build_parser

    parser = build_parser()
    seen = 0
    for page in PAGES + [ROOT / "README.md"]:
        for line, cmd in _shell_commands(page):
            argv = shlex.split(cmd)[1:]
            try:
                parser.parse_args(argv)
            except SystemExit as exc:  # pragma: no cover - the assertion message is the point
                raise AssertionError(f"{page.relative_to(ROOT)}:{line}: `{cmd}` does not parse") from exc
            seen += 1
    assert seen >= 10


def test_cli_reference_is_up_to_date():
    from unicr.cli.docgen import render

    assert (DOCS / "cli.md").read_text() == render(), (
        "docs/cli.md is out of date: run `python -m unicr.cli.docgen > docs/cli.md`")


_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def test_relative_links_resolve():
    for page in PAGES + [ROOT / "README.md"]:
        for target in _LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            assert path.exists(), f"{page.relative_to(ROOT)}: broken link {target}"


_DOC_REF = re.compile(r"\bdocs/([\w./-]+\.md)#([\w-]+)")
_ANCHOR_ID = re.compile(r"<a id=\"([^\"]+)\"></a>")


def _anchors(page: Path) -> set[str]:
    """Explicit ``<a id="...">`` anchors and GitHub's slugs of the headings of a page."""
    text = page.read_text()
    found = set(_ANCHOR_ID.findall(text))
    for line in text.splitlines():
        if line.startswith("#"):
            title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.lstrip("#").strip())
            found.add(re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-"))
    return found


def test_doc_anchor_references_exist():
    """Every ``docs/PAGE.md#anchor`` cited in the code or the docs, and every relative
    ``[text](page.md#anchor)`` link of the docs, points to an existing anchor: the soundness
    and certificate notes the reports cite are in the repository."""
    checked = 0
    sources = [*sorted((ROOT / "unicr").rglob("*.py")), *PAGES, ROOT / "README.md",
               *sorted(DOCS.rglob("*.json"))]
    for src in sources:
        text = src.read_text(errors="replace")
        refs = [(ROOT / "docs" / page, anchor) for page, anchor in _DOC_REF.findall(text)]
        if src.suffix == ".md":
            for target in _LINK.findall(text):
                if "#" in target and not re.match(r"[a-z]+:", target) and not target.startswith("#"):
                    page, _, anchor = target.partition("#")
                    refs.append(((src.parent / page).resolve(), anchor))
        for page, anchor in refs:
            assert page.exists(), f"{src.relative_to(ROOT)}: {page} does not exist"
            assert anchor in _anchors(page), (
                f"{src.relative_to(ROOT)}: no anchor #{anchor} in {page.relative_to(ROOT)}")
            checked += 1
    assert checked >= 30


def test_notes_cover_every_cited_section():
    """The notes define every S-number and C§-section cited in the code and the docs."""
    sn = _anchors(DOCS / "soundness-notes.md")
    cn = _anchors(DOCS / "certificate-notes.md")
    assert {f"s{i}" for i in range(1, 35)} <= sn
    text = "\n".join(p.read_text(errors="replace") for p in
                     [*(ROOT / "unicr").rglob("*.py"), *PAGES, ROOT / "README.md"])
    for num in re.findall(r"SOUNDNESS-NOTES S(\d+)", text):
        assert f"s{num}" in sn, f"S{num} is cited but not in docs/soundness-notes.md"
    for major, minor in re.findall(r"(?:C§|CERTIFICATES\.md §)(\d+)(?:\.(\d+))?", text):
        key = f"c{major}" + (f"-{minor}" if minor else "")
        assert key in cn, f"C§{major}.{minor} is cited but not in docs/certificate-notes.md"


def test_gallery_embeds_every_figure_and_gives_the_command():
    from unicr.reporting.figures import FIGURES

    text = (DOCS / "gallery.md").read_text()
    assert "unicr figures --out docs/figures" in text
    pngs = sorted((DOCS / "figures").glob("*.png"))
    assert len(pngs) >= len(FIGURES)
    for png in pngs:
        assert f"figures/{png.name}" in text, f"gallery does not show {png.name}"
        assert png.with_suffix(".csv").is_file()


def test_gallery_states_the_settings_it_was_made_with():
    from unicr.reporting.figures import FIG12_NORMS, TABLE7, Settings

    s = Settings()
    text = (DOCS / "gallery.md").read_text()
    assert f"d = {s.d}" in text and f"sigma = {s.sigma:g}" in text
    assert f"{s.points} values of pA" in text and f"up to {s.pa_max:g}" in text
    assert f"{s.n_mc:,} samples per point" in text
    assert f"p from {FIG12_NORMS[0]:g} to {max(p for p in FIG12_NORMS if p < math.inf):g}" in text
    assert "pareto:a=3" in TABLE7 and "a = 3" in text


def test_gallery_is_current(tmp_path, monkeypatch):
    """Fig. 12 (seconds to make) regenerated now equals the committed one: the gallery was
    made by the command the docs give, with the engines as they are."""
    from unicr.engines import curve_cache as exact_curves
    from unicr.reporting.figures import make_figures

    monkeypatch.setenv("UNICR_CACHE_DIR", str(tmp_path / "cache"))
    exact_curves._MEM.clear()
    make_figures(tmp_path, ["fig12"])
    new = (tmp_path / "fig12.csv").read_text().splitlines()
    old = (DOCS / "figures" / "fig12.csv").read_text().splitlines()
    assert len(new) == len(old) and new[0] == old[0]
    for a, b in zip(old[1:], new[1:]):
        assert same_output(a.replace(",", " "), b.replace(",", " "), rel=1e-3), (a, b)


def update_outputs(page: Path) -> int:
    """Rewrite the ```output blocks of ``page`` with what its examples print now."""
    import tempfile

    blocks = parse_page(page)
    with tempfile.TemporaryDirectory() as tmp:
        outs = run_blocks(blocks, Path(tmp))
    lines = page.read_text().splitlines()
    changed = 0
    for b, out in reversed(list(zip([b for b in blocks if b.run], outs))):
        if b.output_lines is None:
            continue
        s, e = b.output_lines
        if "\n".join(lines[s:e]) != out:
            lines[s:e] = out.splitlines()
            changed += 1
    page.write_text("\n".join(lines) + "\n")
    return changed


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        n = update_outputs(Path(arg))
        print(f"{arg}: {n} output block(s) updated")
